/**
 * Blob transfer between two nodes, A → B, ours against ssb-server 16 in the same run, each server
 * its own process (issue 6; the want/have protocol is ssb-protocol.md §6.3):
 * - ref: ssb-server 16 from npm through ref-server.cjs `ebt` (the plugins of `ssb-server start`
 *   without LAN discovery, ws and onion, none of which takes part in a blob transfer; with the
 *   real `ssb-server start`, `--gossip.local false` arrives as the string "false" from minimist
 *   and ssb-local would still announce on the LAN);
 * - ours: `ssb-server start` of apps/ssb-server, with its defaults.
 *
 * Cases: one blob of exactly 5 MiB (5,242,880 bytes; 5 MiB - 1 byte for the reference, see below),
 * and 1,000 blobs of 1-16 KiB. The bytes come from AES-256-CTR with fixed keys, so both sides get
 * the same blobs in every run.
 *
 * Per side and run, untimed: fresh A and B (`--host 127.0.0.1 --port <free> --gossip.local
 * false`); the blobs are added on A through `blobs.add` as a sink (as `ssb-server blobs.add` does)
 * and checked there with `blobs.size`; B calls `gossip.connect(A)` and we poll B's `gossip.peers`
 * until A is `connected`, then wait SETTLE_MS more so that the `blobs.createWants` streams both
 * nodes open on connect have exchanged their first (empty) frames.
 * Timed: B's `blobs.want(id)` for every blob at once; the clock stops when all have resolved.
 * Then B's peak RSS (VmHWM) is read, and every blob is checked on B (untimed) with `blobs.size`
 * and the sha256 of `blobs.get`.
 *
 * Why the reference moves 5,242,879 bytes instead of 5 MiB (two defects of ssb-server 16, checked
 * with this bench's knobs; ours runs with its defaults and takes exactly 5 MiB, its cap being
 * inclusive):
 * - ssb-blobs 1.2.2 fetches a blob only when its advertised size is `< blobs.max` (default 5 MiB),
 *   so with its defaults a 5 MiB blob is never fetched (§6.3). Checked with a 1,000,000-byte blob
 *   and `--blobs.max 1000000`: B's `blobs.want` never resolves; with 999,999 bytes it does.
 * - Raising the limit (`--blobs.max 5242881`) does not help: the serving side's `blobs.get` reads
 *   the file with pull-file, which ends a file whose size is a multiple of 65,536 with an empty
 *   Buffer. That goes out as a zero-length muxrpc frame, which the receiver takes for a goodbye
 *   (§4.3): the connection is torn down ("unexpected end of parent stream"), gossip reconnects,
 *   fetches again and fails again (for 60 s, when checked). Checked: 65,536, 131,072, 1 MiB and 5 MiB are never
 *   transferred between two reference nodes; 131,073 and 5,242,879 are.
 * So the reference's largest transferable blob at its defaults is 5 MiB - 1 byte, and that is what
 * it gets; it runs with its defaults. BENCH_REF_BIG=5242880 BENCH_REF_MAX=5242881 shows the
 * failure (the timed phase gives up after BENCH_WANT_TIMEOUT_S).
 *
 *   npm run build && npm run bench:blobs --workspace bench
 *
 * BENCH_RUNS=1 (default) repeats, medians printed; BENCH_SIDES=ref,ours (default);
 * BENCH_BLOBS_CASES=big,small (default); BENCH_REF_BIG (default 5242879) sizes the reference's big
 * blob; BENCH_REF_MAX (default: not passed) sets the reference's `--blobs.max`;
 * BENCH_WANT_TIMEOUT_S=120 bounds the timed phase; BENCH_NODE_ARGS (e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof`) are passed to node for every server process. MB are 10^6 bytes; ours/ref throughput is the
 * ratio of MB/s.
 */
import type { ChildProcess } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { connectClient, type SsbClient } from '@scuttlekit/ssb-client'
import type { Keys } from '@scuttlekit/ssb-keys'
import { fmtRate, printTable, rate } from './lib/measure.js'
import { spawnServer } from './lib/server-process.js'

type Side = 'ours' | 'ref'
type CaseName = 'big' | 'small'

const RUNS = Number(process.env.BENCH_RUNS ?? 1)
const SIDES = (process.env.BENCH_SIDES ?? 'ref,ours').split(',') as Side[]
const CASES = (process.env.BENCH_BLOBS_CASES ?? 'big,small').split(',') as CaseName[]
const REF_MAX = process.env.BENCH_REF_MAX ?? 'default'
const REF_BIG = Number(process.env.BENCH_REF_BIG ?? 5 * 1024 * 1024 - 1)
const WANT_TIMEOUT_MS = Number(process.env.BENCH_WANT_TIMEOUT_S ?? 120) * 1000
const SETTLE_MS = 300
/** Sinks to A in flight while adding, and blobs checked at once on B. */
const WINDOW = 16
/** The chunk size of our sink into `blobs.add` and of the reference's remote `blobs.get` (§6.1). */
const CHUNK = 65536
const MIB = 1024 * 1024
const here = dirname(fileURLToPath(import.meta.url))
const OUR_BIN = join(here, '..', 'apps', 'ssb-server', 'dist', 'bin.js')
const REF_LAUNCHER = join(here, 'ref-server.cjs')

interface Blob {
  id: string
  bytes: Buffer
}

/** `n` pseudo-random bytes, the same for the same `seed` in every run (AES-256-CTR of zeros). */
function seededBytes(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest()
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n))
}

/** `&<base64 sha256>.sha256` (§6.1). */
function blobId(bytes: Uint8Array): string {
  return `&${createHash('sha256').update(bytes).digest('base64')}.sha256`
}

/** The blobs of a case; the big one is smaller by a byte for the reference (see the header). */
function makeBlobs(name: CaseName, side: Side): Blob[] {
  if (name === 'big') {
    const bytes = seededBytes('blobs-bench big', side === 'ours' ? 5 * MIB : REF_BIG)
    return [{ id: blobId(bytes), bytes }]
  }
  const n = 1000
  const sizes = seededBytes('blobs-bench sizes', 2 * n)
  const all = seededBytes('blobs-bench small', n * 16 * 1024)
  const out: Blob[] = []
  let at = 0
  for (let i = 0; i < n; i++) {
    const size = 1024 + (sizes.readUInt16LE(2 * i) % (15 * 1024 + 1))
    const bytes = all.subarray(at, at + size)
    at += size
    out.push({ id: blobId(bytes), bytes })
  }
  return out
}

interface Node {
  keys: Keys
  child: ChildProcess
  client: SsbClient
  address: string
  stop(): Promise<void>
}

async function startNode(side: Side, role: 'a' | 'b'): Promise<Node> {
  const home = mkdtempSync(join(tmpdir(), `blobs-bench-${side}-${role}-`))
  const server = await spawnServer(home, side === 'ours' ? OUR_BIN : REF_LAUNCHER, (path, port) => {
    const flags = ['--path', path, '--host', '127.0.0.1', '--port', String(port)]
    // no LAN discovery, so that the nodes of a run find each other only through gossip.connect
    flags.push('--gossip.local', 'false')
    if (side === 'ref' && REF_MAX !== 'default') flags.push('--blobs.max', REF_MAX)
    return side === 'ours' ? ['start', ...flags] : ['ebt', ...flags]
  })
  try {
    const { path, port, keys, address } = server
    const client = await connectClient({
      config: { path, keys, host: '127.0.0.1', port },
      remote: address,
    })
    return {
      keys,
      child: server.child,
      client,
      address,
      async stop() {
        await client.close().catch(() => {})
        await server.stop()
      },
    }
  } catch (err) {
    await server.stop()
    throw err
  }
}

/** Runs `fn` over `items` with at most `window` calls in flight. */
async function each<T>(items: T[], window: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(window, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

async function* chunks(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += CHUNK) yield bytes.subarray(at, at + CHUNK)
}

async function sizeOf(client: SsbClient, id: string): Promise<number | null> {
  return (await client.call('blobs.size', id)) as number | null
}

/** Adds every blob on A and waits until A reports each at its full size. */
async function addAll(side: Side, a: Node, blobs: Blob[]): Promise<void> {
  await each(blobs, WINDOW, async (blob) => {
    await a.client.sink(['blobs', 'add'], [], chunks(blob.bytes))
    const deadline = Date.now() + 10_000
    while ((await sizeOf(a.client, blob.id)) !== blob.bytes.length) {
      if (Date.now() > deadline) throw new Error(`${side}: A did not store ${blob.id}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  })
}

/** B connects to A; resolves once B's `gossip.peers` shows A connected, and SETTLE_MS more. */
async function connect(side: Side, a: Node, b: Node): Promise<void> {
  await b.client.call('gossip.connect', a.address)
  const deadline = Date.now() + 30_000
  for (;;) {
    const peers = (await b.client.call('gossip.peers')) as Array<{ key?: string; state?: string }>
    if (peers.some((p) => p.key === a.keys.id && p.state === 'connected')) break
    if (Date.now() > deadline) throw new Error(`${side}: B did not connect to A`)
    await new Promise((r) => setTimeout(r, 25))
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS))
}

/** Every blob on B at its size and with its bytes (sha256 of `blobs.get`). */
async function verify(side: Side, b: Node, blobs: Blob[]): Promise<void> {
  await each(blobs, WINDOW, async (blob) => {
    const size = await sizeOf(b.client, blob.id)
    if (size !== blob.bytes.length) {
      throw new Error(`${side}: B has ${blob.id} at size ${size}, not ${blob.bytes.length}`)
    }
    const hash = createHash('sha256')
    for await (const chunk of b.client.source<Uint8Array>('blobs.get', blob.id)) hash.update(chunk)
    const got = `&${hash.digest('base64')}.sha256`
    if (got !== blob.id) throw new Error(`${side}: B's ${blob.id} reads back as ${got}`)
  })
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

interface Result {
  ms: number
  rssMb: number
}

async function transferOnce(side: Side, name: CaseName, blobs: Blob[]): Promise<Result> {
  const [a, b] = await Promise.all([startNode(side, 'a'), startNode(side, 'b')])
  try {
    await addAll(side, a, blobs)
    await connect(side, a, b)
    let resolved = 0
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${side} ${name}: ${resolved} of ${blobs.length} wants resolved in ${WANT_TIMEOUT_MS / 1000} s`,
            ),
          ),
        WANT_TIMEOUT_MS,
      )
    })
    const t0 = performance.now()
    try {
      await Promise.race([
        Promise.all(
          blobs.map(async (blob) => {
            const ok = await b.client.call('blobs.want', blob.id)
            if (ok !== true) throw new Error(`${side}: want(${blob.id}) gave ${String(ok)}`)
            resolved++
          }),
        ),
        timeout,
      ])
    } finally {
      clearTimeout(timer)
    }
    const ms = performance.now() - t0
    const rssMb = peakRssMb(b.child.pid!)
    await verify(side, b, blobs)
    return { ms, rssMb }
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

const LABELS: Record<CaseName, string> = {
  big: 'one 5 MiB blob',
  small: '1,000 blobs of 1-16 KiB',
}

const rows: Array<[string, string]> = []
let failed = false
for (const name of CASES) {
  const blobsOf = { ours: makeBlobs(name, 'ours'), ref: makeBlobs(name, 'ref') }
  const results: Record<Side, Result[]> = { ours: [], ref: [] }
  for (let run = 0; run < RUNS; run++) {
    for (const side of SIDES) {
      try {
        const r = await transferOnce(side, name, blobsOf[side])
        results[side].push(r)
        console.error(
          `${LABELS[name]}, ${side}: ${(r.ms / 1000).toFixed(3)} s, B peak RSS ${r.rssMb.toFixed(0)} MB`,
        )
      } catch (err) {
        failed = true
        console.error(`${LABELS[name]}, ${side}: FAILED: ${(err as Error).stack ?? err}`)
      }
    }
  }
  const med = (side: Side, f: keyof Result) =>
    results[side].map((r) => r[f]).sort((x, y) => x - y)[Math.floor(results[side].length / 2)]
  /** MB/s of the median time (MB = 10^6 bytes). */
  const mbps = (side: Side) => {
    const ms = med(side, 'ms')
    const bytes = blobsOf[side].reduce((n, b) => n + b.bytes.length, 0)
    return ms === undefined ? undefined : bytes / 1e6 / (ms / 1000)
  }
  for (const side of SIDES) {
    const ms = med(side, 'ms')
    const rss = med(side, 'rssMb')
    const label = `${LABELS[name]}, ${side}`
    if (ms === undefined || rss === undefined) {
      rows.push([label, 'failed'])
      continue
    }
    const blobs = blobsOf[side]
    const bytes = blobs.length === 1 ? ` (${blobs[0]!.bytes.length.toLocaleString('en-US')} B)` : ''
    rows.push([
      label,
      `${(ms / 1000).toFixed(3)} s, ${fmtRate(rate(blobs.length, ms))} blobs, ${mbps(side)!.toFixed(1)} MB/s, B peak RSS ${rss.toFixed(0)} MB${bytes}`,
    ])
  }
  const [oursRate, refRate] = [mbps('ours'), mbps('ref')]
  const [oursRss, refRss] = [med('ours', 'rssMb'), med('ref', 'rssMb')]
  if (oursRate && refRate && oursRss && refRss) {
    rows.push([
      `${LABELS[name]}, ours/ref`,
      `throughput ${(oursRate / refRate).toFixed(2)}x, B peak RSS ${(oursRss / refRss).toFixed(2)}x`,
    ])
  }
}
printTable(`Blob transfer A → B, medians of ${RUNS}`, rows)
if (failed) process.exitCode = 1
