/**
 * Error classes of `@scuttlekit/private-box`. Only encryption throws (the caller's own
 * mistakes); decryption answers `undefined` for anything it cannot open (§5.3).
 */
import { ScuttlekitError } from '@scuttlekit/ssb-ref'

/**
 * More recipients than `max` were given to `multibox`. The message text is the one npm
 * `private-box` uses (`max recipients is:7 found:8`), so logs read the same (§5.2).
 */
export class TooManyRecipientsError extends ScuttlekitError {
  constructor(
    readonly max: number,
    readonly found: number,
  ) {
    super(`max recipients is:${max} found:${found}`)
  }
}

/**
 * `multibox` was given no recipients. npm `private-box` silently returns a box nobody can
 * ever open; we refuse instead.
 */
export class NoRecipientsError extends ScuttlekitError {
  constructor() {
    super('a private box needs at least one recipient')
  }
}

/**
 * A recipient key is not a 32-byte Curve25519 public key, or is a low-order point that gives no
 * shared secret (libsodium refuses it).
 */
export class InvalidRecipientKeyError extends ScuttlekitError {
  constructor(
    readonly index: number,
    reason: string,
  ) {
    super(`recipient ${index}: ${reason}`)
  }
}

/** `max` is not an integer from 1 to 255: the count byte of §5.2 holds at most 255. */
export class InvalidMaxRecipientsError extends ScuttlekitError {
  constructor(readonly max: unknown) {
    super(`max recipients must be an integer between 1 and 255, got: ${String(max)}`)
  }
}

/** The plaintext given to `multibox` is not a `Uint8Array`. */
export class InvalidPlaintextError extends ScuttlekitError {
  constructor() {
    super('the plaintext must be a Uint8Array')
  }
}
