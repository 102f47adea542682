// Starts our server in process, in a temp directory laid out like `~/.ssb` (secret file,
// manifest.json, socket), on a free port on 127.0.0.1.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAIN_NET_CAPS } from '@scuttlekit/ssb-config'
import { createSecretFileSync, type Keys } from '@scuttlekit/ssb-keys'
import { type Plugin, type ServerConfig, type SsbServer, startServer } from '@scuttlekit/ssb-server'
import { pino } from 'pino'
import { freePort } from './reference-server.js'

export const MAIN_NET_SHS: string = MAIN_NET_CAPS.shs

export interface OurServer {
  server: SsbServer
  config: ServerConfig
  id: string
  keys: Keys
  port: number
  home: string
  path: string
  /** `net:127.0.0.1:<port>~shs:<key>` */
  address: string
  stop(): Promise<void>
}

export async function startOurServer(
  extra: Partial<ServerConfig> = {},
  plugins: Plugin[] = [],
): Promise<OurServer> {
  const home = await mkdtemp(join(tmpdir(), 'our-ssb-home-'))
  const path = join(home, '.ssb')
  await mkdir(path, { recursive: true })
  const keys = createSecretFileSync(join(path, 'secret'))
  const port = await freePort()
  const config: ServerConfig = {
    path,
    keys,
    caps: { shs: MAIN_NET_SHS, sign: null },
    host: '127.0.0.1',
    port,
    connections: {
      incoming: {
        net: [{ host: '127.0.0.1', port, scope: ['device', 'local'], transform: 'shs' }],
        unix: [{ scope: 'device', transform: 'noauth' }],
      },
    },
    timers: { handshake: 5000 },
    ...extra,
  }
  const server = await startServer({ config, plugins, logger: pino({ level: 'silent' }) })
  const key = keys.id.slice(1, -'.ed25519'.length)
  return {
    server,
    config,
    id: keys.id,
    keys,
    port,
    home,
    path,
    address: `net:127.0.0.1:${port}~shs:${key}`,
    async stop() {
      await server.close()
      await rm(home, { recursive: true, force: true })
    },
  }
}
