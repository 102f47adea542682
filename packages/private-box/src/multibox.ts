/**
 * Encryption of a private box (§5.2 of ssb-protocol.md).
 */
import sodium from 'sodium-native'
import {
  InvalidPlaintextError,
  InvalidRecipientKeyError,
  NoRecipientsError,
  TooManyRecipientsError,
} from './errors.js'
import {
  boxedLength,
  CURVE_KEY_BYTES,
  checkMax,
  DEFAULT_MAX_RECIPIENTS,
  HEADER_START,
  NONCE_BYTES,
  SLOT_BYTES,
  UNBOX_KEY_BYTES,
} from './layout.js'

/**
 * Encrypts `plaintext` to every key in `recipientCurvePks` (Curve25519 public keys; convert
 * ed25519 feed keys with `crypto_sign_ed25519_pk_to_curve25519` first, §1.1).
 *
 * The output is one buffer of `56 + 49·R + plaintext.length + 16` bytes laid out as §5.2 says,
 * byte-compatible with npm `private-box` `multibox`: a random nonce, a one-time public key, one
 * header slot per recipient holding `R ‖ bodyKey` under the raw X25519 secret, then the body.
 * Recipient order is kept, so recipient *k* can be found in slot *k*.
 *
 * Unlike the reference, this refuses zero recipients (the reference returns a box no one can
 * open) and names every refusal.
 *
 * @param max - the most recipients allowed, 1…255 (default 7, what ssb-keys always uses)
 * @throws {@link TooManyRecipientsError} more than `max` recipients
 * @throws {@link NoRecipientsError} an empty recipient list
 * @throws {@link InvalidRecipientKeyError} a key that is not 32 bytes or is a low-order point
 * @throws {@link InvalidMaxRecipientsError} `max` outside 1…255
 * @throws {@link InvalidPlaintextError} `plaintext` is not a `Uint8Array`
 */
export function multibox(
  plaintext: Uint8Array,
  recipientCurvePks: readonly Uint8Array[],
  max: number = DEFAULT_MAX_RECIPIENTS,
): Buffer {
  checkMax(max)
  if (!(plaintext instanceof Uint8Array)) throw new InvalidPlaintextError()
  const count = recipientCurvePks.length
  if (count > max) throw new TooManyRecipientsError(max, count)
  if (count === 0) throw new NoRecipientsError()
  for (let i = 0; i < count; i++) {
    const pk = recipientCurvePks[i]
    if (!(pk instanceof Uint8Array) || pk.length !== CURVE_KEY_BYTES) {
      throw new InvalidRecipientKeyError(i, 'a Curve25519 public key has 32 bytes')
    }
  }

  const out = Buffer.allocUnsafe(boxedLength(plaintext.length, count))
  const nonce = out.subarray(0, NONCE_BYTES)
  sodium.randombytes_buf(nonce)
  // Scratch for the secrets: one-time secret key, shared secret, count ‖ body key.
  const scratch = Buffer.allocUnsafe(CURVE_KEY_BYTES * 2 + UNBOX_KEY_BYTES)
  const ephemeralSk = scratch.subarray(0, CURVE_KEY_BYTES)
  const shared = scratch.subarray(CURVE_KEY_BYTES, CURVE_KEY_BYTES * 2)
  const unboxKey = scratch.subarray(CURVE_KEY_BYTES * 2)
  try {
    sodium.crypto_box_keypair(out.subarray(NONCE_BYTES, HEADER_START), ephemeralSk)
    unboxKey[0] = count
    const bodyKey = unboxKey.subarray(1)
    sodium.randombytes_buf(bodyKey)

    let slot = HEADER_START
    for (let i = 0; i < count; i++, slot += SLOT_BYTES) {
      try {
        sodium.crypto_scalarmult(shared, ephemeralSk, recipientCurvePks[i]!)
      } catch {
        throw new InvalidRecipientKeyError(i, 'a low-order point gives no shared secret')
      }
      sodium.crypto_secretbox_easy(out.subarray(slot, slot + SLOT_BYTES), unboxKey, nonce, shared)
    }
    sodium.crypto_secretbox_easy(out.subarray(slot), plaintext, nonce, bodyKey)
  } finally {
    sodium.sodium_memzero(scratch)
  }
  return out
}
