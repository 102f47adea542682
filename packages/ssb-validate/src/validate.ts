/**
 * Validation of one classic message against its feed's state (§2.6 of ssb-protocol.md), with
 * the reference's checks in the reference's order, so that the first error reported is the one
 * `ssb-validate` 4.1.4 would report.
 *
 * The work is split in two so that the batch path can verify signatures in parallel:
 * {@link prepare} does everything that does not depend on the feed state (one `JSON.stringify`,
 * the id, the signing input) and {@link checkState} does the chain checks.
 */

import { type HmacKey, hmac, messageIdOfJson, verifyDetached } from '@scuttlekit/ssb-keys'
import { isFeedId, type MsgId } from '@scuttlekit/ssb-ref'
import {
  encode,
  isInvalidHmacKey,
  isSignatureOfAuthorCurve,
  isValidOrder,
  looseEquals,
  shapeError,
} from './checks.js'
import {
  DuplicateMessageError,
  ForkError,
  InvalidAuthorError,
  InvalidFirstMessageError,
  InvalidHmacKeyError,
  InvalidShapeError,
  InvalidSignatureError,
  KeyOrderError,
  MissingTimestampError,
  OldMessageError,
  SequenceGapError,
  SignatureTypeError,
  UnknownCurveError,
  type ValidationError,
} from './errors.js'
import type { FeedState, MsgValue } from './types.js'

/** Options every validation entry point takes. */
export interface ValidateOptions {
  /** the network's `caps.sign`: 32 bytes, as canonical base64 or bytes; none on the main network */
  hmacKey?: HmacKey
}

/** A message that passed: its id, the value as given, and its 2-space JSON. */
export interface Accepted {
  ok: true
  id: MsgId
  value: MsgValue
  /** `JSON.stringify(value, null, 2)`, kept because storage and hashing want it again */
  json: string
}

/** A message that failed, with the error the reference would raise. */
export interface Rejected {
  ok: false
  error: ValidationError
}

/** The verdict on one message. */
export type Verdict = Accepted | Rejected

/**
 * A message after the state-independent work. `pre` holds the errors the reference checks
 * before the chain (author, signature format) and `post` those it checks after (key order,
 * shape, size, content type); `signed`, `signature` and `publicKey` are what a signature check needs.
 */
export interface Prepared {
  msg: unknown
  pre?: ValidationError
  post?: ValidationError
  id?: MsgId
  json?: string
  signingInput?: Uint8Array
  signature?: Uint8Array
  publicKey?: Uint8Array
  /** set when the author's curve is not ed25519: reported where the signature check would be */
  curve?: UnknownCurveError
}

/** Decodes the HMAC key once, or reports that it is unusable. */
export function resolveHmacKey(key: HmacKey): Uint8Array | null | InvalidHmacKeyError {
  if (isInvalidHmacKey(key)) return new InvalidHmacKeyError()
  if (key === null || key === undefined) return null
  return typeof key === 'string' ? Buffer.from(key, 'base64') : key
}

/**
 * Everything about a message that does not depend on its feed's state. Serialises it once, and
 * only if the cheap checks pass; never throws.
 */
export function prepare(msg: unknown, hmacKey: Uint8Array | null): Prepared {
  if (typeof msg !== 'object' || msg === null) return { msg, pre: new InvalidAuthorError() }
  const m = msg as Partial<Record<keyof MsgValue, unknown>>
  if (!isFeedId(m.author)) return { msg, pre: new InvalidAuthorError() }
  if (!isSignatureOfAuthorCurve(m.signature, m.author))
    return { msg, pre: new SignatureTypeError() }
  if (!isValidOrder(msg, true)) return { msg, post: new KeyOrderError() }
  const json = encode(msg)
  const post = shapeError(msg, json)
  if (post) return { msg, post }
  const sig = m.signature as string
  // `isFeedId` also accepts `.sha256` authors; their `.sig.sha256` signatures pass the format
  // check, and only the signature step finds no such curve (npm ssb-keys throws there).
  if (!m.author.endsWith('.ed25519')) {
    return { msg, json, curve: new UnknownCurveError(m.author.slice(46)) }
  }
  // The signature is the last key and its text needs no escaping (base64, `.`, word chars), so
  // the unsigned serialisation is the signed one with its last member cut out (§2.3).
  const tail = `,\n  "signature": "${sig}"\n}`
  if (!json.endsWith(tail)) return { msg, post: new KeyOrderError() }
  const unsigned = Buffer.from(`${json.slice(0, json.length - tail.length)}\n}`, 'utf8')
  return {
    msg,
    id: messageIdOfJson(json),
    json,
    signingInput: hmacKey ? hmac(unsigned, hmacKey) : unsigned,
    // 88 base64 characters may carry 65 or 66 bytes; sodium checks the first 64 and so does the
    // network, so such a message is valid (with its own id). Keep exactly that behaviour.
    signature: Buffer.from(sig.slice(0, 88), 'base64').subarray(0, 64),
    publicKey: Buffer.from(m.author.slice(1, 45), 'base64'),
  }
}

/**
 * The chain checks of §2.6 (3a-3e) against the feed's latest accepted message, with the
 * reference's loose equality. `state` may carry extra fields (the drop-in API's queue): they show
 * up in the error text exactly as the reference prints them.
 */
export function checkState(
  state: FeedState | null | undefined,
  prepared: Prepared,
): ValidationError | undefined {
  const m = prepared.msg as Record<string, unknown>
  if (state) {
    const expected = state.sequence + 1
    // the reference compares loosely (`"7" == 7`)
    if (m.sequence !== expected && !looseEquals(m.sequence, expected)) {
      const seq = m.sequence
      if (typeof seq === 'number' && seq > expected) {
        return new SequenceGapError(expected, seq, state, m.author)
      }
      if (seq === state.sequence && prepared.id !== undefined && prepared.id === state.id) {
        return new DuplicateMessageError(expected, seq, state, m.author)
      }
      return new OldMessageError(expected, seq, state, m.author)
    }
    if (m.previous !== state.id && !looseEquals(m.previous, state.id))
      return new ForkError(m.author)
    return undefined
  }
  if (m.previous !== null) return new InvalidFirstMessageError('previous', m.author)
  if (m.sequence !== 1) return new InvalidFirstMessageError('sequence', m.author)
  if (typeof m.timestamp !== 'number') return new InvalidFirstMessageError('timestamp', m.author)
  return undefined
}

/** Verifies the signature of a prepared message that passed the stateless checks. */
export function verifyPrepared(prepared: Prepared): boolean {
  return verifyDetached(prepared.signature!, prepared.signingInput!, prepared.publicKey!)
}

/** Combines the checks of a prepared message in the reference's order; `sigOk` is lazily computed. */
export function verdictOf(
  prepared: Prepared,
  state: FeedState | null | undefined,
  hmacKey: Uint8Array | null | InvalidHmacKeyError,
  sigOk?: boolean,
): Verdict {
  if (prepared.pre) return { ok: false, error: prepared.pre }
  const chain = checkState(state, prepared)
  if (chain) return { ok: false, error: chain }
  if (prepared.post) return { ok: false, error: prepared.post }
  if (hmacKey instanceof InvalidHmacKeyError) return { ok: false, error: hmacKey }
  if (prepared.curve) return { ok: false, error: prepared.curve }
  if (!(sigOk ?? verifyPrepared(prepared))) return { ok: false, error: new InvalidSignatureError() }
  return { ok: true, id: prepared.id!, value: prepared.msg as MsgValue, json: prepared.json! }
}

/**
 * Validates `msg` as the next message of a feed whose latest accepted message is `state`
 * (`null` for a feed we have nothing of). Returns a verdict; never throws.
 *
 * ```ts
 * const v = validateMessage(null, firstMessage)
 * if (v.ok) store(v.id, v.value)
 * else if (v.error.fatal) markForked(firstMessage.author)
 * ```
 */
export function validateMessage(
  state: FeedState | null | undefined,
  msg: unknown,
  options: ValidateOptions = {},
): Verdict {
  const key = resolveHmacKey(options.hmacKey)
  return verdictOf(prepare(msg, key instanceof Uint8Array ? key : null), state, key)
}

/** The feed state after accepting `v`. */
export function nextState(v: Accepted): FeedState {
  return { id: v.id, sequence: v.value.sequence, timestamp: v.value.timestamp }
}

/**
 * Out-of-order validation (§2.6, `appendOOO`): everything but the chain. For messages fetched by
 * id, whose predecessors we may not have. Every failure but the first two is fatal, as in the
 * reference.
 */
export function validateMessageOOO(msg: unknown, options: ValidateOptions = {}): Verdict {
  const key = resolveHmacKey(options.hmacKey)
  const prepared = prepare(msg, key instanceof Uint8Array ? key : null)
  if (prepared.pre) return { ok: false, error: prepared.pre }
  const m = msg as Record<string, unknown>
  if (typeof m.timestamp !== 'number')
    return { ok: false, error: new MissingTimestampError(m.author) }
  if (prepared.post) {
    const error =
      prepared.post instanceof KeyOrderError ? prepared.post : new InvalidShapeError('', true)
    return { ok: false, error }
  }
  if (key instanceof InvalidHmacKeyError) return { ok: false, error: key }
  if (prepared.curve) return { ok: false, error: prepared.curve }
  if (!verifyPrepared(prepared)) return { ok: false, error: new InvalidSignatureError() }
  return { ok: true, id: prepared.id!, value: msg as MsgValue, json: prepared.json! }
}
