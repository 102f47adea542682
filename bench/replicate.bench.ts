/**
 * Replication: one feed of N messages (10,000 and 50,000) from server A to server B, ours against
 * ssb-server 16 in the same run, each server its own process:
 * - ref EBT: `ssb-server start`'s plugins (ref-server.cjs ebt);
 * - ref legacy: the same without ssb-ebt, so ssb-replicate's createHistoryStream runs at once;
 * - ours: `ssb-server start` of apps/ssb-server.
 * A's feed is filled first (untimed; the reference's is filled once and its data directory copied
 * for the other mode). B follows A with a `contact` message. The clock runs from B's
 * `gossip.connect(A)` until B's `latestSequence(A)` is N; B's peak RSS (VmHWM) is read after.
 *
 *   npm run build && npm run bench:replicate --workspace bench
 *
 * BENCH_REPLICATE_N=10000,50000 (default) and BENCH_RUNS=1 (default) set the sizes and repeats.
 */
import type { ChildProcess } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { connectClient, type SsbClient } from '@scuttlekit/ssb-client'
import type { Keys } from '@scuttlekit/ssb-keys'
import { fmtRate, printTable, rate } from './lib/measure.js'
import { spawnServer } from './lib/server-process.js'

const SIZES = (process.env.BENCH_REPLICATE_N ?? '10000,50000').split(',').map(Number)
const RUNS = Number(process.env.BENCH_RUNS ?? 1)
const WINDOW = 100
const SIDES = (process.env.BENCH_SIDES ?? 'ref-ebt,ref-legacy,ours').split(',') as Side[]
const here = dirname(fileURLToPath(import.meta.url))
const OUR_BIN = join(here, '..', 'apps', 'ssb-server', 'dist', 'bin.js')
const REF_LAUNCHER = join(here, 'ref-server.cjs')

type Side = 'ours' | 'ref-ebt' | 'ref-legacy'

interface Node {
  path: string
  home: string
  port: number
  keys: Keys
  child: ChildProcess
  client: SsbClient
  address: string
  stop(keep?: boolean): Promise<void>
}

async function startNode(side: Side, home?: string): Promise<Node> {
  home ??= mkdtempSync(join(tmpdir(), `replicate-bench-${side}-`))
  const server = await spawnServer(home, side === 'ours' ? OUR_BIN : REF_LAUNCHER, (path, port) => {
    const flags = ['--path', path, '--host', '127.0.0.1', '--port', String(port)]
    // no LAN discovery, so that the nodes of a run find each other only through gossip.connect
    flags.push('--gossip.local', 'false')
    return side === 'ours' ? ['start', ...flags] : [side === 'ref-ebt' ? 'ebt' : 'legacy', ...flags]
  })
  const { path, port, keys, address } = server
  const client = await connectClient({
    config: { path, keys, host: '127.0.0.1', port },
    remote: address,
  })
  return {
    path,
    home,
    port,
    keys,
    child: server.child,
    client,
    address,
    async stop(keep = false) {
      await client.close().catch(() => {})
      await server.stop(keep)
    },
  }
}

async function fill(node: Node, n: number): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: WINDOW }, async () => {
      while (next < n) {
        const i = next++
        await node.client.call('publish', { type: 'post', text: `message ${i} of the bench`, i })
      }
    }),
  )
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

async function latest(client: SsbClient, id: string): Promise<number> {
  try {
    return (await client.call('latestSequence', id)) as number
  } catch {
    return 0
  }
}

interface Result {
  ms: number
  rssMb: number
}

async function replicateOnce(side: Side, aHome: string, n: number): Promise<Result> {
  // A from a copy of the filled directory, B fresh
  const home = mkdtempSync(join(tmpdir(), `replicate-bench-${side}-a-`))
  cpSync(aHome, home, { recursive: true })
  rmSync(join(home, '.ssb', 'socket'), { force: true })
  const a = await startNode(side, home)
  const b = await startNode(side)
  try {
    if ((await latest(a.client, a.keys.id)) !== n) throw new Error(`${side}: A does not hold ${n}`)
    await b.client.call('publish', { type: 'contact', contact: a.keys.id, following: true })
    const t0 = performance.now()
    await b.client.call('gossip.connect', a.address)
    const deadline = Date.now() + 600_000
    while ((await latest(b.client, a.keys.id)) < n) {
      if (Date.now() > deadline) throw new Error(`${side}: replication of ${n} timed out`)
      await new Promise((r) => setTimeout(r, 25))
    }
    const ms = performance.now() - t0
    return { ms, rssMb: peakRssMb(b.child.pid!) }
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

/** Fills a feed of `n` messages on a fresh node of `side` and keeps its directory. */
async function filledHome(side: Side, n: number): Promise<string> {
  const a = await startNode(side)
  await fill(a, n)
  await a.stop(true)
  return a.home
}

const rows: Array<[string, string]> = []
for (const n of SIZES) {
  const oursHome = SIDES.includes('ours') ? await filledHome('ours', n) : ''
  const refHome = SIDES.some((s) => s !== 'ours') ? await filledHome('ref-ebt', n) : ''
  const results: Record<Side, Result[]> = { ours: [], 'ref-ebt': [], 'ref-legacy': [] }
  for (let run = 0; run < RUNS; run++) {
    for (const side of SIDES) {
      const r = await replicateOnce(side, side === 'ours' ? oursHome : refHome, n)
      results[side].push(r)
      console.error(
        `${n} ${side}: ${(r.ms / 1000).toFixed(2)} s, peak RSS ${r.rssMb.toFixed(0)} MB`,
      )
    }
  }
  if (oursHome) rmSync(oursHome, { recursive: true, force: true })
  if (refHome) rmSync(refHome, { recursive: true, force: true })
  const med = (side: Side, f: keyof Result) =>
    results[side].map((r) => r[f]).sort((x, y) => x - y)[Math.floor(results[side].length / 2)]!
  for (const side of SIDES) {
    rows.push([
      `${n} messages, ${side}`,
      `${(med(side, 'ms') / 1000).toFixed(2)} s (${fmtRate(rate(n, med(side, 'ms')))}), B peak RSS ${med(side, 'rssMb').toFixed(0)} MB`,
    ])
  }
  if (SIDES.length === 3) {
    const fastestRef = Math.min(med('ref-ebt', 'ms'), med('ref-legacy', 'ms'))
    rows.push([
      `${n} messages, ours vs fastest ref (target 3x)`,
      `${(fastestRef / med('ours', 'ms')).toFixed(2)}x`,
    ])
  }
}
printTable(`Replication of one feed, A → B, medians of ${RUNS}`, rows)
