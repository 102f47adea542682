/**
 * Sigil ids and their validators, accepting exactly what npm `ssb-ref` 2.16 accepts.
 *
 * The regexes are copied in behaviour (not improved) from the running reference, see
 * `ssb-protocol.md` §1.3-1.4: the `.` before the suffix is unescaped and so matches any character,
 * and `isFeedId` also accepts a `.sha256` suffix. Being stricter than the network would make us
 * reject messages that every other peer accepts.
 */

/** A feed id: `@` + canonical base64 of a 32-byte ed25519 public key + `.ed25519`. */
export type FeedId = `@${string}.ed25519`
/** A message id: `%` + canonical base64 of a sha256 + `.sha256`. */
export type MsgId = `%${string}.sha256`
/** A blob id: `&` + canonical base64 of a sha256 of the blob bytes + `.sha256`. */
export type BlobId = `&${string}.sha256`
/** A cloaked message id (private groups): `%` + base64 + `.cloaked`. */
export type CloakedMsgId = `%${string}.cloaked`
/** Any of the three classic links. */
export type Link = FeedId | MsgId | BlobId
/** A detached signature: base64 of 64 bytes + `.sig.ed25519`. */
export type Signature = `${string}.sig.ed25519`

// 43 base64 characters whose last one has zero padding bits, then `=`.
const B32 = '[a-zA-Z0-9/+]{42}[AEIMQUYcgkosw048]='

/** `ssb-ref.feedIdRegex`, quirks included (unescaped `.`, `.sha256` accepted). */
export const feedIdRegex: RegExp = new RegExp(`^@${B32}.(?:sha256|ed25519)$`)
/** `ssb-ref.msgIdRegex`. */
export const msgIdRegex: RegExp = new RegExp(`^%${B32}.sha256$`)
/** `ssb-ref.blobIdRegex`. */
export const blobIdRegex: RegExp = new RegExp(`^&${B32}.sha256$`)
/** `ssb-ref.cloakedMsgIdRegex`. */
export const cloakedMsgIdRegex: RegExp = new RegExp(`^%${B32}.cloaked$`)

/** True for a string npm `ssb-ref.isFeedId` accepts. */
export function isFeedId(value: unknown): value is FeedId {
  return typeof value === 'string' && feedIdRegex.test(value)
}

/** True for a string npm `ssb-ref.isMsgId` accepts. */
export function isMsgId(value: unknown): value is MsgId {
  return typeof value === 'string' && msgIdRegex.test(value)
}

/** True for a string npm `ssb-ref.isBlobId` accepts. */
export function isBlobId(value: unknown): value is BlobId {
  return typeof value === 'string' && blobIdRegex.test(value)
}

/** True for a string npm `ssb-ref.isCloakedMsgId` accepts. */
export function isCloakedMsgId(value: unknown): value is CloakedMsgId {
  return typeof value === 'string' && cloakedMsgIdRegex.test(value)
}

const B64_CHAR = '[a-zA-Z0-9/+]'
/**
 * The body of npm `is-canonical-base64`'s regex: whole quads, then optionally a final quad with
 * one or two `=` whose padding bits are zero.
 */
export const canonicalBase64Source: string = `(?:${B64_CHAR}{4})*(?:${B64_CHAR}(?:(?:[AQgw]==)|(?:${B64_CHAR}[AEIMQUYcgkosw048]=)))?`
const canonicalBase64Regex = new RegExp(`^${canonicalBase64Source}$`)

/**
 * The pattern of canonical base64 for exactly `byteLength` bytes, as npm
 * `is-canonical-base64(prefix, suffix, length)` builds it: `4n/3` characters rounded down, then
 * the padded tail whose last character has zero padding bits.
 */
function canonicalBase64OfLength(byteLength: number): string {
  const chars = Math.floor((byteLength * 8) / 6)
  const tail = byteLength % 3 === 1 ? '[AQgw]==' : byteLength % 3 === 2 ? '[AEIMQUYcgkosw048]=' : ''
  return `${B64_CHAR}{${chars}}${tail}`
}

/**
 * True when `value` is canonical RFC 4648 base64 (with padding), as npm `is-canonical-base64`
 * decides it: correct alphabet and length, and zero padding bits, so that exactly one string
 * encodes any byte sequence. The empty string is canonical. With `byteLength`, the string must
 * also encode exactly that many bytes (npm `isCanonicalBase64('', '', byteLength)`).
 */
export function isCanonicalBase64(value: unknown, byteLength?: number): value is string {
  if (typeof value !== 'string') return false
  if (byteLength === undefined) return canonicalBase64Regex.test(value)
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) {
    throw new RangeError('byteLength must be a non-negative integer')
  }
  return new RegExp(`^${canonicalBase64OfLength(byteLength)}$`).test(value)
}

const SUFFIX = '\\.[a-zA-Z\\d-]+'
/** `ssb-ref.feedTypeIdRegex`: `@`, canonical base64 of any length, `.` and a suffix. */
export const feedTypeIdRegex: RegExp = new RegExp(`^@${canonicalBase64Source}${SUFFIX}$`)
/** `ssb-ref.msgTypeIdRegex`: `%`, canonical base64 of any length, `.` and a suffix. */
export const msgTypeIdRegex: RegExp = new RegExp(`^%${canonicalBase64Source}${SUFFIX}$`)
/** `ssb-ref.blobTypeIdRegex`: `&`, canonical base64 of any length, `.` and a suffix. */
export const blobTypeIdRegex: RegExp = new RegExp(`^&${canonicalBase64Source}${SUFFIX}$`)

/**
 * True for a string npm `ssb-ref.isFeedType` accepts: a feed id of any (future) format, e.g.
 * `@<base64>.bamboo-2`. Here the `.` is escaped and the suffix is `[a-zA-Z0-9-]+`.
 */
export function isFeedTypeId(value: unknown): value is string {
  return typeof value === 'string' && feedTypeIdRegex.test(value)
}

/** True for a string npm `ssb-ref.isMsgType` accepts: a message id of any (future) format. */
export function isMsgTypeId(value: unknown): value is string {
  return typeof value === 'string' && msgTypeIdRegex.test(value)
}

/** True for a string npm `ssb-ref.isBlobType` accepts: a blob id of any (future) format. */
export function isBlobTypeId(value: unknown): value is string {
  return typeof value === 'string' && blobTypeIdRegex.test(value)
}

/** Alias of {@link isFeedId}, as npm ssb-ref exports it (`isFeed`). */
export const isFeed: (value: unknown) => value is FeedId = isFeedId
/** Alias of {@link isMsgId}, as npm ssb-ref exports it (`isMsg`). */
export const isMsg: (value: unknown) => value is MsgId = isMsgId
/** Alias of {@link isBlobId}, as npm ssb-ref exports it (`isBlob`). */
export const isBlob: (value: unknown) => value is BlobId = isBlobId
/** Alias of {@link isCloakedMsgId}, as npm ssb-ref exports it (`isCloakedMsg`). */
export const isCloakedMsg: (value: unknown) => value is CloakedMsgId = isCloakedMsgId
/** Alias of {@link isFeedTypeId}, as npm ssb-ref exports it (`isFeedType`). */
export const isFeedType: (value: unknown) => value is string = isFeedTypeId
/** Alias of {@link isMsgTypeId}, as npm ssb-ref exports it (`isMsgType`). */
export const isMsgType: (value: unknown) => value is string = isMsgTypeId
/** Alias of {@link isBlobTypeId}, as npm ssb-ref exports it (`isBlobType`). */
export const isBlobType: (value: unknown) => value is string = isBlobTypeId

/** The 32 key bytes of a feed id, or `undefined` when the id is not one. */
export function feedIdToBytes(id: string): Uint8Array | undefined {
  if (!isFeedId(id)) return undefined
  return Buffer.from(id.slice(1, 45), 'base64')
}

/** The feed id of a 32-byte ed25519 public key. */
export function feedIdFromBytes(publicKey: Uint8Array): FeedId {
  if (publicKey.length !== 32) throw new RangeError('an ed25519 public key has 32 bytes')
  return `@${Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('base64')}.ed25519`
}

/** The 32 hash bytes of a message or blob id, or `undefined` when it is neither. */
export function linkToBytes(id: string): Uint8Array | undefined {
  if (!isMsgId(id) && !isBlobId(id) && !isFeedId(id)) return undefined
  return Buffer.from(id.slice(1, 45), 'base64')
}
