/**
 * The names npm `private-box` 0.3.1 exports, with its argument orders, for code moving over.
 *
 * Same bytes and same answers on good input. Differences, all on bad input: a falsy `max` means
 * the default 7 (as in the reference), but refusals throw the named errors of `multibox`; the
 * open functions return `undefined` where the reference returns `null` or throws (§5.3).
 */
import { DEFAULT_MAX_RECIPIENTS } from './layout.js'
import { multibox } from './multibox.js'
import { multiboxOpen, multiboxOpenBody, multiboxOpenKey } from './open.js'

/** npm `private-box` `encrypt(msg, recipients, max)`: {@link multibox} under its other name. */
export function encrypt(
  plaintext: Uint8Array,
  recipientCurvePks: readonly Uint8Array[],
  max?: number,
): Buffer {
  return multibox(plaintext, recipientCurvePks, max || DEFAULT_MAX_RECIPIENTS)
}

/** npm `private-box` `multibox_open(ctxt, sk, max)`: {@link multiboxOpen}. */
export function multibox_open(
  ciphertext: Uint8Array,
  curveSk: Uint8Array,
  max?: number,
): Buffer | undefined {
  return multiboxOpen(ciphertext, curveSk, max || DEFAULT_MAX_RECIPIENTS)
}

/** npm `private-box` `decrypt(ctxt, sk, max)`: {@link multiboxOpen}. */
export const decrypt: typeof multibox_open = multibox_open

/** npm `private-box` `multibox_open_key(ctxt, sk, max)`: {@link multiboxOpenKey}. */
export function multibox_open_key(
  ciphertext: Uint8Array,
  curveSk: Uint8Array,
  max?: number,
): Buffer | undefined {
  return multiboxOpenKey(ciphertext, curveSk, max || DEFAULT_MAX_RECIPIENTS)
}

/**
 * npm `private-box` `multibox_open_body(ctxt, unboxKey)`: {@link multiboxOpenBody}; a missing
 * key gives `undefined`, as in the reference.
 */
export function multibox_open_body(
  ciphertext: Uint8Array,
  unboxKey: Uint8Array | null | undefined,
): Buffer | undefined {
  return unboxKey ? multiboxOpenBody(ciphertext, unboxKey) : undefined
}
