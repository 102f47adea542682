/**
 * @packageDocumentation
 * Legacy SSB replication (`ssb-protocol.md` §7.1–7.2) as a plugin of `@scuttlekit/ssb-server`:
 * one live `createHistoryStream` per requested feed on every connection, in both roles,
 * resuming from what is stored; received messages are merged by sequence across peers and
 * validated in batches on every core; a peer that sends a bad signature, a fork, junk or
 * another feed loses that stream for the session, and nothing invalid is stored.
 *
 * ```ts
 * import { replicatePlugin, type ReplicateApi } from '@scuttlekit/ssb-replicate'
 * import { startServer } from '@scuttlekit/ssb-server'
 *
 * const server = await startServer({ config, plugins: [replicatePlugin()] })
 * server.plugin<ReplicateApi>('replicate')!.request('@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519')
 * await server.connect('net:pub.example:8008~shs:<key>')
 * console.log(server.progress().replicate) // {start, current, target} in feed streams
 * ```
 */
export { REPLICATE_HELP } from './help.js'
export { replicatePlugin } from './plugin.js'
export type * from './types.js'
