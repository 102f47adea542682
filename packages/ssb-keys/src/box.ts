/**
 * Private message content (§5 of ssb-protocol.md): JSON content boxed to feed ids with
 * private-box, as npm `ssb-keys` `box` / `unbox` / `unboxKey` / `unboxBody` do.
 *
 * Boxed strings arrive from any peer, so every unbox function answers `undefined` ("not for
 * me") for anything it cannot open and never throws on the boxed value. npm ssb-keys throws from
 * `unboxKey` and `unboxBody` on `.box`, `QQ==.box`, a low-order one-time key or a count byte that
 * points past the end (bad-inputs.md §2, §8, §9).
 */
import { multibox, multiboxOpenBody, multiboxOpenKey } from '@scuttlekit/private-box'
import { feedIdToBytes, InvalidFeedIdError } from '@scuttlekit/ssb-ref'
import { ed25519PublicToCurve25519, ed25519SecretToCurve25519 } from './crypto.js'
import { type Keys, secretKeyOf } from './keys.js'

/** A recipient of {@link boxContent}: a feed id (`@…=.ed25519`, sigil optional) or key object. */
export type BoxRecipient = string | Pick<Keys, 'public'>

/**
 * Encrypts `content` to `recipients` for use as a message's `content` (§5.1): the plaintext is
 * the UTF-8 of compact `JSON.stringify(content)` (a `recps` field stays inside), each recipient's
 * ed25519 key is converted to Curve25519, and the result is `base64(box) + '.box'`. Include your
 * own id to be able to read the message later. At most 7 recipients, as ssb-keys allows.
 *
 * Stricter than npm ssb-keys, which boxes to anything that base64-decodes to a usable key (a
 * message id, for example): each recipient must be an ed25519 feed key.
 *
 * @throws `InvalidFeedIdError` (from `@scuttlekit/ssb-ref`) for a recipient that is not an
 *   ed25519 feed id or key object, or whose key is not a valid point
 * @throws `TooManyRecipientsError` / `NoRecipientsError` (from `@scuttlekit/private-box`) for
 *   more than 7 or no recipients
 * @throws `TypeError` when `recipients` is not an array or `content` has no JSON form
 *   (`undefined`, a function, a `BigInt`, a cycle)
 */
export function boxContent(content: unknown, recipients: readonly BoxRecipient[]): string {
  if (!Array.isArray(recipients)) throw new TypeError('recipients must be an array')
  const json = JSON.stringify(content)
  if (json === undefined) throw new TypeError('content has no JSON form')
  const curveKeys = recipients.map(recipientCurveKey)
  return `${multibox(Buffer.from(json, 'utf8'), curveKeys).toString('base64')}.box`
}

/**
 * Decrypts boxed content addressed to `keys` and parses its JSON. `boxed` is the `content`
 * string, with or without its `.box` suffix (everything from the first `.` on is ignored, as npm
 * ssb-keys does), or the raw box bytes. The Curve25519 secret is derived once per key object.
 *
 * @returns the content, or `undefined` when the box is not for `keys`, is malformed, or does not
 *   hold JSON. Never throws on `boxed`; a key object without a 64-byte private key throws.
 */
export function unboxContent(boxed: string | Uint8Array, keys: Pick<Keys, 'private'>): unknown {
  const bytes = boxBytes(boxed)
  if (bytes === undefined) return undefined
  const unboxKey = multiboxOpenKey(bytes, curveSecretOf(keys))
  return unboxKey === undefined ? undefined : parseJson(multiboxOpenBody(bytes, unboxKey))
}

/**
 * The 33-byte unbox key (`countByte ‖ bodyKey`) of boxed content addressed to `keys`. ssb-db
 * stores it base64-encoded as `meta.unbox`; {@link unboxBodyWithKey} opens the body with it and
 * no secret key (§5.3).
 *
 * @returns the key, or `undefined` when the box is not for `keys` or is malformed (never throws
 *   on `boxed`)
 */
export function unboxKeyOf(
  boxed: string | Uint8Array,
  keys: Pick<Keys, 'private'>,
): Buffer | undefined {
  const bytes = boxBytes(boxed)
  return bytes === undefined ? undefined : multiboxOpenKey(bytes, curveSecretOf(keys))
}

/**
 * Opens boxed content with an unbox key from {@link unboxKeyOf}, `meta.unbox` or a `?unbox=`
 * link: bytes, or base64 text (anything from the first `.` on is ignored).
 *
 * @returns the content, or `undefined` when the key does not open it, either argument is
 *   malformed, or the plaintext is not JSON. Never throws.
 */
export function unboxBodyWithKey(
  boxed: string | Uint8Array,
  unboxKey: string | Uint8Array,
): unknown {
  const bytes = boxBytes(boxed)
  const key = boxBytes(unboxKey)
  if (bytes === undefined || key === undefined) return undefined
  return parseJson(multiboxOpenBody(bytes, key))
}

/** Base64 text up to its first `.`, decoded as npm ssb-keys (Node's lenient decoder) does. */
function boxBytes(value: string | Uint8Array): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value
  if (typeof value !== 'string') return undefined
  const dot = value.indexOf('.')
  return Buffer.from(dot === -1 ? value : value.slice(0, dot), 'base64')
}

function parseJson(plaintext: Buffer | undefined): unknown {
  if (plaintext === undefined) return undefined
  try {
    return JSON.parse(plaintext.toString('utf8'))
  } catch {
    return undefined
  }
}

function recipientCurveKey(recipient: BoxRecipient): Buffer {
  const text =
    typeof recipient === 'string'
      ? recipient
      : typeof recipient === 'object' && recipient !== null
        ? recipient.public
        : undefined
  if (typeof text !== 'string') throw new InvalidFeedIdError(recipient)
  const id = text.startsWith('@') ? text : `@${text}`
  const publicKey = id.endsWith('.ed25519') ? feedIdToBytes(id) : undefined
  const curve = publicKey && ed25519PublicToCurve25519(publicKey)
  if (!curve) throw new InvalidFeedIdError(recipient)
  return curve
}

const curveSecretCache = new WeakMap<object, { text: string; curve: Buffer }>()

/** The Curve25519 secret of a key object, derived once per object and `private` string. */
function curveSecretOf(keys: Pick<Keys, 'private'>): Buffer {
  const cached = curveSecretCache.get(keys)
  if (cached && cached.text === keys.private) return cached.curve
  const curve = ed25519SecretToCurve25519(secretKeyOf(keys))
  curveSecretCache.set(keys, { text: keys.private, curve })
  return curve
}
