/**
 * @packageDocumentation
 * private-box: the encryption of private SSB messages to up to 7 recipients (§5 of
 * ssb-protocol.md), byte-compatible with npm `private-box` 0.3.1. Pure functions over
 * `Uint8Array` on sodium-native. Decryption never throws on hostile input: anything it cannot
 * open is `undefined` ("not for me").
 *
 * ```ts
 * import sodium from 'sodium-native'
 * import { multibox, multiboxOpen } from '@scuttlekit/private-box'
 *
 * const pk = Buffer.alloc(32)
 * const sk = Buffer.alloc(32)
 * sodium.crypto_box_keypair(pk, sk)
 * const boxed = multibox(Buffer.from('hello'), [pk])
 * multiboxOpen(boxed, sk)?.toString() // 'hello'
 * ```
 */
export * from './compat.js'
export * from './errors.js'
export {
  boxedLength,
  DEFAULT_MAX_RECIPIENTS,
  HEADER_START,
  NONCE_BYTES,
  SLOT_BYTES,
  UNBOX_KEY_BYTES,
} from './layout.js'
export * from './multibox.js'
export * from './open.js'
