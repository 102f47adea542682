/**
 * Key objects in the form the network and npm `ssb-keys` use (§1.1 of ssb-protocol.md).
 */
import { type FeedId, feedIdFromBytes } from '@scuttlekit/ssb-ref'
import { randomBytes, seedKeypair } from './crypto.js'

/** An identity as npm `ssb-keys` represents it and as the `secret` file stores it. */
export interface Keys {
  curve: 'ed25519'
  /** base64 of the 32-byte public key + `.ed25519` */
  public: string
  /** base64 of the 64-byte libsodium secret key (`seed ‖ public`) + `.ed25519` */
  private: string
  /** `@` + public */
  id: FeedId
}

/**
 * Turns a seed argument into the 32 bytes `crypto_sign_seed_keypair` takes, as npm `ssb-keys`
 * does (§1.1): a string is cut to its first 32 UTF-16 units, encoded as UTF-8 and copied into a
 * zeroed 32-byte buffer (truncated if longer); bytes must be exactly 32 long (npm ssb-keys hands
 * them to libsodium, which throws on any other length).
 *
 * An empty string is refused: npm `ssb-keys.generate` treats it as "no seed" and returns a
 * random key, which a caller asking for a deterministic key would not expect.
 */
export function normalizeSeed(seed: Uint8Array | string): Buffer {
  if (typeof seed === 'string') {
    if (seed === '') throw new RangeError('a string seed must not be empty')
    const out = Buffer.alloc(32)
    out.set(Buffer.from(seed.slice(0, 32), 'utf8').subarray(0, 32))
    return out
  }
  if (seed.length !== 32) throw new RangeError('a byte seed has exactly 32 bytes')
  return Buffer.from(seed)
}

/** Builds the key object of a 64-byte libsodium secret key. */
export function keysFromSecretKey(secretKey: Uint8Array): Keys {
  if (secretKey.length !== 64) throw new RangeError('an ed25519 secret key has 64 bytes')
  const sk = Buffer.from(secretKey.buffer, secretKey.byteOffset, 64)
  const id = feedIdFromBytes(sk.subarray(32))
  return {
    curve: 'ed25519',
    public: id.slice(1),
    private: `${sk.toString('base64')}.ed25519`,
    id,
  }
}

/**
 * A new identity (§1.1): random, or derived from `seed` (32 bytes or a non-empty string, see
 * {@link normalizeSeed}).
 */
export function generateKeys(seed?: Uint8Array | string): Keys {
  const { secretKey } = seedKeypair(seed === undefined ? randomBytes(32) : normalizeSeed(seed))
  return keysFromSecretKey(secretKey)
}

/** Decodes `"<base64>.ed25519"` (or bare base64) into bytes. */
export function decodeKeyString(value: string): Buffer {
  const dot = value.indexOf('.')
  return Buffer.from(dot === -1 ? value : value.slice(0, dot), 'base64')
}

const secretKeyCache = new WeakMap<object, { text: string; bytes: Buffer }>()

/**
 * The 64-byte secret key of a key object, decoded once per object and `private` string (the
 * cache is keyed on both, so changing `keys.private` is seen).
 */
export function secretKeyOf(keys: Pick<Keys, 'private'>): Buffer {
  const cached = secretKeyCache.get(keys)
  if (cached && cached.text === keys.private) return cached.bytes
  const bytes = decodeKeyString(keys.private)
  if (bytes.length !== 64) throw new RangeError('the private key does not decode to 64 bytes')
  secretKeyCache.set(keys, { text: keys.private, bytes })
  return bytes
}

/**
 * The 32-byte public key of a feed id, key object or `"<base64>.ed25519"` string. A leading
 * sigil (`@`, `%` or `&`) is dropped, as npm `ssb-keys` does.
 */
export function publicKeyOf(keys: Pick<Keys, 'public'> | string): Buffer {
  const text = typeof keys === 'string' ? keys : keys.public
  return decodeKeyString(/^[@%&]/.test(text) ? text.slice(1) : text)
}
