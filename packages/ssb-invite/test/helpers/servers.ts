// Our server with the invite plugin (and friends, optionally gossip) in a temp directory.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { friendsPlugin } from '@scuttlekit/ssb-friends'
import { gossipPlugin } from '@scuttlekit/ssb-gossip'
import { generateKeys, type Keys } from '@scuttlekit/ssb-keys'
import { type Plugin, type ServerConfig, type SsbServer, startServer } from '@scuttlekit/ssb-server'
import { pino } from 'pino'
import { invitePlugin } from '../../src/index.js'

export const SHS = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

export interface TestNode {
  server: SsbServer
  id: string
  keys: Keys
  path: string
  port: number
  config: ServerConfig
  /** Closes the server (idempotent); keeps the directory. */
  stop(): Promise<void>
  /** Closes the server and removes its directory. */
  destroy(): Promise<void>
}

export interface NodeOptions {
  config?: Record<string, unknown>
  path?: string
  keys?: Keys
  gossip?: boolean
}

export async function startNode(opts: NodeOptions = {}): Promise<TestNode> {
  const path = opts.path ?? (await mkdtemp(join(tmpdir(), 'ssb-invite-test-')))
  const keys = opts.keys ?? generateKeys()
  const config: ServerConfig = {
    path,
    keys,
    caps: { shs: SHS },
    host: '127.0.0.1',
    port: 0,
    ...opts.config,
  }
  const plugins: Plugin[] = [friendsPlugin(), invitePlugin({ retryDelayMs: 50 })]
  if (opts.gossip) {
    plugins.push(
      gossipPlugin({ broadcastAddress: '127.0.0.1', timers: { interval: 60_000, beacon: 60_000 } }),
    )
  }
  const server = await startServer({ config, plugins, logger: pino({ level: 'silent' }) })
  let closed: Promise<void> | undefined
  const stop = () => {
    closed ??= server.close()
    return closed
  }
  return {
    server,
    id: server.id,
    keys,
    path,
    port: server.port!,
    config,
    stop,
    async destroy() {
      await stop()
      await rm(path, { recursive: true, force: true })
    },
  }
}
