/**
 * @packageDocumentation
 * SSB blobs (`ssb-protocol.md` §6): a sha256 content-addressed store with ssb-blobs' on-disk
 * layout (`<path>/blobs/sha256/xx/…`, so an existing `~/.ssb/blobs` works), and the want/have
 * replication of ssb-blobs 1.2.2 as a plugin of `@scuttlekit/ssb-server`, with the limits the
 * reference forgets: a download past the cap or with the wrong hash is dropped and the blob
 * fetched elsewhere, and floods of wants are bounded.
 *
 * ```ts
 * import { blobsPlugin, type BlobsApi } from '@scuttlekit/ssb-blobs'
 * import { startServer } from '@scuttlekit/ssb-server'
 *
 * const server = await startServer({ config, plugins: [blobsPlugin()] })
 * const blobs = server.plugin<BlobsApi>('blobs')!
 * const { id } = await blobs.store.addBytes(Buffer.from('hello'))
 * await blobs.want('&…=.sha256') // true once a peer served it
 * ```
 */
export * from './blob-id.js'
export * from './errors.js'
export { BLOBS_HELP } from './help.js'
export { MAX_IDS_PER_FRAME, WantOutbox } from './outbox.js'
export { type BlobsApi, blobsPlugin, replicationOptionsOf } from './plugin.js'
export { JsonPushSet } from './push-set.js'
export * from './store.js'
export {
  type BlobReplicationOptions,
  type BlobReplicationStatus,
  BlobReplicator,
  DEFAULT_REPLICATION,
  type PushSet,
} from './wants.js'
