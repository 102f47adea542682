// Our server with the gossip plugin, in a temp directory on 127.0.0.1, and small test utilities.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeys, type Keys } from '@scuttlekit/ssb-keys'
import { type Plugin, type ServerConfig, type SsbServer, startServer } from '@scuttlekit/ssb-server'
import { pino } from 'pino'
import { type GossipApi, type GossipOptions, gossipPlugin } from '../../src/index.js'

export const SHS = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

/** Timers short enough for tests. */
export const FAST: GossipOptions['timers'] = {
  interval: 40,
  jitter: 10,
  backoffScale: 0.01,
  dropAfter: 10_000,
  save: 30,
  beacon: 50,
  localExpiry: 400,
  localCheck: 100,
  hopsRefresh: 50,
}

export interface TestNode {
  server: SsbServer
  gossip: GossipApi
  config: ServerConfig
  keys: Keys
  id: string
  path: string
  port: number
  /** `net:127.0.0.1:<port>~shs:<key>` */
  address: string
  /** Closes the server (idempotent); keeps the directory. */
  stop(): Promise<void>
  /** Closes the server and removes its directory. */
  destroy(): Promise<void>
}

export function keyOf(keys: Keys): string {
  return keys.id.slice(1, -'.ed25519'.length)
}

export interface NodeOptions {
  config?: Record<string, unknown>
  gossip?: GossipOptions
  keys?: Keys
  path?: string
  port?: number
  /** Plugins started before gossip (a fake friends plugin, say). */
  plugins?: Plugin[]
  /** Leave the gossip plugin out. */
  noGossip?: boolean
}

/** Starts our server with the gossip plugin (fast timers unless overridden). */
export async function startNode(opts: NodeOptions = {}): Promise<TestNode> {
  const path = opts.path ?? (await mkdtemp(join(tmpdir(), 'ssb-gossip-test-')))
  const keys = opts.keys ?? generateKeys()
  const config: ServerConfig = {
    path,
    keys,
    caps: { shs: SHS },
    host: '127.0.0.1',
    port: opts.port ?? 0,
    ...opts.config,
  }
  const server = await startServer({
    config,
    plugins: [
      ...(opts.plugins ?? []),
      ...(opts.noGossip
        ? []
        : [gossipPlugin({ ...opts.gossip, timers: { ...FAST, ...opts.gossip?.timers } })]),
    ],
    logger: pino({ level: 'silent' }),
  })
  const port = server.port!
  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= server.close()
    return stopped
  }
  return {
    server,
    gossip: server.plugin<GossipApi>('gossip') as GossipApi,
    config,
    keys,
    id: keys.id,
    path,
    port,
    address: `net:127.0.0.1:${port}~shs:${keyOf(keys)}`,
    stop,
    async destroy() {
      await stop()
      await rm(path, { recursive: true, force: true })
    },
  }
}

/** Polls `check` until it returns a truthy value, or fails after `ms`. */
export async function until<T>(
  check: () => T | Promise<T>,
  ms = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A fresh key's feed id and base64 key, for addresses of peers that do not exist. */
export function fakePeer(): { id: string; key: string } {
  const keys = generateKeys()
  return { id: keys.id, key: keyOf(keys) }
}
