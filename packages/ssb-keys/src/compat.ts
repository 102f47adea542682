/**
 * Drop-in names and argument conventions of npm `ssb-keys` 8.5, for code moving from it. Same
 * results on the same inputs, except where noted (see README "Differences from npm ssb-keys"):
 * the secret-file loaders throw named errors instead of returning `undefined`, and
 * `loadOrCreate*` only create a file that does not exist.
 *
 * New code should use the typed API (`generateKeys`, `signObject`, `readSecretFile`, …).
 */
import { join } from 'node:path'
import type { BoxRecipient } from './box.js'
import { boxContent, unboxBodyWithKey, unboxContent, unboxKeyOf } from './box.js'
import {
  ed25519SecretToCurve25519,
  hmac,
  secretboxEasy,
  secretboxOpenEasy,
  sha256,
  signDetached,
  verifyDetached,
} from './crypto.js'
import {
  SecretFileNotFoundError,
  UnsupportedCurveError,
  UnsupportedFeedFormatError,
} from './errors.js'
import { referenceClone } from './internal/clone.js'
import { type LoadedSecret, loadSecret, loadSecretSync } from './internal/secret-io.js'
import { generateKeys, type Keys } from './keys.js'
import { writeSecretFile, writeSecretFileSync } from './secret-file.js'

/** A Node-style callback, as npm ssb-keys' async functions take. */
export type KeysCallback = (err: Error | null, keys?: Keys) => void

/** A secret file path, or `{ path }` meaning `<path>/secret` (npm ssb-keys `toFile`). */
export type SecretPath = string | { path: string }

/** What npm ssb-keys accepts where it wants keys: a key object or a bare key string. */
export type KeysLike = Partial<Keys> | string

/** An HMAC key as npm ssb-keys takes it: bytes, base64 text, or nothing. */
export type HmacKeyLike = Uint8Array | string | null | undefined

/**
 * npm ssb-keys `generate(curve, seed, feedFormat)` (§1.1): a random key, or one derived from a
 * string seed (first 32 UTF-16 units as UTF-8, zero-padded or cut to 32 bytes) or a 32-byte
 * seed. An empty string or `null` seed gives a random key, as in the reference.
 *
 * @throws `UnsupportedCurveError` for a curve other than `ed25519`
 * @throws `UnsupportedFeedFormatError` for a feed format other than `classic` (the reference
 *   returns an `ssb:` URI id for those)
 * @throws `RangeError` for a byte seed that is not 32 bytes (the reference throws too)
 */
export function generate(
  curve?: string | null,
  seed?: Uint8Array | string | null,
  feedFormat?: string | null,
): Keys {
  const name = curve || 'ed25519'
  if (name !== 'ed25519') throw new UnsupportedCurveError(name)
  if (feedFormat && feedFormat !== 'classic') throw new UnsupportedFeedFormatError(feedFormat)
  // falsy seeds ('' and null included) mean "random" in the reference
  return generateKeys(seed || undefined)
}

function toFile(filename: SecretPath): string {
  return typeof filename === 'object' && filename !== null
    ? join(filename.path, 'secret')
    : filename
}

/** The object npm ssb-keys returns: the parsed JSON (extra fields kept), key fields canonical. */
function compatKeys(loaded: LoadedSecret): Keys {
  return loaded.raw ? (Object.assign(loaded.raw, loaded.keys) as Keys) : loaded.keys
}

/** Hands a promise's outcome to a callback outside the promise chain, as fs callbacks run. */
function settle<T>(promise: Promise<T>, cb: (err: Error | null, value?: T) => void): void {
  promise.then(
    (value) => process.nextTick(cb, null, value),
    (err: unknown) => process.nextTick(cb, err instanceof Error ? err : new Error(String(err))),
  )
}

/**
 * npm ssb-keys `loadSync(filename)`: reads and validates the secret file. Throws the named
 * errors of `readSecretFile` where the reference returns `undefined` (corrupt file) or keys that
 * do not match.
 */
export function loadSync(filename: SecretPath): Keys {
  return compatKeys(loadSecretSync(toFile(filename)))
}

/** npm ssb-keys `load(filename, cb)`: {@link loadSync} with a callback. */
export function load(filename: SecretPath, cb: KeysCallback): void {
  settle(
    loadSecret(toFile(filename)).then((loaded) => compatKeys(loaded)),
    cb,
  )
}

/**
 * npm ssb-keys `createSync(filename, curve?, legacy?)`: a new random identity written to a new
 * file (never overwrites: `SecretFileExistsError`). Parent folders get mode 0700 (the reference
 * uses the umask default).
 */
export function createSync(filename: SecretPath, curve?: string | null, legacy?: unknown): Keys {
  const keys = generate(curve)
  writeSecretFileSync(toFile(filename), keys, { legacy: Boolean(legacy) })
  return keys
}

/**
 * npm ssb-keys `create(filename, [curve], [legacy], cb)`: {@link createSync} with a callback.
 */
export function create(filename: SecretPath, cb: KeysCallback): void
export function create(filename: SecretPath, curve: string | null, cb: KeysCallback): void
export function create(
  filename: SecretPath,
  curve: string | null,
  legacy: unknown,
  cb: KeysCallback,
): void
export function create(
  filename: SecretPath,
  curve: string | null | KeysCallback,
  legacy?: unknown,
  cb?: KeysCallback,
): void {
  let done = cb
  let flag = legacy
  let name = curve
  if (typeof flag === 'function') {
    done = flag as KeysCallback
    flag = null
  }
  if (typeof name === 'function') {
    done = name
    name = null
  }
  if (!done) throw new TypeError('create needs a callback')
  const run = async (): Promise<Keys> => {
    const keys = generate(name as string | null)
    await writeSecretFile(toFile(filename), keys, { legacy: Boolean(flag) })
    return keys
  }
  settle(run(), done)
}

/**
 * npm ssb-keys `loadOrCreateSync(filename)`. **Differs on purpose**: creates a new identity only
 * when the file does not exist; a corrupt, mismatched or unreadable file throws (the reference
 * silently writes a new identity, or returns `undefined` for a corrupt file).
 */
export function loadOrCreateSync(filename: SecretPath): Keys {
  try {
    return loadSync(filename)
  } catch (err) {
    if (!(err instanceof SecretFileNotFoundError)) throw err
  }
  return createSync(filename)
}

/** npm ssb-keys `loadOrCreate(filename, cb)`; same deliberate difference as {@link loadOrCreateSync}. */
export function loadOrCreate(filename: SecretPath, cb: KeysCallback): void {
  load(filename, (err, keys) => {
    if (!err) return cb(null, keys)
    if (!(err instanceof SecretFileNotFoundError)) return cb(err)
    create(filename, cb)
  })
}

/** npm ssb-keys `util.toBuffer`: bytes as they are; text loses a sigil and all from its first `.`. */
function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value)
  if (typeof value !== 'string') throw new TypeError('expected a Buffer or a string')
  const dot = value.indexOf('.')
  const start = /^[@%&]/.test(value) ? 1 : 0
  return Buffer.from(value.substring(start, dot === -1 ? value.length : dot), 'base64')
}

/** npm ssb-keys `getCurve`: `keys.curve`, else the tag of `keys.public` or of the key string. */
function curveOf(keys: KeysLike): string {
  if (keys === null || keys === undefined) throw new TypeError('keys are required')
  let curve: unknown = typeof keys === 'object' ? keys.curve : undefined
  if (!curve) {
    const text = typeof keys === 'object' ? keys.public : keys
    if (typeof text === 'string') curve = getTag(text)
  }
  if (curve !== 'ed25519') throw new UnsupportedCurveError(curve)
  return curve
}

function privateOf(keys: KeysLike): Buffer {
  return toBuffer((typeof keys === 'object' && keys.private) || keys)
}

function publicOf(keys: KeysLike): Buffer {
  return toBuffer((typeof keys === 'object' && keys.public) || keys)
}

/**
 * npm ssb-keys `sign(keys, [hmacKey], msg)`: the ed25519 signature of a string (as UTF-8) or
 * Buffer, `base64 + '.sig.ed25519'`; the HMAC of the message is signed when `hmacKey` is set.
 * As in the reference, a falsy `msg` shifts the arguments (`sign(keys, msg)`).
 */
export function sign(keys: KeysLike, hmacKey: HmacKeyLike | Buffer, msg?: string | Buffer): string {
  let message: unknown = msg
  let key: unknown = hmacKey
  if (!message) {
    message = key
    key = null
  }
  if (typeof message === 'string') message = Buffer.from(message, 'utf8')
  if (!Buffer.isBuffer(message)) throw new TypeError('msg should be buffer')
  let bytes: Buffer = message
  if (key) bytes = hmac(bytes, toBuffer(key))
  const curve = curveOf(keys)
  return `${signDetached(bytes, privateOf(keys)).toString('base64')}.sig.${curve}`
}

/**
 * npm ssb-keys `verify(keys, sig, [hmacKey], msg)`. Like the reference it throws for a
 * signature object, a signature shorter than 64 bytes or a public key that is not 32 bytes
 * (libsodium's checks), and reads only the first 64 bytes of a longer signature.
 */
export function verify(
  keys: KeysLike,
  sig: string | Buffer,
  hmacKey: HmacKeyLike | Buffer,
  msg?: string | Buffer,
): boolean {
  if (!Buffer.isBuffer(sig) && typeof sig === 'object') {
    throw new TypeError(
      'signature should be base64 string, did you mean verifyObj(public, signed_obj)',
    )
  }
  let message: unknown = msg
  let key: unknown = hmacKey
  if (!message) {
    message = key
    key = null
  }
  let bytes = Buffer.isBuffer(message) ? message : Buffer.from(message as string)
  if (key) bytes = hmac(bytes, toBuffer(key))
  curveOf(keys)
  const publicKey = publicOf(keys)
  const signature = toBuffer(sig)
  if (signature.length < 64) throw new RangeError('"sig" must be at least 64 bytes long')
  if (publicKey.length !== 32) throw new RangeError('"pk" must be 32 bytes long')
  return verifyDetached(signature.subarray(0, 64), bytes, publicKey)
}

/** `(keys, [hmacKey], obj)`: with two arguments the second is the object, as in the reference. */
function optionalHmacArgs(hmacKey: unknown, obj: unknown): [unknown, unknown] {
  return obj ? [hmacKey, obj] : [null, hmacKey]
}

/** UTF-8 of the 2-space JSON, HMAC'd when a key is given, as npm ssb-keys computes it. */
function referenceSigningBytes(value: unknown, key: unknown): Buffer {
  const bytes = Buffer.from(JSON.stringify(value, null, 2), 'utf8')
  return key ? hmac(bytes, toBuffer(key)) : bytes
}

/**
 * npm ssb-keys `signObj(keys, [hmacKey], obj)` (§2.3): a shallow copy of `obj` with `signature`
 * set. Exactly the reference: a `signature` already on `obj` is signed over and then replaced in
 * its position (the typed `signObject` leaves it out instead).
 */
export function signObj<T extends object>(
  keys: KeysLike,
  hmacKey: HmacKeyLike | T,
  obj?: T,
): T & { signature: string } {
  const [key, value] = optionalHmacArgs(hmacKey, obj)
  const copy = referenceClone(value)
  copy.signature = sign(keys, referenceSigningBytes(copy, key))
  return copy as T & { signature: string }
}

/**
 * npm ssb-keys `verifyObj(keys, [hmacKey], obj)` (§2.3). Throws where the reference throws (no
 * signature, a short signature); the typed `verifyObject` never throws.
 */
export function verifyObj(keys: KeysLike, hmacKey: HmacKeyLike | object, obj?: object): boolean {
  const [key, value] = optionalHmacArgs(hmacKey, obj)
  const copy = referenceClone(value)
  const sig = copy.signature
  delete copy.signature
  const bytes = referenceSigningBytes(copy, key)
  return verify(keys, sig as string | Buffer, bytes)
}

/**
 * npm ssb-keys `hash(data, enc)`: sha256, `base64 + '.sha256'`. A string without an encoding is
 * hashed as **latin1** (the low byte of each UTF-16 unit, §2.4); otherwise `Buffer.from(data,
 * enc)`.
 */
export function hash(data: string | Uint8Array, enc?: BufferEncoding | null): string {
  const bytes =
    typeof data === 'string'
      ? Buffer.from(data, enc ?? 'latin1')
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return `${sha256(bytes).toString('base64')}.sha256`
}

/** npm ssb-keys `getTag(id)`: the text after the first `.` (the whole string when none). */
export function getTag(id: string): string {
  return id.substring(id.indexOf('.') + 1)
}

/** npm ssb-keys `box(content, recipients)` (§5): see `boxContent`. */
export function box(content: unknown, recipients: readonly BoxRecipient[]): string {
  return boxContent(content, recipients)
}

function privateKeys(keys: KeysLike): Pick<Keys, 'private'> {
  if (typeof keys === 'string') return { private: keys }
  if (typeof keys?.private !== 'string') throw new TypeError('keys.private is required')
  return keys as Pick<Keys, 'private'>
}

/**
 * npm ssb-keys `unbox(boxed, keys)` (§5.3): the content, or `undefined`. Unlike the reference
 * it does not store `_exchangeKey` on `keys` (the Curve25519 secret is cached privately).
 */
export function unbox(boxed: string | Uint8Array, keys: KeysLike): unknown {
  return unboxContent(boxed, privateKeys(keys))
}

/** npm ssb-keys `unboxKey(boxed, keys)`: the 33-byte unbox key, or `undefined`; never throws on `boxed`. */
export function unboxKey(boxed: string | Uint8Array, keys: KeysLike): Buffer | undefined {
  return unboxKeyOf(boxed, privateKeys(keys))
}

/** npm ssb-keys `unboxBody(boxed, key)`: `null` without a key, else the content or `undefined`. */
export function unboxBody(boxed: string | Uint8Array, key: string | Uint8Array | null): unknown {
  if (!key) return null
  return unboxBodyWithKey(boxed, typeof key === 'string' ? toBuffer(key) : key)
}

/** npm ssb-keys `ssbSecretKeyToPrivateBoxSecret(keys)`: the Curve25519 secret of an ed25519 key. */
export function ssbSecretKeyToPrivateBoxSecret(keys: KeysLike): Buffer {
  return ed25519SecretToCurve25519(privateOf(keys))
}

/**
 * npm ssb-keys `secretBox(data, key)`: `crypto_secretbox_easy` of `JSON.stringify(data)` under
 * the 32-byte `key`, with the key's first 24 bytes as nonce (so never reuse a key). `undefined`
 * for falsy `data`, as in the reference.
 */
export function secretBox(data: unknown, key: Uint8Array): Buffer | undefined {
  if (!data) return undefined
  const plaintext = Buffer.from(JSON.stringify(data), 'utf8')
  return secretboxEasy(plaintext, key.subarray(0, 24), key)
}

/** npm ssb-keys `secretUnbox(boxed, key)`: the value, or `undefined` when the MAC fails. */
export function secretUnbox(boxed: Uint8Array, key: Uint8Array): unknown {
  const plaintext = secretboxOpenEasy(boxed, key.subarray(0, 24), key)
  return plaintext === undefined ? undefined : JSON.parse(plaintext.toString('utf8'))
}
