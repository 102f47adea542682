/**
 * Decryption of a private box (§5.3 of ssb-protocol.md).
 *
 * Everything here answers `undefined` ("not for me") for input it cannot open, whatever its
 * shape: empty or truncated boxes, a count byte that points past the end, a low-order one-time
 * key, arguments that are not bytes. Boxed content arrives from any peer (bad-inputs.md §8, §9),
 * and npm `private-box` throws on several of these. Only an invalid `max`, which comes from the
 * caller's code and not from the box, throws.
 */
import sodium from 'sodium-native'
import {
  CURVE_KEY_BYTES,
  checkMax,
  DEFAULT_MAX_RECIPIENTS,
  HEADER_START,
  MAC_BYTES,
  NONCE_BYTES,
  SLOT_BYTES,
  UNBOX_KEY_BYTES,
} from './layout.js'

/**
 * Finds the unbox key (`countByte ‖ bodyKey`, 33 bytes) addressed to `curveSk`.
 *
 * Computes `X25519(curveSk, ephemeralPk)` once and tries header slots `0…max` **inclusive**
 * (8 slots with the default 7), stopping early when a slot would reach into the last 16 bytes,
 * exactly as npm `private-box` does: a box made with `max = 8` for 8 recipients opens for the
 * 8th recipient at the default `max` (§5.3).
 *
 * The key can be stored (ssb-db keeps it as `meta.unbox`) and later given to
 * {@link multiboxOpenBody} to open the body without the secret key.
 *
 * @param curveSk - the recipient's 32-byte Curve25519 secret key
 *   (`crypto_sign_ed25519_sk_to_curve25519` of the ed25519 secret key)
 * @returns the 33-byte unbox key, or `undefined` when the box is not for `curveSk` or is malformed
 * @throws {@link InvalidMaxRecipientsError} `max` outside 1…255
 */
export function multiboxOpenKey(
  ciphertext: Uint8Array,
  curveSk: Uint8Array,
  max: number = DEFAULT_MAX_RECIPIENTS,
): Buffer | undefined {
  checkMax(max)
  if (!(ciphertext instanceof Uint8Array) || !(curveSk instanceof Uint8Array)) return undefined
  if (curveSk.length !== CURVE_KEY_BYTES) return undefined
  // The smallest box that can hold one slot and a body MAC.
  if (ciphertext.length < HEADER_START + SLOT_BYTES + MAC_BYTES) return undefined

  const nonce = ciphertext.subarray(0, NONCE_BYTES)
  const shared = Buffer.allocUnsafe(CURVE_KEY_BYTES)
  try {
    sodium.crypto_scalarmult(shared, curveSk, ciphertext.subarray(NONCE_BYTES, HEADER_START))
  } catch {
    // A low-order one-time key: libsodium refuses the all-zero shared secret.
    return undefined
  }
  const unboxKey = Buffer.allocUnsafe(UNBOX_KEY_BYTES)
  const limit = ciphertext.length - MAC_BYTES
  try {
    for (let i = 0, s = HEADER_START; i <= max && s + SLOT_BYTES <= limit; i++, s += SLOT_BYTES) {
      const slot = ciphertext.subarray(s, s + SLOT_BYTES)
      if (sodium.crypto_secretbox_open_easy(unboxKey, slot, nonce, shared)) return unboxKey
    }
    return undefined
  } finally {
    sodium.sodium_memzero(shared)
  }
}

/**
 * Opens the body of a box with an unbox key from {@link multiboxOpenKey} (or from
 * `meta.unbox` / a `?unbox=` link, §5.3). The body starts after `countByte` header slots; a count
 * byte that points past the end, or a key that is not 33 bytes, gives `undefined`.
 *
 * @returns the plaintext, or `undefined` when the key does not open the body
 */
export function multiboxOpenBody(ciphertext: Uint8Array, unboxKey: Uint8Array): Buffer | undefined {
  if (!(ciphertext instanceof Uint8Array) || !(unboxKey instanceof Uint8Array)) return undefined
  if (unboxKey.length !== UNBOX_KEY_BYTES) return undefined
  const start = HEADER_START + SLOT_BYTES * unboxKey[0]!
  if (ciphertext.length < start + MAC_BYTES) return undefined
  const plaintext = Buffer.allocUnsafe(ciphertext.length - start - MAC_BYTES)
  const ok = sodium.crypto_secretbox_open_easy(
    plaintext,
    ciphertext.subarray(start),
    ciphertext.subarray(0, NONCE_BYTES),
    unboxKey.subarray(1),
  )
  return ok ? plaintext : undefined
}

/**
 * Decrypts a box addressed to `curveSk`: {@link multiboxOpenKey} then {@link multiboxOpenBody}.
 * At most one scalar multiplication and `max + 2` secretbox opens, whatever the input.
 *
 * @returns the plaintext, or `undefined` ("not for me") for anything it cannot open
 * @throws {@link InvalidMaxRecipientsError} `max` outside 1…255
 */
export function multiboxOpen(
  ciphertext: Uint8Array,
  curveSk: Uint8Array,
  max: number = DEFAULT_MAX_RECIPIENTS,
): Buffer | undefined {
  const key = multiboxOpenKey(ciphertext, curveSk, max)
  if (key === undefined) return undefined
  try {
    return multiboxOpenBody(ciphertext, key)
  } finally {
    sodium.sodium_memzero(key)
  }
}
