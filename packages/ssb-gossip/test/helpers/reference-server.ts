// Starts the real ssb-server 16 from npm as a child process, in its own temp HOME, on a free
// port of 127.0.0.1 (a trimmed copy of test-e2e's helper), and stops it again.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseSecretFile } from '@scuttlekit/ssb-keys'

const require = createRequire(import.meta.url)
const REFERENCE_BIN = join(dirname(require.resolve('ssb-server/package.json')), 'bin.js')

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
  id: string
  port: number
  wsPort: number
  output(): string
  child: ChildProcess
  stop(): Promise<void>
}

function waitForPort(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        s.destroy()
        resolve()
      })
      s.once('error', () => {
        s.destroy()
        if (Date.now() > deadline) reject(new Error(`reference server did not listen on ${port}`))
        else setTimeout(attempt, 100)
      })
    }
    attempt()
  })
}

/** `ssb-server start --host 127.0.0.1 --port <free> --ws.port <free>`. */
export async function startReferenceServer(): Promise<ReferenceServer> {
  const home = await mkdtemp(join(tmpdir(), 'ref-ssb-gossip-'))
  const path = join(home, '.ssb')
  const port = await freePort()
  const wsPort = await freePort()
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
  ]
  const env = { ...process.env, HOME: home, ssb_appname: 'ssb' }
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
      waitForPort(port, Date.now() + 30_000),
      exited.then(() => {
        throw new Error(`reference server exited:\n${out}`)
      }),
    ])
  } catch (err) {
    child.kill('SIGKILL')
    await rm(home, { recursive: true, force: true })
    throw err
  }
  const keys = parseSecretFile(await readFile(join(path, 'secret'), 'utf8'))
  return {
    id: keys.id,
    port,
    wsPort,
    output: () => out,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT')
        const t = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(t)
      }
      await rm(home, { recursive: true, force: true })
    },
  }
}
