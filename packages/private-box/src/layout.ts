/**
 * The byte layout of a private box (§5.2 of ssb-protocol.md):
 *
 * `nonce(24) ‖ ephemeralPk(32) ‖ R × headerBox(49) ‖ bodyBox(L + 16)`
 */
import { InvalidMaxRecipientsError } from './errors.js'

/** Bytes of the random nonce shared by every box in a message. */
export const NONCE_BYTES = 24
/** Bytes of the one-time Curve25519 public key. */
export const EPHEMERAL_KEY_BYTES = 32
/** Offset of the first header slot: nonce plus one-time key. */
export const HEADER_START = NONCE_BYTES + EPHEMERAL_KEY_BYTES
/** Bytes of a secretbox MAC (Poly1305). */
export const MAC_BYTES = 16
/** Bytes of an unbox key: the recipient count byte followed by the 32-byte body key. */
export const UNBOX_KEY_BYTES = 33
/** Bytes of one header slot: a secretbox of the unbox key. */
export const SLOT_BYTES = UNBOX_KEY_BYTES + MAC_BYTES
/** Bytes of a Curve25519 key (public or secret). */
export const CURVE_KEY_BYTES = 32
/**
 * The default `max`: encryption allows 7 recipients and decryption tries slots `0…7`
 * inclusive, i.e. 8 slots (§5.3, §10 #14).
 */
export const DEFAULT_MAX_RECIPIENTS = 7

/** Length of the box of a `plaintextLength`-byte plaintext to `recipients` recipients. */
export function boxedLength(plaintextLength: number, recipients: number): number {
  return HEADER_START + SLOT_BYTES * recipients + plaintextLength + MAC_BYTES
}

/** Checks `max` (an integer from 1 to 255, as the count byte allows) and returns it. */
export function checkMax(max: number): number {
  if (!Number.isInteger(max) || max < 1 || max > 255) throw new InvalidMaxRecipientsError(max)
  return max
}
