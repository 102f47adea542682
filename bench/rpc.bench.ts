/**
 * RPC: our server against ssb-server 16 from npm, in the same run. Each server runs as its own
 * process, started the way users start it (`ssb-server start`, on 127.0.0.1 and a free port), with
 * a fresh data directory for every run. The clients run in this process:
 * - npm ssb-client 4.9.0 against both servers, so that the servers are compared with one client;
 * - our client against ours, for information.
 *
 * Scenarios, each repeated BENCH_RUNS times (default 3), medians printed:
 * - round trip: 500 sequential `whoami` calls; the median latency of one call;
 * - publish: 5,000 `publish` calls with 100 in flight; messages per second;
 * - history: `createHistoryStream` of those 5,000 messages; messages per second.
 *
 *   npm run build && npm run bench:rpc --workspace bench
 */
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { connectClient } from '@scuttlekit/ssb-client'
import type { Keys } from '@scuttlekit/ssb-keys'
import { freePort } from '@scuttlekit/test-support'
import { fmtRate, printTable, rate } from './lib/measure.js'
import { spawnServer } from './lib/server-process.js'

const require = createRequire(import.meta.url)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const CALLS = 500
const N = Number(process.env.BENCH_RPC_N ?? 5000)
const WINDOW = 100
const SHS = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

const here = dirname(fileURLToPath(import.meta.url))
const REF_BIN = join(dirname(require.resolve('ssb-server/package.json')), 'bin.js')
const OUR_BIN = join(here, '..', 'apps', 'ssb-server', 'dist', 'bin.js')

type Server = 'ref' | 'ours'
type ClientKind = 'npm' | 'ours'

interface Running {
  port: number
  keys: Keys
  path: string
  stop(): Promise<void>
}

async function startServer(side: Server): Promise<Running> {
  const home = mkdtempSync(join(tmpdir(), `rpc-bench-${side}-`))
  const server = await spawnServer(
    home,
    side === 'ref' ? REF_BIN : OUR_BIN,
    async (path, port) => {
      const args = ['start', '--path', path, '--host', '127.0.0.1', '--port', String(port)]
      if (side === 'ref') args.push('--ws.port', String(await freePort()))
      return args
    },
    30_000,
  )
  return { port: server.port, keys: server.keys, path: server.path, stop: () => server.stop() }
}

/** The calls a scenario needs, whichever client makes them. */
interface Calls {
  whoami(): Promise<unknown>
  publish(content: object): Promise<unknown>
  history(id: string): Promise<number>
  close(): Promise<void>
}

type Cb<T> = (err: Error | null, v?: T) => void
const pull = require('pull-stream') as {
  (...s: unknown[]): unknown
  drain(op: () => void, done: (err: unknown) => void): unknown
}

async function npmClient(server: Running): Promise<Calls> {
  interface NpmClient {
    whoami(cb: Cb<unknown>): void
    publish(content: object, cb: Cb<unknown>): void
    createHistoryStream(opts: object): unknown
    close(cb: Cb<void>): void
  }
  const ssbClient = require('ssb-client') as (k: object, o: object, cb: Cb<NpmClient>) => void
  const c = await new Promise<NpmClient>((resolve, reject) =>
    ssbClient(
      server.keys,
      { host: '127.0.0.1', port: server.port, caps: { shs: SHS }, path: server.path },
      (err, client) => (err ? reject(err) : resolve(client!)),
    ),
  )
  const p = <T>(fn: (cb: Cb<T>) => void) =>
    new Promise<T>((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v as T))))
  return {
    whoami: () => p((cb) => c.whoami(cb)),
    publish: (content) => p((cb) => c.publish(content, cb)),
    history: (id) =>
      new Promise((resolve, reject) => {
        let n = 0
        pull(
          c.createHistoryStream({ id }),
          pull.drain(
            () => {
              n++
            },
            (err: unknown) => (err && err !== true ? reject(err) : resolve(n)),
          ),
        )
      }),
    close: () => p<void>((cb) => c.close(cb)),
  }
}

async function ourClient(server: Running): Promise<Calls> {
  const c = await connectClient({
    config: { path: server.path, keys: server.keys, host: '127.0.0.1', port: server.port },
    remote: `net:127.0.0.1:${server.port}~shs:${server.keys.public.replace('.ed25519', '')}`,
  })
  return {
    whoami: () => c.whoami(),
    publish: (content) => c.call('publish', content),
    history: async (id) => {
      let n = 0
      for await (const _ of c.source('createHistoryStream', { id })) n++
      return n
    },
    close: () => c.close(),
  }
}

interface Result {
  rttMs: number
  publish: number
  history: number
}

async function measure(side: Server, kind: ClientKind): Promise<Result> {
  const server = await startServer(side)
  try {
    const calls = kind === 'npm' ? await npmClient(server) : await ourClient(server)
    try {
      // round trips
      const times: number[] = []
      for (let i = 0; i < CALLS; i++) {
        const t0 = performance.now()
        await calls.whoami()
        times.push(performance.now() - t0)
      }
      times.sort((a, b) => a - b)
      const rttMs = times[Math.floor(times.length / 2)]!
      // publish with WINDOW in flight
      let next = 0
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: WINDOW }, async () => {
          while (next < N) {
            const i = next++
            await calls.publish({ type: 'post', text: `message ${i}`, n: i })
          }
        }),
      )
      const publish = rate(N, performance.now() - t0)
      const t1 = performance.now()
      const read = await calls.history(server.keys.id)
      if (read !== N) throw new Error(`history returned ${read} of ${N}`)
      const history = rate(N, performance.now() - t1)
      return { rttMs, publish, history }
    } finally {
      await calls.close()
    }
  } finally {
    await server.stop()
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const combos: Array<[Server, ClientKind]> = [
  ['ref', 'npm'],
  ['ours', 'npm'],
  ['ours', 'ours'],
]
const results = new Map<string, Result[]>()
for (let run = 0; run < RUNS; run++) {
  const order = run % 2 ? [...combos].reverse() : combos
  for (const [side, kind] of order) {
    const r = await measure(side, kind)
    const key = `${side}/${kind}`
    results.set(key, [...(results.get(key) ?? []), r])
    console.error(`run ${run + 1} ${key}: ${JSON.stringify(r)}`)
  }
}

const med = (key: string, f: keyof Result) => median(results.get(key)!.map((r) => r[f]))
const rows: Array<[string, string]> = []
for (const [side, kind] of combos) {
  const key = `${side}/${kind}`
  rows.push([
    `${side === 'ref' ? 'ssb-server 16' : 'ours'} server, ${kind} client`,
    `rtt ${med(key, 'rttMs').toFixed(2)} ms, publish ${fmtRate(med(key, 'publish'))}, history ${fmtRate(med(key, 'history'))}`,
  ])
}
const ratio = (f: keyof Result, inverse = false) => {
  const r = med('ours/npm', f) / med('ref/npm', f)
  return `${(inverse ? 1 / r : r).toFixed(2)}x`
}
rows.push(['round trip, ref time / ours (same client)', ratio('rttMs', true)])
rows.push(['publish over RPC, ours / ref (target 5x)', ratio('publish')])
rows.push(['history over RPC, ours / ref', ratio('history')])
printTable(`RPC, ${N} messages, ${WINDOW} in flight, medians of ${RUNS}`, rows)
