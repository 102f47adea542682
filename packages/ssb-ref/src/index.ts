/**
 * @packageDocumentation
 * Ids, sigil links, multiserver addresses and invite codes of Secure Scuttlebutt, plus the error
 * classes every Scuttlekit package shares. Pure functions, no dependencies.
 *
 * Two layers (`ssb-protocol.md` §1):
 * - drop-in equivalents of every export of npm `ssb-ref` 2.16 (`isFeedId`, `isLink`,
 *   `parseLink`, `extract`, `isAddress`, `parseAddress`, `toMultiServerAddress`, `isInvite`,
 *   `parseInvite`, `type`, ...), quirks included, for deciding exactly what JavaScript peers accept;
 * - a typed, strict API for addresses and invites that throws {@link InvalidAddressError} and
 *   {@link InvalidInviteError}: `parseMultiserverAddress`, `parseShsAddress`,
 *   `parseInviteCode` and their `stringify*` inverses.
 *
 * ```ts
 * import { isFeedId, parseMultiserverAddress, parseNetShsAddress } from '@scuttlekit/ssb-ref'
 * isFeedId('@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519') // true
 * parseNetShsAddress('net:::1:8008~shs:FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=')
 * // { host: '::1', port: 8008, key: '@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519' }
 * parseMultiserverAddress('unix:/home/u/.ssb/socket~noauth')
 * // [{ transport: { name: 'unix', data: ['/home/u/.ssb/socket'] },
 * //    transforms: [{ name: 'noauth', data: [] }] }]
 * ```
 */
export * from './compat-address.js'
export * from './compat-invite.js'
export * from './errors.js'
export * from './hosts.js'
export * from './ids.js'
export * from './invite-code.js'
export * from './links.js'
export * from './multiserver.js'
export * from './shs-address.js'
