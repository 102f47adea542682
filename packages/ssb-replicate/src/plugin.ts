/**
 * The `replicate` plugin for `@scuttlekit/ssb-server`: the RPC methods of ssb-replicate 1.3.5
 * (`reference-features.md` §1.5), the in-process API ssb-friends drives, the block rule on the
 * history streams we serve (§7.1), and the driver that replicates on every connection (§7.2).
 */

import { type Plugin, type PluginInstance, signCapOf } from '@scuttlekit/ssb-server'
import { defaultVerifyPool, resolveHmacKey } from '@scuttlekit/ssb-validate'
import { REPLICATE_HELP } from './help.js'
import { Replicator } from './replicator.js'
import type { ReplicateApi, ReplicateOptions } from './types.js'

/**
 * Makes the `replicate` plugin. Add it to `startServer({plugins: [replicatePlugin()]})`; other
 * plugins reach its {@link ReplicateApi} with `server.plugin<ReplicateApi>('replicate')`.
 * `config.replicate.legacy: false` keeps the API but opens no streams, as in the reference.
 */
export function replicatePlugin(options: ReplicateOptions = {}): Plugin {
  return {
    name: 'replicate',
    init({ config, db, id, logger, server }): PluginInstance {
      const key = resolveHmacKey(signCapOf(config))
      const section = config.replicate as { legacy?: unknown } | undefined
      const replicator = new Replicator({
        id,
        db,
        logger,
        hmacKey: key instanceof Uint8Array ? key : null,
        legacy: section?.legacy !== false,
        options,
      })
      // the database checks replicated signatures on the default pool: boot its workers now,
      // not on the first batch of the first feed we replicate
      if (section?.legacy !== false) defaultVerifyPool().start()
      // createHistoryStream serves nothing of `feed` to a peer it blocks (§7.1); a peer that
      // calls it is ready for our own requests
      const unguard = server.guardHistory((feed, requester) => {
        replicator.noteHistoryRequest(requester)
        return !replicator.isBlocked(feed, requester)
      })
      // bound functions, so that a caller may destructure the API
      const api: ReplicateApi = {
        request: (feed, replicate) => replicator.request(feed, replicate),
        block: (from, to, blocking) => replicator.block(from, to, blocking),
        requested: () => replicator.requested(),
        isRequested: (feed) => replicator.isRequested(feed),
        progress: () => replicator.progress(),
        status: () => replicator.status(),
        upto: (opts, signal) => replicator.upto(opts, signal),
        changes: (signal) => replicator.changes(signal),
      }
      return {
        api,
        methods: {
          request: {
            type: 'sync',
            fn: (args) => {
              replicator.request(args[0] as string, args[1] as boolean | undefined)
            },
          },
          block: {
            type: 'sync',
            fn: (args) => {
              replicator.block(args[0] as string, args[1] as string, args[2] as boolean)
            },
          },
          upto: {
            type: 'source',
            fn: (args, call) => {
              const opts = args[0]
              const live =
                opts !== null &&
                typeof opts === 'object' &&
                (opts as { live?: unknown }).live === true
              return replicator.upto({ live }, call.signal)
            },
          },
          changes: { type: 'source', fn: (_args, call) => replicator.changes(call.signal) },
          help: { type: 'sync', fn: () => REPLICATE_HELP },
        },
        onSession: (session, isClient) => replicator.onSession(session, isClient),
        status: () => replicator.status(),
        progress: () => replicator.progress(),
        close: async () => {
          unguard()
          await replicator.close()
        },
      }
    },
  }
}
