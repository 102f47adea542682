/**
 * @packageDocumentation
 * SSB identities: key generation, the `secret` file, signing and verification of messages,
 * message ids, and private-box encryption of message content to feed ids.
 *
 * ```ts
 * import { loadOrCreateSecretFile, signObject, verifyObject, messageId } from '@scuttlekit/ssb-keys'
 * const { keys, warning } = await loadOrCreateSecretFile('/home/me/.ssb/secret')
 * if (warning) console.warn(warning)
 * const signed = signObject(keys, { hello: 'world' })
 * verifyObject(keys.id, signed) // true
 * messageId(signed) // '%…=.sha256'
 * ```
 *
 * The npm `ssb-keys` 8.5 names (`generate`, `loadOrCreateSync`, `signObj`, `verifyObj`, `hash`,
 * `box`, `unbox`, …) are exported too, for code moving from it; see `compat.ts`.
 */
export * from './box.js'
export * from './compat.js'
export * from './crypto.js'
export * from './errors.js'
export * from './keys.js'
export * from './secret-file.js'
export * from './sign.js'
