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
 * does: bytes are copied into a zeroed 32-byte buffer (truncated if longer); a string is first
 * cut to 32 UTF-16 units and encoded as UTF-8.
 */
export function normalizeSeed(seed: Uint8Array | string): Buffer {
  const out = Buffer.alloc(32)
  const bytes = typeof seed === 'string' ? Buffer.from(seed.slice(0, 32), 'utf8') : seed
  out.set(bytes.subarray(0, 32))
  return out
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
 * A new identity: random, or derived from `seed` (bytes or string, see {@link normalizeSeed}).
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

const secretKeyCache = new WeakMap<object, Buffer>()

/** The 64-byte secret key of a key object (decoded once per object). */
export function secretKeyOf(keys: Pick<Keys, 'private'>): Buffer {
  let sk = secretKeyCache.get(keys)
  if (!sk) {
    sk = decodeKeyString(keys.private)
    if (sk.length !== 64) throw new RangeError('the private key does not decode to 64 bytes')
    secretKeyCache.set(keys, sk)
  }
  return sk
}

/** The 32-byte public key of a feed id, key object or `"<base64>.ed25519"` string. */
export function publicKeyOf(keys: Pick<Keys, 'public'> | string): Buffer {
  const text = typeof keys === 'string' ? keys : keys.public
  return decodeKeyString(text.startsWith('@') ? text.slice(1) : text)
}
