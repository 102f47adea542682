/**
 * @packageDocumentation
 * Ids, sigil links, multiserver addresses and invite codes of Secure Scuttlebutt, plus the error
 * classes every Scuttlekit package shares. Pure functions, no dependencies.
 *
 * ```ts
 * import { isFeedId, parseMultiserverAddress } from '@scuttlekit/ssb-ref'
 * isFeedId('@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519') // true
 * ```
 */
export * from './errors.js'
export * from './ids.js'
