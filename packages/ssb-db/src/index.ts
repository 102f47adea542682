/**
 * @packageDocumentation
 * A crash-safe SSB database: an append-only, checksummed log (the single source of truth) and
 * indexes derived from it in classic-level, with the read/write API of ssb-db 20 as Promises and
 * async iterables.
 *
 * ```ts
 * import { openDb } from '@scuttlekit/ssb-db'
 * import { generateKeys } from '@scuttlekit/ssb-keys'
 *
 * const db = await openDb({ path: '/tmp/my-db', keys: generateKeys() })
 * const msg = await db.publish({ type: 'post', text: 'hello' })   // durable when it resolves
 * for await (const kvt of db.createHistoryStream({ id: db.id })) console.log(kvt.value.content)
 * await db.close()
 * ```
 */
export {
  type AddResult,
  type DbOptions,
  type FeedInfo,
  type IndexProgress,
  type Located,
  openDb,
  SsbDb,
  type StreamOptions,
} from './db.js'
export * from './errors.js'
export { LOG_START, Log, type ScannedRecord } from './log.js'
export { defaultLogger, type Logger } from './logger.js'
export type { LinkItem, LinksOptions, StreamItem, SyncMarker } from './streams.js'
export { resolvedTimestamp } from './streams.js'
