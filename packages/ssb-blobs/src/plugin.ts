/**
 * The `blobs` plugin for `@scuttlekit/ssb-server`: the RPC methods of ssb-blobs 1.2.2 with its
 * manifest, argument forms, permissions and error texts (`reference-features.md` §1.7,
 * `ssb-protocol.md` §6.2), on our {@link BlobStore} at `<path>/blobs`, and the want/have
 * replication of {@link BlobReplicator} on every connection.
 */

import { join } from 'node:path'
import { type FeedId, safeString } from '@scuttlekit/ssb-ref'
import { hasFullRights, type Plugin, type PluginInstance } from '@scuttlekit/ssb-server'
import { isValidBlobId } from './blob-id.js'
import { BlobArgumentError } from './errors.js'
import { BLOBS_HELP } from './help.js'
import { JsonPushSet } from './push-set.js'
import { type BlobMeta, BlobStore, type ReadOptions } from './store.js'
import {
  type BlobReplicationOptions,
  type BlobReplicationStatus,
  BlobReplicator,
  DEFAULT_REPLICATION,
} from './wants.js'

/** The in-process API of the blobs plugin, for other plugins (`server.plugin('blobs')`). */
export interface BlobsApi {
  readonly store: BlobStore
  /** Resolves `true` once the blob is stored, fetching it from the network. */
  want(id: string, signal?: AbortSignal): Promise<boolean>
  /** Offers a blob until `pushy` peers have it. */
  push(id: string): Promise<void>
  status(): BlobReplicationStatus
}

/** Most ids one `has` or `size` call may ask about. */
const MAX_IDS_PER_CALL = 10_000

type Config = Record<string, unknown>

/** A number setting; numeric strings count, since `ssb_blobs__max=…` variables arrive as text. */
function num(section: Config, key: string, fallback: number, min: number): number {
  const raw = section[key]
  const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
  return typeof v === 'number' && Number.isFinite(v) && v >= min ? v : fallback
}

/** `config.blobs` read into {@link BlobReplicationOptions}, with the reference's defaults. */
export function replicationOptionsOf(config: { blobs?: unknown }): BlobReplicationOptions {
  const s = (
    typeof config.blobs === 'object' && config.blobs !== null ? config.blobs : {}
  ) as Config
  const d = DEFAULT_REPLICATION
  return {
    max: num(s, 'max', d.max, 0),
    sympathy: Math.floor(num(s, 'sympathy', d.sympathy, 0)),
    pushy: Math.max(1, Math.floor(num(s, 'pushy', d.pushy, 1))),
    stingy: s.stingy === true || s.stingy === 'true',
    legacy: s.legacy !== false && s.legacy !== 'false',
    maxRelayedPerPeer: Math.floor(num(s, 'maxRelayedPerPeer', d.maxRelayedPerPeer, 0)),
    maxRelayed: Math.floor(num(s, 'maxRelayed', d.maxRelayed, 0)),
    maxHavesPerPeer: Math.floor(num(s, 'maxHavesPerPeer', d.maxHavesPerPeer, 0)),
    maxFetches: Math.max(1, Math.floor(num(s, 'maxFetches', d.maxFetches, 1))),
    fetchTimeoutMs: num(s, 'fetchTimeout', d.fetchTimeoutMs, 1),
  }
}

/** ssb-blobs' `toBlobId`: an id, or an object with an id under `id`. */
function idOf(arg: unknown): string | null {
  if (isValidBlobId(arg)) return arg
  if (typeof arg === 'object' && arg !== null && isValidBlobId((arg as { id?: unknown }).id))
    return (arg as { id: string }).id
  return null
}

/** multiblob's `getId`: the id of a `get`/`getSlice` argument, under `id`, `key` or `hash`. */
function optsIdOf(opts: Record<string, unknown>): unknown {
  return opts.id ?? opts.key ?? opts.hash
}

function readOptions(opts: Record<string, unknown>, signal: AbortSignal): ReadOptions {
  const out: { -readonly [K in keyof ReadOptions]: ReadOptions[K] } = { signal }
  if (opts.size != null) out.size = opts.size as number
  if (opts.max != null) out.max = opts.max as number
  return out
}

/**
 * Makes the `blobs` plugin. Add it to `startServer({plugins: [blobsPlugin()]})`; other plugins
 * reach its {@link BlobsApi} with `server.plugin<BlobsApi>('blobs')`. `config.blobs` takes
 * ssb-blobs' `max`, `sympathy`, `pushy`, `stingy` and `legacy`, and our limits
 * (`maxRelayedPerPeer`, `maxRelayed`, `maxHavesPerPeer`, `maxFetches`, `fetchTimeout`).
 */
export function blobsPlugin(): Plugin {
  return {
    name: 'blobs',
    anonymous: ['has', 'get', 'getSlice', 'changes', 'createWants'],
    async init({ config, id: self, logger }): Promise<PluginInstance> {
      const options = replicationOptionsOf(config as { blobs?: unknown })
      const store = await BlobStore.open(join(config.path, 'blobs'))
      const pushSet = await JsonPushSet.open(join(config.path, 'blobs_push.json'))
      const replicator = new BlobReplicator(store, self, options, pushSet, logger)

      const api: BlobsApi = {
        store,
        want: (id, signal) => replicator.want(id, signal),
        push: (id) => replicator.push(id),
        status: () => replicator.status(),
      }

      /** `has` and `size` take one id or an array of them. */
      function idList(arg: unknown, message: (bad: unknown) => string): string[] {
        if (Array.isArray(arg)) {
          if (arg.length > MAX_IDS_PER_CALL)
            throw new BlobArgumentError(`too many ids: at most ${MAX_IDS_PER_CALL} per call`)
          for (const x of arg) if (!isValidBlobId(x)) throw new BlobArgumentError(message(x))
          return arg as string[]
        }
        const one = idOf(arg)
        if (one === null) throw new BlobArgumentError(message(null))
        return [one]
      }

      async function* ls(args: readonly unknown[], signal: AbortSignal) {
        const o = (typeof args[0] === 'object' && args[0] !== null ? args[0] : {}) as Config
        const long = Boolean(o.meta || o.long || o.size)
        for await (const meta of store.ls({
          old: o.old !== false,
          live: o.live === true,
          signal,
        })) {
          yield long ? meta : meta.id
        }
      }

      async function* changes(signal: AbortSignal) {
        for await (const meta of store.ls({ old: false, live: true, signal })) {
          if (!options.stingy || replicator.isPushing(meta.id)) yield meta.id
        }
      }

      return {
        api,
        methods: {
          get: {
            type: 'source',
            fn: (args, call) => {
              const arg = args[0]
              if (isValidBlobId(arg)) return store.read(arg, { signal: call.signal })
              const opts = (typeof arg === 'object' && arg !== null ? arg : {}) as Config
              const id = optsIdOf(opts)
              if (!isValidBlobId(id))
                throw new BlobArgumentError('multiblob.get: {id} is mandatory')
              return store.read(id, readOptions(opts, call.signal))
            },
          },
          getSlice: {
            type: 'source',
            fn: (args, call) => {
              const arg = args[0]
              const opts = (typeof arg === 'object' && arg !== null ? arg : {}) as Config
              const id = optsIdOf(opts)
              if (!isValidBlobId(id))
                throw new BlobArgumentError('multiblob.getSlice: {id} is mandatory')
              if (typeof opts.start !== 'number' || Number.isNaN(opts.start))
                throw new BlobArgumentError('multiblob.getSlice: {start} must be a number')
              if (typeof opts.end !== 'number' || Number.isNaN(opts.end))
                throw new BlobArgumentError('multiblob.getSlice: {end} must be a number')
              return store.read(id, {
                ...readOptions(opts, call.signal),
                start: opts.start,
                end: opts.end,
              })
            },
          },
          add: {
            type: 'sink',
            fn: async (args, call) => {
              const arg = args[0]
              let expected: string | undefined
              if (arg !== undefined && arg !== null) {
                const id = idOf(arg)
                if (id === null) throw new BlobArgumentError(`not a valid hash: ${safeString(arg)}`)
                expected = id
              }
              const input = call.input ?? []
              await store.add(input as AsyncIterable<Uint8Array | string>, {
                ...(expected ? { expected: expected as BlobMeta['id'] } : {}),
                signal: call.signal,
              })
            },
          },
          rm: {
            type: 'async',
            fn: async (args) => {
              const id = idOf(args[0])
              if (id === null) throw new BlobArgumentError(`not valid id:${safeString(args[0])}`)
              await store.rm(id)
            },
          },
          ls: { type: 'source', fn: (args, call) => ls(args, call.signal) },
          has: {
            type: 'async',
            fn: async (args, call) => {
              const ids = idList(args[0], (bad) => `invalid id:${safeString(bad)}`)
              // a remote peer's `has` is ssb-blobs' legacy want (§6.2)
              const answer =
                options.legacy && !hasFullRights(call.session)
                  ? await replicator.legacyHas(call.session.remoteId as FeedId, ids)
                  : await Promise.all(ids.map((id) => store.has(id)))
              return Array.isArray(args[0]) ? answer : answer[0]
            },
          },
          size: {
            type: 'async',
            fn: async (args) => {
              const ids = idList(args[0], (bad) => `not a valid id:${safeString(bad)}`)
              const sizes = await Promise.all(ids.map((id) => store.size(id)))
              return Array.isArray(args[0]) ? sizes : sizes[0]
            },
          },
          meta: {
            type: 'async',
            fn: async (args) => {
              const id = idOf(args[0])
              if (id === null) throw new BlobArgumentError(`invalid id:${null}`)
              return store.meta(id)
            },
          },
          want: {
            type: 'async',
            fn: async (args, call) => {
              const id = idOf(args[0])
              if (id === null) throw new BlobArgumentError(`invalid id:${null}`)
              return replicator.want(id, call.signal)
            },
          },
          push: {
            type: 'async',
            fn: async (args) => {
              const id = idOf(args[0])
              if (id === null) throw new BlobArgumentError(`invalid hash:${safeString(args[0])}`)
              await replicator.push(id)
            },
          },
          changes: { type: 'source', fn: (_args, call) => changes(call.signal) },
          createWants: {
            type: 'source',
            fn: (_args, call) => replicator.createWants(call.session.remoteId, call.signal),
          },
          help: { type: 'sync', fn: () => BLOBS_HELP },
        },
        onSession: (session) => replicator.onSession(session),
        status: () => replicator.status(),
        close: async () => {
          replicator.close()
          await store.close()
        },
      }
    },
  }
}
