/**
 * Error classes of the muxrpc layer: framing faults, request faults and connection ends
 * (`ssb-protocol.md` §4). One class per condition; muxrpc carries only `name` and `message`
 * between peers, so callers tell them apart by `err.name`.
 */

import { describe, ScuttlekitError } from '@scuttlekit/ssb-ref'

/**
 * A frame header declared a body longer than `maxFrameBytes`. The connection is closed at once,
 * before any of the body is buffered (`bad-inputs.md` §6).
 */
export class FrameTooLargeError extends ScuttlekitError {
  constructor(
    readonly length: number,
    readonly max: number,
  ) {
    super(`frame body of ${length} bytes exceeds the limit of ${max} bytes`)
  }
}

/**
 * A frame header had body type 3, which packet-stream-codec rejects with the same message
 * (`ssb-protocol.md` §4.1). Closes the connection.
 */
export class UnknownFrameTypeError extends ScuttlekitError {
  constructor(readonly flags: number) {
    super('unknown message type')
  }
}

/**
 * A string or JSON frame body was not valid UTF-8, or a JSON body did not parse. JS peers never
 * send either, so the connection is closed (`bad-inputs.md` §6).
 */
export class InvalidFrameBodyError extends ScuttlekitError {}

/**
 * The connection ended (goodbye, socket end or error, protocol fault, idle timeout or a local
 * `close()`) while this call was pending, or a call was started after it closed. The message
 * matches JS muxrpc: `unexpected end of parent stream`, or `parent stream is closing` for a call
 * started too late (`ssb-protocol.md` §4.6). `cause` holds the underlying reason, if any.
 */
export class ConnectionClosedError extends ScuttlekitError {
  constructor(message = 'unexpected end of parent stream', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * An error reply from the remote peer. `.name` is the remote's error name (e.g.
 * `MessageNotFoundError`, or `Error` from a JS peer), so code can test `err.name` whichever side
 * raised it; `instanceof RemoteError` tells it came over the wire.
 */
export class RemoteError extends ScuttlekitError {
  constructor(name: string, message: string) {
    super(message)
    this.name = name
  }
}

/**
 * A request body was malformed: not an object, `args` not an array, or `name` not a non-empty
 * array of plain strings (`ssb-protocol.md` §4.5). Sent back as an error reply for that request.
 */
export class InvalidRequestError extends ScuttlekitError {}

/** A stream request asked for a `type` other than source, sink or duplex (§4.5). */
export class UnsupportedStreamTypeError extends ScuttlekitError {
  constructor(readonly type: unknown) {
    super(`unsupported stream type: ${typeof type === 'string' ? type : describe(type)}`)
  }
}

/** The peer started a request with a number that is still in use by one of its open requests. */
export class DuplicateRequestError extends ScuttlekitError {
  constructor(readonly req: number) {
    super(`request number ${req} is already in use`)
  }
}

/** The peer has `maxOpenRequests` requests and streams open on us already; this one is refused. */
export class TooManyRequestsError extends ScuttlekitError {
  constructor(readonly max: number) {
    super(`too many open requests (limit ${max})`)
  }
}

/**
 * No local handler serves this call. The message has the shape JS muxrpc uses for a method that is
 * not in its manifest: `no async:whoami`, `no source:blobs,get` (§4.5).
 */
export class MethodNotFoundError extends ScuttlekitError {
  constructor(type: string, name: readonly string[]) {
    super(`no ${type}:${name.join(',')}`)
  }
}

/** A stream handler returned something that is neither an AsyncIterable nor an Iterable. */
export class InvalidHandlerResultError extends ScuttlekitError {}

/**
 * The remote peer ended a stream we were still serving (it stopped reading early). This is the
 * reason of the handler's AbortSignal in that case.
 */
export class StreamAbortedError extends ScuttlekitError {
  constructor() {
    super('the remote peer ended the stream')
  }
}

/** Nothing was sent or received for `idleTimeoutMs`; the connection was closed. */
export class IdleTimeoutError extends ScuttlekitError {
  constructor(readonly timeoutMs: number) {
    super(`no traffic for ${timeoutMs} ms`)
  }
}
