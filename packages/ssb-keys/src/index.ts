/**
 * @packageDocumentation
 * SSB identities: key generation, the `secret` file, signing and verification of messages,
 * message ids, and private-box encryption of message content to feed ids.
 *
 * ```ts
 * import { generateKeys, signObject, verifyObject, messageId } from '@scuttlekit/ssb-keys'
 * const keys = generateKeys()
 * const signed = signObject(keys, { hello: 'world' })
 * verifyObject(keys.id, signed) // true
 * ```
 */
export * from './crypto.js'
export * from './keys.js'
export * from './sign.js'
