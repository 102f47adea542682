/**
 * @packageDocumentation
 * Test helpers shared by the workspaces (private, never published): the real `ssb-server` 16
 * from npm as a child process, our own server on loopback, free ports on 127.0.0.1, a logger that
 * records, and a stand-in `blobs` plugin for peers that lie.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { MAIN_NET_CAPS } from '@scuttlekit/ssb-config'
import type { Keys } from '@scuttlekit/ssb-keys'
import { generateKeys, parseSecretFile } from '@scuttlekit/ssb-keys'
import type { IncomingCall } from '@scuttlekit/ssb-rpc'
import { type Plugin, type SsbServer, startServer } from '@scuttlekit/ssb-server'
import { type Logger, pino } from 'pino'

const require = createRequire(import.meta.url)
/** The reference CLI: `node_modules/ssb-server/bin.js`. */
export const REFERENCE_BIN = join(dirname(require.resolve('ssb-server/package.json')), 'bin.js')

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

export interface ReferenceServer {
  /** `@<key>.ed25519` */
  id: string
  keys: Keys
  port: number
  /** the ws port it was given (it listens there too) */
  wsPort: number
  path: string
  home: string
  /** `net:127.0.0.1:<port>~shs:<key>` */
  address: string
  /** Environment for running the reference CLI against this server. */
  env: NodeJS.ProcessEnv
  /** Everything the server printed so far. */
  output(): string
  child: ChildProcess
  stop(): Promise<void>
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after
 * `timeoutMs`, or as soon as `child` (the process that should listen) has exited, with `log()`
 * (what it printed) in the message.
 */
export function waitForPort(
  port: number,
  timeoutMs: number,
  child?: ChildProcess,
  log: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        reject(new Error(`the server exited before listening on ${port}:\n${log()}`))
        return
      }
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        // With nothing listening on a port of the ephemeral range, the kernel can pick that very
        // port as the local end of this connection, and TCP connects the socket to itself: not
        // a listener. Seen once in CI as a reference server whose secret file did not exist yet.
        const self = s.localPort === port
        s.destroy()
        if (!self) resolve()
        else if (Date.now() > deadline) reject(new Error(`nothing listens on ${port}:\n${log()}`))
        else setTimeout(attempt, 50)
      })
      s.once('error', () => {
        s.destroy()
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port}:\n${log()}`))
        else setTimeout(attempt, 50)
      })
    }
    attempt()
  })
}

/**
 * Starts `ssb-server start` with `--host 127.0.0.1 --port <free>` and a ws port, logging at
 * `info` so that a failure can be read from {@link ReferenceServer.output}.
 */
export async function startReferenceServer(
  extraArgs: string[] = [],
  existing?: { path: string; home: string },
): Promise<ReferenceServer> {
  const home = existing?.home ?? (await mkdtemp(join(tmpdir(), 'ref-ssb-home-')))
  const path = existing?.path ?? join(home, '.ssb')
  const port = await freePort()
  const wsPort = await freePort()
  const env = { ...process.env, HOME: home, ssb_appname: 'ssb' }
  const args = [
    REFERENCE_BIN,
    'start',
    '--path',
    path,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--ws.port',
    String(wsPort),
    '--logging.level',
    'info',
    ...extraArgs,
  ]
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    await Promise.race([
      waitForPort(port, 30_000),
      exited.then(() => {
        throw new Error(`reference server exited:\n${out}`)
      }),
    ])
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  // The reference writes its secret before it listens; if the port answered first, something
  // else holds it, and the error should say so rather than ENOENT.
  const secretFile = join(path, 'secret')
  for (let waited = 0; !existsSync(secretFile); waited += 50) {
    if (waited >= 5000 || child.exitCode !== null) {
      child.kill('SIGKILL')
      throw new Error(`port ${port} answered, but the reference wrote no ${secretFile}:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const keys = parseSecretFile(await readFile(secretFile, 'utf8'))
  const key = keys.id.slice(1, -'.ed25519'.length)
  return {
    id: keys.id,
    keys,
    port,
    wsPort,
    path,
    home,
    address: `net:127.0.0.1:${port}~shs:${key}`,
    env: {
      ...env,
      ssb_host: '127.0.0.1',
      ssb_port: String(port),
      ssb_path: path,
    },
    output: () => out,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT')
        const t = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(t)
      }
      if (!existing) await rm(home, { recursive: true, force: true })
    },
  }
}

/** One of our servers started by {@link startLoopbackServer}. */
export interface LoopbackServer {
  server: SsbServer
  keys: Keys
  path: string
  /** closes the server; removes the directory if it was made for it */
  stop(): Promise<void>
}

/**
 * One of our servers with `plugins`, on the main network, listening on 127.0.0.1 only (a free
 * port): in `path` (kept at stop) or a new temporary directory named after `prefix` (removed at
 * stop), with `keys` or fresh ones, silent unless given a `logger`. `config` is added last.
 */
export async function startLoopbackServer(options: {
  plugins: Plugin[]
  prefix: string
  config?: Record<string, unknown>
  keys?: Keys
  path?: string
  logger?: Logger
}): Promise<LoopbackServer> {
  const path = options.path ?? (await mkdtemp(join(tmpdir(), options.prefix)))
  const keys = options.keys ?? generateKeys()
  const server = await startServer({
    config: {
      path,
      keys,
      caps: { shs: MAIN_NET_CAPS.shs, sign: null },
      host: '127.0.0.1',
      port: 0,
      connections: { incoming: { net: [{ host: '127.0.0.1', port: 0, transform: 'shs' }] } },
      ...options.config,
    },
    plugins: options.plugins,
    logger: options.logger ?? pino({ level: 'silent' }),
  })
  return {
    server,
    keys,
    path,
    async stop() {
      await server.close()
      if (!options.path) await rm(path, { recursive: true, force: true })
    },
  }
}

/** A pino logger that keeps its records, for assertions on what was logged. */
export function recordingLogger(level = 'warn'): {
  logger: Logger
  records: Record<string, unknown>[]
} {
  const records: Record<string, unknown>[] = []
  const logger = pino(
    { level },
    {
      write(line: string) {
        records.push(JSON.parse(line))
      },
    },
  )
  return { logger, records }
}

/**
 * A stand-in `blobs` plugin for a peer that lies (`bad-inputs.md` §7): its `createWants` says it
 * has `id` of `size` bytes and stays open (or yields what `wants` gives), and its `get` serves
 * whatever `get` yields, wrong bytes, endless bytes or nothing.
 */
export function liarBlobs(
  id: string,
  size: number,
  get: (signal: AbortSignal) => AsyncIterable<unknown>,
  wants: (signal: AbortSignal) => AsyncIterable<unknown> = async function* (signal) {
    yield { [id]: size }
    await new Promise((r) => signal.addEventListener('abort', r))
  },
): Plugin {
  return {
    name: 'blobs',
    anonymous: ['get', 'createWants', 'has'],
    init: () => ({
      methods: {
        get: { type: 'source', fn: (_a, call: IncomingCall) => get(call.signal) },
        createWants: { type: 'source', fn: (_a, call: IncomingCall) => wants(call.signal) },
        has: { type: 'async', fn: () => false },
      },
    }),
  }
}
