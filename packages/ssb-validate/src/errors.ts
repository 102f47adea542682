/**
 * Validation errors, one class per condition (§2.6 of ssb-protocol.md). Messages are the
 * reference's own texts, so logs and error replies read the same as `ssb-validate` 4.1.4's.
 *
 * `fatal` is true when the feed itself must be treated as broken (fork, bad signature, bad first
 * message, bad key order, bad HMAC key); a non-fatal error only rejects the one message.
 */
import { ScuttlekitError, safeString } from '@scuttlekit/ssb-ref'

/** Base class of every validation error. */
export class ValidationError extends ScuttlekitError {
  /** true when the feed must be treated as broken, not only this message */
  readonly fatal: boolean
  constructor(message: string, fatal: boolean) {
    super(message)
    this.fatal = fatal
  }
}

/** `author` is not a feed id (this includes values that are not objects at all). */
export class InvalidAuthorError extends ValidationError {
  constructor() {
    super('invalid message: must have author', false)
  }
}

/** `signature` is not canonical `<base64 of 64 bytes>.sig.<curve of the author>`. */
export class SignatureTypeError extends ValidationError {
  constructor() {
    super('invalid message: signature type must match author type', false)
  }
}

/** Base class of the non-fatal "wrong sequence" cases. */
export class SequenceError extends ValidationError {
  constructor(
    readonly expected: number,
    readonly got: unknown,
    state: object,
    author: unknown,
  ) {
    super(
      `invalid message: expected sequence ${expected} but got:${safeString(got)}in state:${JSON.stringify(state)}, on feed:${safeString(author)}`,
      false,
    )
  }
}

/** The message is the feed's latest one, seen again. */
export class DuplicateMessageError extends SequenceError {}
/** The message is older than the feed's latest one (already had, or a conflicting old one). */
export class OldMessageError extends SequenceError {}
/** The message is ahead of the next expected sequence: something is missing in between. */
export class SequenceGapError extends SequenceError {}

/** Right sequence, wrong `previous`: the author signed two different histories. Fatal. */
export class ForkError extends ValidationError {
  constructor(author: unknown) {
    super(
      `invalid message: expected different previous message, on feed:${safeString(author)}`,
      true,
    )
  }
}

/** A feed's first message must have `previous: null`, `sequence: 1` and a number timestamp. */
export class InvalidFirstMessageError extends ValidationError {
  constructor(what: 'previous' | 'sequence' | 'timestamp', author: unknown) {
    const rule =
      what === 'previous'
        ? 'initial message must have previous: null'
        : what === 'sequence'
          ? 'initial message must have sequence: 1'
          : 'initial message must have timestamp'
    super(`${rule}, on feed:${safeString(author)}`, true)
  }
}

/** An out-of-order message (no chain) without a number timestamp. Fatal. */
export class MissingTimestampError extends ValidationError {
  constructor(author: unknown) {
    super(`message must have timestamp, on feed:${safeString(author)}`, true)
  }
}

/** Keys missing, extra, or not in the allowed order (§2.1). Fatal. */
export class KeyOrderError extends ValidationError {
  constructor() {
    super('message must have keys in allowed order', true)
  }
}

/** Shape: sequence not an int32, content neither object nor `.box`, hash not `sha256`. */
export class InvalidShapeError extends ValidationError {
  constructor(json: string, fatal = false) {
    super(fatal ? 'message has invalid shape' : `message has invalid properties:${json}`, fatal)
  }
}

/** The 2-space JSON of the message is longer than 8192 UTF-16 units (§2.5). */
export class MessageTooLargeError extends ValidationError {
  constructor(readonly size: number) {
    super(`Encoded message must not be larger than 8192 bytes. Current size is ${size}`, false)
  }
}

/** Unencrypted content whose `type` is not a string of 3 to 52 UTF-16 units. */
export class InvalidContentTypeError extends ValidationError {
  constructor(type: unknown) {
    super(`type must be a string3 <= type.length < 52, was:${safeString(type)}`, false)
  }
}

/** The network's HMAC key (`caps.sign`) is not 32 bytes of canonical base64. Fatal. */
export class InvalidHmacKeyError extends ValidationError {
  constructor() {
    super('invalid HMAC key', true)
  }
}

/** The signature does not verify for the author (under the network's HMAC key). Fatal. */
export class InvalidSignatureError extends ValidationError {
  constructor() {
    super('invalid signature', true)
  }
}

/** `create` was given content that is neither an object nor private-box ciphertext. */
export class InvalidContentError extends ValidationError {
  constructor() {
    super('invalid message content, must be object or encrypted string', false)
  }
}

/**
 * `create` was given content that JSON cannot hold: a cycle, a BigInt, a `toJSON` that throws,
 * or nesting deeper than the serialiser's stack. The reference signs whatever
 * `JSON.stringify` does before it throws; nothing is signed here.
 */
export class UnserialisableContentError extends ValidationError {
  constructor(reason: string) {
    super(`message content cannot be serialised as JSON: ${reason}`, false)
  }
}

/** `create` was called without a usable timestamp. */
export class TimestampRequiredError extends ValidationError {
  constructor() {
    super('timestamp must be provided', false)
  }
}

/** The author's key is of a curve other than ed25519 (`isFeedId` also accepts `.sha256`). */
export class UnknownCurveError extends ValidationError {
  constructor(curve: string) {
    super(`unknown curve:${curve} expected: ed25519`, false)
  }
}
