/**
 * Thin, typed wrappers over the sodium-native primitives SSB uses. Every function takes and
 * returns `Uint8Array`/`Buffer` and allocates exactly its output.
 */
import { createHash } from 'node:crypto'
import sodium from 'sodium-native'

/** Bytes of an ed25519 detached signature. */
export const SIGNATURE_BYTES = 64
/** Bytes of an ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32
/** Bytes of a libsodium ed25519 secret key (`seed ‖ public`). */
export const SECRET_KEY_BYTES = 64

/** `crypto_sign_detached`: the 64-byte ed25519 signature of `message` under `secretKey`. */
export function signDetached(message: Uint8Array, secretKey: Uint8Array): Buffer {
  const sig = Buffer.allocUnsafe(SIGNATURE_BYTES)
  sodium.crypto_sign_detached(sig, message, secretKey)
  return sig
}

/**
 * `crypto_sign_verify_detached`. Returns `false` (never throws) for a signature or key of the
 * wrong length.
 */
export function verifyDetached(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false
  return sodium.crypto_sign_verify_detached(signature, message, publicKey)
}

/** `crypto_auth` (HMAC-SHA-512-256), the `caps.sign` transform of §2.3. `key` must be 32 bytes. */
export function hmac(message: Uint8Array, key: Uint8Array): Buffer {
  if (key.length !== sodium.crypto_auth_KEYBYTES) throw new RangeError('an HMAC key has 32 bytes')
  const out = Buffer.allocUnsafe(sodium.crypto_auth_BYTES)
  sodium.crypto_auth(out, message, key)
  return out
}

/**
 * sha256 of `data`. node:crypto (OpenSSL, with SHA extensions where the CPU has them) is about
 * 2.5x faster than libsodium's portable sha256 on message-sized inputs (docs/decisions/0002).
 */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest()
}

/** The ed25519 key pair for a 32-byte seed (`crypto_sign_seed_keypair`). */
export function seedKeypair(seed: Uint8Array): { publicKey: Buffer; secretKey: Buffer } {
  if (seed.length !== 32) throw new RangeError('an ed25519 seed has 32 bytes')
  const publicKey = Buffer.allocUnsafe(PUBLIC_KEY_BYTES)
  const secretKey = Buffer.allocUnsafe(SECRET_KEY_BYTES)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { publicKey, secretKey }
}

/** `count` cryptographically random bytes. */
export function randomBytes(count: number): Buffer {
  const out = Buffer.allocUnsafe(count)
  sodium.randombytes_buf(out)
  return out
}

/** Converts an ed25519 public key to the curve25519 key used by private-box and SHS. */
export function ed25519PublicToCurve25519(publicKey: Uint8Array): Buffer | undefined {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return undefined
  const out = Buffer.allocUnsafe(32)
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(out, publicKey)
  } catch {
    // libsodium refuses points that are not on the curve or of small order
    return undefined
  }
  return out
}

/** Converts a 64-byte ed25519 secret key to its curve25519 secret scalar. */
export function ed25519SecretToCurve25519(secretKey: Uint8Array): Buffer {
  if (secretKey.length !== SECRET_KEY_BYTES)
    throw new RangeError('an ed25519 secret key has 64 bytes')
  const out = Buffer.allocUnsafe(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(out, secretKey)
  return out
}

/** `crypto_secretbox_easy`: XSalsa20-Poly1305 of `message`, MAC first. `key` has 32 bytes. */
export function secretboxEasy(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(message.length + sodium.crypto_secretbox_MACBYTES)
  sodium.crypto_secretbox_easy(out, message, nonce, key)
  return out
}

/** `crypto_secretbox_open_easy`: the plaintext, or `undefined` when the MAC does not verify. */
export function secretboxOpenEasy(
  cipher: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): Buffer | undefined {
  if (cipher.length < sodium.crypto_secretbox_MACBYTES) return undefined
  const out = Buffer.allocUnsafe(cipher.length - sodium.crypto_secretbox_MACBYTES)
  return sodium.crypto_secretbox_open_easy(out, cipher, nonce, key) ? out : undefined
}
