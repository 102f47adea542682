/**
 * Signing, verification and ids of JSON objects (§2.2-2.4 of ssb-protocol.md).
 *
 * The signing input is the UTF-8 of `JSON.stringify(value, null, 2)` without `signature`,
 * optionally replaced by its HMAC under `caps.sign`. The message id hashes the **latin1** bytes
 * (low byte of each UTF-16 unit) of the same serialisation *with* the signature.
 */
import { hash } from 'node:crypto'
import type { MsgId, Signature } from '@scuttlekit/ssb-ref'
import { hmac, signDetached, verifyDetached } from './crypto.js'
import { referenceClone } from './internal/clone.js'
import { type Keys, publicKeyOf, secretKeyOf } from './keys.js'

/** An HMAC key as callers pass it: base64 string, bytes, or nothing for the main network. */
export type HmacKey = string | Uint8Array | null | undefined

/** Decodes an HMAC key argument to bytes, or `null` when none is set. */
export function hmacKeyBytes(key: HmacKey): Uint8Array | null {
  if (key === null || key === undefined || key === '') return null
  return typeof key === 'string' ? Buffer.from(key, 'base64') : key
}

/** The bytes that get signed for the 2-space JSON `json`, HMAC applied when `hmacKey` is set. */
export function signingInput(json: string, hmacKey?: HmacKey): Uint8Array {
  const bytes = Buffer.from(json, 'utf8')
  const key = hmacKeyBytes(hmacKey)
  return key ? hmac(bytes, key) : bytes
}

/** `base64(sig) + '.sig.ed25519'` over a 2-space JSON text. */
export function signJson(keys: Pick<Keys, 'private'>, json: string, hmacKey?: HmacKey): Signature {
  const sig = signDetached(signingInput(json, hmacKey), secretKeyOf(keys))
  return `${sig.toString('base64')}.sig.ed25519`
}

/**
 * Returns a shallow copy of `obj` with `signature` appended as the last key (§2.3). Own
 * enumerable keys are copied in order, as npm `ssb-keys.signObj` does; unlike it, a
 * `signature` already present is left out of the signed bytes rather than signed over.
 */
export function signObject<T extends object>(
  keys: Pick<Keys, 'private'>,
  obj: T,
  hmacKey?: HmacKey,
): T & { signature: Signature } {
  const copy = referenceClone(obj)
  delete copy.signature
  copy.signature = signJson(keys, JSON.stringify(copy, null, 2), hmacKey)
  return copy as T & { signature: Signature }
}

/** Decodes `<base64>.sig.ed25519` to the 64 signature bytes, or `undefined`. */
export function decodeSignature(signature: unknown): Buffer | undefined {
  if (typeof signature !== 'string') return undefined
  const dot = signature.indexOf('.')
  const sig = Buffer.from(dot === -1 ? signature : signature.slice(0, dot), 'base64')
  return sig.length === 64 ? sig : undefined
}

/**
 * The signature bytes npm `ssb-keys.verify` checks: a leading sigil is dropped, the text up to
 * the first `.` is base64-decoded, and libsodium reads the first 64 bytes (longer input is
 * accepted, shorter throws there and is `undefined` here).
 */
function referenceSignatureBytes(signature: unknown): Buffer | undefined {
  if (typeof signature !== 'string') return undefined
  const text = /^[@%&]/.test(signature) ? signature.slice(1) : signature
  const dot = text.indexOf('.')
  const sig = Buffer.from(dot === -1 ? text : text.slice(0, dot), 'base64')
  return sig.length >= 64 ? sig.subarray(0, 64) : undefined
}

/**
 * Verifies the `signature` of `obj` against `author` (feed id, key object or public key string),
 * §2.3. Accepts exactly what npm `ssb-keys.verifyObj` accepts, but never throws: junk gives
 * `false`. (Signature shape rules such as "88 canonical base64 characters" belong to
 * ssb-validate, not here.)
 */
export function verifyObject(
  author: Pick<Keys, 'public'> | string,
  obj: unknown,
  hmacKey?: HmacKey,
): boolean {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return false
  const copy = referenceClone(obj)
  const sig = referenceSignatureBytes(copy.signature)
  delete copy.signature
  if (!sig) return false
  let pk: Buffer
  let input: Uint8Array
  try {
    pk = publicKeyOf(author)
    input = signingInput(JSON.stringify(copy, null, 2), hmacKey)
  } catch {
    return false
  }
  return verifyDetached(sig, input, pk)
}

/** sha256 over the latin1 bytes of a JS string, base64, as npm `ssb-keys.hash` does for strings. */
export function hashLatin1(text: string): string {
  // the one-shot hash (node 20.12+) costs about a third less than a Hash object
  return `${hash('sha256', Buffer.from(text, 'latin1'), 'base64')}.sha256`
}

/** The message id of the 2-space JSON text of a signed message. */
export function messageIdOfJson(json: string): MsgId {
  return `%${hashLatin1(json)}` as MsgId
}

/** The message id of a signed message value (§2.4): sha256 of latin1 of its 2-space JSON. */
export function messageId(msg: object): MsgId {
  return messageIdOfJson(JSON.stringify(msg, null, 2))
}
