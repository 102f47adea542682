/**
 * The database: ours (@scuttlekit/ssb-db) against npm ssb-db 20.4.1, in the same run, with the
 * reference set up two ways (see db-ref.cjs):
 * - ref: as ssb-server 16 sets it up — its index (secret-stack + ssb-caps, ssb-db) with the plugins
 *   of its bin.js that keep indexes or hook the database (ssb-private1, ssb-master, ssb-gossip,
 *   ssb-replicate, ssb-friends, ssb-query, ssb-links, ssb-ebt, ssb-ooo), no network listeners.
 *   Ratios and targets are against this column.
 * - bare: secret-stack + ssb-caps, ssb-db and ssb-private1 only; for information.
 * Every scenario of every side runs in its own child process (so peak RSS is per scenario); the
 * order of the sides alternates between runs, each scenario is repeated BENCH_RUNS times (default
 * 3; BENCH_BARE_RUNS can lower it for the bare column) and medians are printed.
 *
 *   npm run build && npm run bench:db --workspace bench
 *
 * BENCH_SIDES=ref,ours (any of ref, bare, ours) runs those sides only.
 */
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ChildOptions, type ChildResult, TEXT_PAD, writeFixture } from './db-common.js'
import { rate } from './lib/measure.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const BARE_RUNS = Math.min(RUNS, Number(process.env.BENCH_BARE_RUNS ?? RUNS))
const N = 10_000
const WINDOW = 100
/** messages published or added untimed first, so that both sides are measured warm */
const WARMUP = 2_000
const AUTHORS = 10
const BIG_AUTHORS = 100
const PER_AUTHOR_BIG = 1000
const CHUNK = 1000
const SIDES = (process.env.BENCH_SIDES ?? 'ref,bare,ours').split(',') as Side[]

type Side = 'ref' | 'bare' | 'ours'
type Scenario = 'publish' | 'add' | 'addBatch' | 'read' | 'build' | 'reopen'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'scuttlekit-db-bench-'))
let dirCount = 0
const freshDir = (): string => join(root, `db-${dirCount++}`)

// Our child runs in plain node, as the reference's does: its types are stripped here and the code
// handed to `node -e` (run from this folder, so its package imports resolve). Loading it through
// tsx instead would add about 50 MB of RSS to every measurement of ours.
const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript')
const oursCode = ts.transpileModule(readFileSync(join(here, 'db-ours.ts'), 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
}).outputText

function runChild(side: Side, scenario: Scenario, opts: ChildOptions): Promise<ChildResult> {
  const args =
    side === 'ours'
      ? ['--input-type=module', '-e', oursCode]
      : [
          join(here, 'db-ref.cjs'),
          scenario,
          JSON.stringify({ ...opts, setup: side === 'ref' ? 'server' : 'bare' }),
        ]
  const env = { ...process.env, BENCH_SCENARIO: scenario, BENCH_OPTS: JSON.stringify(opts) }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: here,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      out += d
    })
    // ssb-friends warns about its own legacy api on every start; anything else is passed on
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (d: string) => {
      err += d
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const rest = err
        .split('\n')
        .filter((l) => l && !l.startsWith('ssb-friends: stream legacy api used'))
        .join('\n')
      if (rest) process.stderr.write(`${rest}\n`)
      const line = out.split('\n').find((l) => l.startsWith('RESULT '))
      if (code !== 0 || !line) {
        const why = `${out}${rest}`.trim()
        reject(new Error(`${side} ${scenario} exited with ${code}${why ? `: ${why}` : ''}`))
      } else resolve(JSON.parse(line.slice(7)) as ChildResult)
    })
  })
}

/** Median; the mean of the middle two for an even count. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length / 2
  if (s.length === 0) return Number.NaN
  return s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2
}

// -- fixtures, made once per run with npm ssb-validate --------------------------------------------
let t = performance.now()
const smallFixture = join(root, 'foreign-10k.json')
writeFixture(smallFixture, AUTHORS, N / AUTHORS)
// Warm-up messages (other authors), added untimed before the timed ones on both sides.
const warmupFixture = join(root, 'warmup-2k.json')
writeFixture(warmupFixture, AUTHORS, WARMUP / AUTHORS, 1000)
const bigFixture = join(root, 'foreign-100k.json')
const bigAuthors = writeFixture(bigFixture, BIG_AUTHORS, PER_AUTHOR_BIG)
console.error(`fixtures made in ${((performance.now() - t) / 1000).toFixed(1)} s (${root})`)

// -- measurements ---------------------------------------------------------------------------------
type Metric =
  | 'publish'
  | 'add'
  | 'addBatch'
  | 'history'
  | 'log'
  | 'reopen'
  | 'reopenProc'
  | 'reopenQueries'
  | `mem:${Scenario}`
const results: Record<Side, Partial<Record<Metric, number[]>>> = { ref: {}, bare: {}, ours: {} }
const failures: string[] = []
const push = (side: Side, m: Metric, v: number): void => {
  const list = results[side][m] ?? []
  list.push(v)
  results[side][m] = list
}

async function measure(side: Side, scenario: Scenario, opts: ChildOptions): Promise<void> {
  let r: ChildResult
  try {
    r = await runChild(side, scenario, opts)
  } catch (err) {
    failures.push(`${side} ${scenario}: ${(err as Error).message.split('\n')[0]}`)
    return
  } finally {
    rmSync(opts.dir, { recursive: true, force: true })
  }
  push(side, `mem:${scenario}`, r.maxRSS / 1024)
  if (scenario === 'publish' || scenario === 'add' || scenario === 'addBatch') {
    push(side, scenario, rate(r.count!, r.ms!))
  } else if (scenario === 'read') {
    push(side, 'history', rate(r.count!, r.historyMs!))
    push(side, 'log', rate(r.count!, r.logMs!))
  } else if (scenario === 'reopen') {
    push(side, 'reopen', r.ms!)
    push(side, 'reopenProc', r.sinceStart!)
    // ours has no views that lag behind the log: its queries answer when its store does
    push(side, 'reopenQueries', r.queriesMs ?? r.ms!)
  }
}

// Stores for the reopen scenario: built once per side (not timed), copied fresh for every reopen.
const built: Partial<Record<Side, string>> = {}
for (const side of SIDES) {
  const dir = join(root, `big-${side}`)
  t = performance.now()
  try {
    await runChild(side, 'build', { dir, fixture: bigFixture, window: 1000, chunk: CHUNK })
    built[side] = dir
    console.error(`${side}: 100k store built in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  } catch (err) {
    failures.push(`${side} build: ${(err as Error).message.split('\n')[0]}`)
  }
}

for (let run = 0; run < RUNS; run++) {
  const sides = SIDES.filter((side) => side !== 'bare' || run < BARE_RUNS)
  const order: Side[] = run % 2 === 0 ? sides : [...sides].reverse()
  for (const side of order) {
    await measure(side, 'publish', {
      dir: freshDir(),
      count: N,
      warmup: WARMUP,
      window: WINDOW,
      textPad: TEXT_PAD,
    })
    await measure(side, 'add', {
      dir: freshDir(),
      fixture: smallFixture,
      warmupFixture,
      window: WINDOW,
    })
    if (side === 'ours') {
      await measure(side, 'addBatch', {
        dir: freshDir(),
        fixture: smallFixture,
        warmupFixture,
        chunk: CHUNK,
      })
    }
    await measure(side, 'read', { dir: freshDir(), fixture: smallFixture, window: WINDOW })
    const store = built[side]
    if (store) {
      const dir = freshDir()
      mkdirSync(dir)
      cpSync(store, dir, { recursive: true })
      await measure(side, 'reopen', {
        dir,
        author: bigAuthors[BIG_AUTHORS - 1],
        expectSequence: PER_AUTHOR_BIG,
      })
    }
  }
  console.error(`run ${run + 1}/${RUNS} done (${((performance.now() - t) / 1000).toFixed(0)} s)`)
}
rmSync(root, { recursive: true, force: true })

// -- report ---------------------------------------------------------------------------------------
const med = (side: Side, m: Metric): number => median(results[side][m] ?? [])
const fmtNum = (x: number, unit: string): string =>
  Number.isNaN(x) ? 'n/a' : `${Math.round(x).toLocaleString('en-US')}${unit}`
const fmtRatio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a')

interface Row {
  label: string
  ref: number
  bare: number
  ours: number
  unit: string
  target: string
  /** true when ours/ref must be at least `want`; false when at most `want` */
  atLeast?: boolean
  want?: number
}
const rows: Row[] = []
function row(label: string, m: Metric, unit: string, target?: { atLeast: boolean; want: number }) {
  const r: Row = {
    label,
    ref: med('ref', m),
    bare: med('bare', m),
    ours: med('ours', m),
    unit,
    target: '',
  }
  if (target) {
    r.atLeast = target.atLeast
    r.want = target.want
    r.target = `${target.atLeast ? '>=' : '<='} ${target.want.toFixed(2)}x`
  }
  rows.push(r)
}
row(`publish ${N / 1000}k, ${WINDOW} in flight, after ${WARMUP / 1000}k warm-up`, 'publish', '/s', {
  atLeast: true,
  want: 5,
})
row(
  `add ${N / 1000}k foreign (${AUTHORS} authors), ${WINDOW} in flight, after warm-up`,
  'add',
  '/s',
  {
    atLeast: true,
    want: 3,
  },
)
rows.push({
  label: `  ours addBatch, chunks of ${CHUNK} (vs ref add)`,
  ref: med('ref', 'add'),
  bare: med('bare', 'add'),
  ours: med('ours', 'addBatch'),
  unit: '/s',
  target: '',
})
row(`createHistoryStream, ${AUTHORS} authors (best of 3 passes)`, 'history', '/s', {
  atLeast: true,
  want: 3,
})
row('createLogStream (best of 3 passes)', 'log', '/s', { atLeast: true, want: 3 })
const big = `${(BIG_AUTHORS * PER_AUTHOR_BIG) / 1000}k`
row(`reopen ${big} -> answers (getLatest + history, views in sync)`, 'reopen', ' ms', {
  atLeast: false,
  want: 0.1,
})
row('  same, counted from process start', 'reopenProc', ' ms')
row('  getLatest + history answered, views maybe not in sync', 'reopenQueries', ' ms')
for (const [s, label] of [
  ['publish', 'publish'],
  ['add', 'add'],
  ['addBatch', 'addBatch (vs ref add)'],
  ['read', 'read (incl. loading 10k)'],
  ['reopen', 'reopen'],
] as Array<[Scenario, string]>) {
  const refM: Metric = s === 'addBatch' ? 'mem:add' : `mem:${s}`
  rows.push({
    label: `peak RSS, ${label}`,
    ref: med('ref', refM),
    bare: med('bare', refM),
    ours: med('ours', `mem:${s}`),
    unit: ' MB',
    target: '<= 1.00x',
    atLeast: false,
    want: 1,
  })
}

const header = [
  'scenario',
  'ref (ssb-server setup)',
  'ref bare ssb-db',
  'ours',
  'ours/ref',
  'target',
]
const table = rows.map((r) => {
  const ratio = r.ours / r.ref
  const met =
    r.want === undefined || !Number.isFinite(ratio)
      ? ''
      : (r.atLeast ? ratio >= r.want : ratio <= r.want)
        ? '  ok'
        : '  MISSED'
  return [
    r.label,
    fmtNum(r.ref, r.unit),
    fmtNum(r.bare, r.unit),
    fmtNum(r.ours, r.unit),
    fmtRatio(ratio),
    r.target + met,
  ]
})
const widths = header.map((h, i) => Math.max(h.length, ...table.map((cells) => cells[i]!.length)))
const line = (cells: string[]): string =>
  cells
    .map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
    .join('  ')
    .trimEnd()
const runsOf = (side: Side): number => (side === 'bare' ? BARE_RUNS : RUNS)
console.log(`
ssb-db: ours (@scuttlekit/ssb-db) vs npm ssb-db 20.4.1; medians of ${runsOf('ref')} runs (bare: ${runsOf('bare')})
  ref (ssb-server setup): ssb-server 16.0.1's index (secret-stack 6 + ssb-caps, ssb-db 20.4.1) with
      ssb-private1, ssb-master, ssb-gossip, ssb-replicate, ssb-friends, ssb-query, ssb-links,
      ssb-ebt, ssb-ooo (the plugins of its bin.js that keep indexes or hook the database; no network
      listeners, no connections). Ratios and targets are against this column.
  ref bare ssb-db: secret-stack 6 + ssb-caps, ssb-db 20.4.1, ssb-private1 only (for information).
  ours/ref: ours divided by ref for every row (rates: higher is better; times and memory: lower).`)
console.log(`\n  ${line(header)}`)
for (const cells of table) console.log(`  ${line(cells)}`)
console.log(`
  durability (publish, add): the reference never fsyncs (its flumelog-offset appends go to the
  page cache, so a power loss can drop acknowledged messages); ours fsyncs every commit group
  before acknowledging its messages.`)
if (failures.length) {
  console.log('\nfailed child processes:')
  for (const f of failures) console.log(`  ${f}`)
}
