/**
 * Error classes shared by every Scuttlekit package.
 *
 * One class per condition, told apart by `.name`: muxrpc carries only `name`, `message` and
 * `stack` over the wire, so a `code` property would be lost between peers.
 */

/** Base class of every Scuttlekit error. `name` is always the concrete class name. */
export class ScuttlekitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A string that should be a feed id (`@<base64>.ed25519`) is not one. */
export class InvalidFeedIdError extends ScuttlekitError {
  constructor(readonly value: unknown) {
    super(`invalid feed id: ${describe(value)}`)
  }
}

/** A string that should be a message id (`%<base64>.sha256`) is not one. */
export class InvalidMessageIdError extends ScuttlekitError {
  constructor(readonly value: unknown) {
    super(`invalid message id: ${describe(value)}`)
  }
}

/** A string that should be a blob id (`&<base64>.sha256`) is not one. */
export class InvalidBlobIdError extends ScuttlekitError {
  constructor(readonly value: unknown) {
    super(`invalid blob id: ${describe(value)}`)
  }
}

/** A multiserver or legacy address could not be parsed or stringified. */
export class InvalidAddressError extends ScuttlekitError {
  constructor(
    readonly value: unknown,
    reason?: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid address${reason ? ` (${reason})` : ''}: ${describe(value)}`, options)
  }
}

/** An invite code could not be parsed. */
export class InvalidInviteError extends ScuttlekitError {
  constructor(
    readonly value: unknown,
    reason?: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid invite code${reason ? ` (${reason})` : ''}: ${describe(value)}`, options)
  }
}

/**
 * `String(value)` for a value that came off the network: a JSON object whose `toString` is not a
 * function (`{"toString": 1}`), or an array holding one, makes `String` throw; this gives
 * `[object Object]` instead. Use it wherever a remote value goes into an error message.
 */
export function safeString(value: unknown): string {
  try {
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** `Number(value)` for a value that came off the network: NaN where `Number` would throw. */
export function safeNumber(value: unknown): number {
  try {
    return Number(value)
  } catch {
    return Number.NaN
  }
}

/** Short, safe rendering of an offending value for error messages. */
export function describe(value: unknown): string {
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value))
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}
