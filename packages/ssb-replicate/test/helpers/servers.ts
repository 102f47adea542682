// Our servers for the tests: a temp directory, fresh keys, the replicate plugin, a free port on
// 127.0.0.1 (startLoopbackServer of test-support), and the helpers every replication test needs
// (publish many, wait for a sequence).
import { MAIN_NET_CAPS } from '@scuttlekit/ssb-config'
import type { Keys } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'
import {
  type ReplicateApi,
  type ReplicateOptions,
  replicatePlugin,
} from '@scuttlekit/ssb-replicate'
import type { SsbServer } from '@scuttlekit/ssb-server'
import { startLoopbackServer } from '@scuttlekit/test-support'
import type { Logger } from 'pino'

/** The main network's caps.shs (ssb-protocol.md §3.1). */
export const MAIN_NET_SHS: string = MAIN_NET_CAPS.shs

export interface Ours {
  server: SsbServer
  api: ReplicateApi
  id: FeedId
  keys: Keys
  port: number
  /** `net:127.0.0.1:<port>~shs:<key>` */
  address: string
  path: string
  stop(): Promise<void>
}

export interface StartOptions {
  replicate?: ReplicateOptions
  logger?: Logger
  keys?: Keys
  /** an existing directory (for restarts); removed by stop() only if we made it */
  path?: string
  config?: Record<string, unknown>
}

/** One of our servers with the replicate plugin, listening on 127.0.0.1 only. */
export async function startOurs(options: StartOptions = {}): Promise<Ours> {
  const { server, keys, path, stop } = await startLoopbackServer({
    prefix: 'ssb-replicate-',
    plugins: [replicatePlugin(options.replicate)],
    config: options.config,
    keys: options.keys,
    path: options.path,
    logger: options.logger,
  })
  return {
    server,
    api: server.plugin<ReplicateApi>('replicate')!,
    id: server.id,
    keys,
    port: server.port!,
    address: server.address('device')!,
    path,
    stop,
  }
}

/** Publishes `n` posts on `server` (group-committed) and returns the last sequence. */
export async function publishMany(server: SsbServer, n: number, prefix = 'post'): Promise<number> {
  const all = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      server.db.publish({ type: 'post', text: `${prefix} ${i}` }),
    ),
  )
  return all.at(-1)?.value.sequence ?? 0
}

/** The sequence `server` holds of `feed` (0 for none). */
export function held(server: SsbServer, feed: string): number {
  return server.db.feeds().get(feed as FeedId)?.sequence ?? 0
}

/** Resolves once `cond()` holds; rejects after `ms` with `what`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Waits `ms` (for negative assertions only). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export { recordingLogger } from '@scuttlekit/test-support'
