/**
 * A server (ours or the reference) as a child process for the benches: started in a home
 * directory laid out like `~/.ssb`, on 127.0.0.1 and a free port, with its output kept for the
 * error when it fails to listen, and stopped with SIGINT (SIGKILL after 10 s).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { type Keys, parseSecretFile } from '@scuttlekit/ssb-keys'
import { freePort, waitForPort } from '@scuttlekit/test-support'

export interface ServerProcess {
  home: string
  /** `<home>/.ssb` */
  path: string
  port: number
  keys: Keys
  child: ChildProcess
  /** `net:127.0.0.1:<port>~shs:<key>` */
  address: string
  /** Stops the process; removes `home` unless `keep`. */
  stop(keep?: boolean): Promise<void>
}

/**
 * Runs `node [BENCH_NODE_ARGS] <script> ...args(path, port)` with `HOME=home` and resolves once
 * it listens on `port`. `args` gets the data directory and the port to put on its command line.
 */
export async function spawnServer(
  home: string,
  script: string,
  args: (path: string, port: number) => Promise<string[]> | string[],
  listenTimeoutMs = 60_000,
): Promise<ServerProcess> {
  const path = join(home, '.ssb')
  const port = await freePort()
  // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, for every server process
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, script, ...(await args(path, port))], {
    env: { ...process.env, HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  const stop = async (keep = false) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGINT')
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    }
    if (!keep) rmSync(home, { recursive: true, force: true })
  }
  try {
    await waitForPort(port, listenTimeoutMs, child, () => out)
  } catch (err) {
    await stop()
    throw err
  }
  const keys = parseSecretFile(readFileSync(join(path, 'secret'), 'utf8'))
  const address = `net:127.0.0.1:${port}~shs:${keys.public.replace('.ed25519', '')}`
  return { home, path, port, keys, child, address, stop }
}
