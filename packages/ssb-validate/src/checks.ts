/**
 * The stateless checks of `ssb-validate` 4.1.4 (§2.6 of ssb-protocol.md), each matching the
 * reference's verdict on every input, quirks included. Pure functions.
 */
import { canonicalBase64Source, isCanonicalBase64, isFeedId } from '@scuttlekit/ssb-ref'
import {
  InvalidContentTypeError,
  InvalidShapeError,
  MessageTooLargeError,
  type ValidationError,
} from './errors.js'

/** Largest allowed `JSON.stringify(msg, null, 2).length` (UTF-16 units, §2.5). */
export const MAX_MESSAGE_LENGTH = 8192

// Not anchored after `.box`: future box versions (`.box2`) and junk after it are accepted (§2.6).
const encryptedRegex = new RegExp(`^${canonicalBase64Source}\\.box.*$`)
// The reference's signature regex: `.sig.` with an unescaped second dot, then a word.
const signatureRegex = new RegExp(`^${canonicalBase64Source}\\.sig.\\w+$`)
const curveRegex = /\.(\w+)/

/** True when content is private-box ciphertext as validation sees it (`<canonical b64>.box…`). */
export function isEncrypted(content: unknown): content is string {
  return typeof content === 'string' && content !== '' && encryptedRegex.test(content)
}

/**
 * The key order rule (§2.1): `previous`, then `author`/`sequence` in either order, `timestamp`,
 * `hash`, `content` and, when signed, `signature` as the seventh and last key.
 */
export function isValidOrder(msg: object, signed: boolean): boolean {
  const keys = Object.keys(msg)
  if (signed && keys.length !== 7) return false
  if (
    keys[0] !== 'previous' ||
    keys[3] !== 'timestamp' ||
    keys[4] !== 'hash' ||
    keys[5] !== 'content' ||
    (signed && keys[6] !== 'signature')
  ) {
    return false
  }
  return (
    (keys[1] === 'sequence' && keys[2] === 'author') ||
    (keys[1] === 'author' && keys[2] === 'sequence')
  )
}

/**
 * The signature is canonical base64 of 64 bytes followed by `.sig.<curve>`, where `<curve>` is the
 * author's suffix.
 */
export function isSignatureOfAuthorCurve(signature: unknown, author: string): boolean {
  if (typeof signature !== 'string' || !signatureRegex.test(signature)) return false
  const curve = curveRegex.exec(author)?.[1]
  if (!curve) return false
  const base64Length = signature.length - (curve.length + 5)
  return base64Length === 88 && signature.slice(88) === `.sig.${curve}`
}

/**
 * The 32-bit integer test the reference uses (`~~n === n`). An object never passes it, so it is
 * not converted: `~~` on a JSON object whose `toString` is not a function throws.
 */
export function isInt32(n: unknown): boolean {
  if (typeof n === 'object' && n !== null) return false
  // biome-ignore lint/suspicious/noExplicitAny: `~~` on any value is exactly the reference's test
  return ~~(n as any) === n
}

/**
 * `a == b`, the reference's loose comparison (`"7" == 7`), except that where JS would throw (a
 * JSON object whose `toString` is not a function) the two are unequal.
 */
export function looseEquals(a: unknown, b: unknown): boolean {
  try {
    // biome-ignore lint/suspicious/noDoubleEquals: the reference compares loosely
    return a == b
  } catch {
    return false
  }
}

function isObjectLike(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/** Content `type` rule for unencrypted content: a string of 3..52 UTF-16 units. */
export function contentError(content: unknown): ValidationError | undefined {
  if (isEncrypted(content)) return undefined
  const type = (content as { type?: unknown }).type
  if (typeof type === 'string' && type.length >= 3 && type.length <= 52) return undefined
  return new InvalidContentTypeError(type)
}

/**
 * `isInvalidShape`: object, int32 sequence, feed id author, content object or encrypted, key
 * order (unsigned rule), `hash: 'sha256'`, then the size limit on `json` (the 2-space JSON of
 * `msg` as given), then the content type. `json` is passed in so that callers that also need it
 * for hashing serialise once.
 */
export function shapeError(msg: unknown, json: string): ValidationError | undefined {
  if (
    !isObjectLike(msg) ||
    !isInt32((msg as { sequence?: unknown }).sequence) ||
    !isFeedId((msg as { author?: unknown }).author) ||
    !(
      isObjectLike((msg as { content?: unknown }).content) ||
      isEncrypted((msg as { content?: unknown }).content)
    ) ||
    !isValidOrder(msg, false) ||
    (msg as { hash?: unknown }).hash !== 'sha256'
  ) {
    return new InvalidShapeError(json)
  }
  if (json.length > MAX_MESSAGE_LENGTH) return new MessageTooLargeError(json.length)
  return contentError((msg as { content: unknown }).content)
}

/**
 * True when an HMAC key argument is unusable: a string that is not canonical base64, or anything
 * that does not decode to 32 bytes. `null`/`undefined` mean "no HMAC" and are fine.
 */
export function isInvalidHmacKey(key: unknown): boolean {
  if (key === null || key === undefined) return false
  if (typeof key === 'string') {
    return !isCanonicalBase64(key) || Buffer.from(key, 'base64').length !== 32
  }
  if (key instanceof Uint8Array) return key.length !== 32
  return true
}

/** Safe `JSON.stringify(value, null, 2)`: never throws (cycles, BigInt give a placeholder). */
export function encode(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? 'undefined'
  } catch {
    return '"[unserialisable]"'
  }
}
