/**
 * Fault tests of the storage layer (bad-inputs.md §3): crashes, damaged files, lost indexes,
 * a second opener, poison boxed content and a full disk. Each test works in its own temp dir.
 *
 * Random choices come from a seeded generator; the seed is printed as a diagnostic and can be
 * fixed with FAULT_SEED=<n> to replay a failure.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { multibox } from '@scuttlekit/private-box'
import { Log, type Logger, openDb, type SsbDb } from '@scuttlekit/ssb-db'
import {
  boxContent,
  ed25519PublicToCurve25519,
  generateKeys,
  type Keys,
  publicKeyOf,
} from '@scuttlekit/ssb-keys'
import { createMessage, type FeedState, type KVT, type MsgValue } from '@scuttlekit/ssb-validate'

const PKG = fileURLToPath(new URL('..', import.meta.url))
const HELPERS = fileURLToPath(new URL('./helpers/', import.meta.url))

// ------------------------------------------------------------------------------ helpers

const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31))

/** mulberry32: a small seeded generator, so that a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function tmpDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-db-faults-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

interface Logged {
  level: 'warn' | 'error'
  msg: string
  obj: Record<string, unknown>
}

/** A logger that records warnings and errors. */
function capture(): { logger: Logger; logged: Logged[]; warned(re: RegExp): Logged[] } {
  const logged: Logged[] = []
  const logger: Logger = {
    warn: (obj, msg) => logged.push({ level: 'warn', msg, obj: obj as Record<string, unknown> }),
    error: (obj, msg) => logged.push({ level: 'error', msg, obj: obj as Record<string, unknown> }),
    info: () => {},
    debug: () => {},
  }
  return { logger, logged, warned: (re) => logged.filter((l) => re.test(l.msg)) }
}

const silent: Logger = { warn() {}, info() {}, debug() {}, error() {} }

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function logKeys(db: SsbDb): Promise<string[]> {
  return (await collect(db.createLogStream({ keys: true, values: false }))) as string[]
}

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as Error).name
  }
  return 'resolved'
}

interface Rec {
  offset: number
  next: number
  kvt: KVT | null
}

/** Every record of the log file of `dir`, read with a second handle, and the damage seen. */
async function scanLog(dir: string): Promise<{ records: Rec[]; corrupt: [number, number][] }> {
  const corrupt: [number, number][] = []
  const records: Rec[] = []
  const log = await Log.open(path.join(dir, 'log'), silent)
  try {
    for await (const r of log.scan({ onCorrupt: (a, b) => corrupt.push([a, b]) })) {
      records.push({
        offset: r.offset,
        next: r.next,
        kvt: r.payload === null ? null : (JSON.parse(r.payload.toString('utf8')) as KVT),
      })
    }
  } finally {
    await log.close()
  }
  return { records, corrupt }
}

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

interface ChildResult {
  lines: string[]
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
}

/**
 * Runs a helper script with tsx. `kill.afterReady` sends SIGKILL that many ms after the child
 * printed `ready`; `kill.afterSpawn` that many ms after it started. `shell` wraps the command
 * (`$@` is the node command line).
 */
function runHelper(
  script: string,
  args: string[],
  opts: { kill?: { afterReady?: number; afterSpawn?: number }; shell?: string } = {},
): Promise<ChildResult> {
  const argv = ['--import', 'tsx', path.join(HELPERS, script), ...args]
  const child = opts.shell
    ? spawn('sh', ['-c', `${opts.shell}; exec "$@"`, 'sh', process.execPath, ...argv], {
        cwd: PKG,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, argv, { cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    let armed = false
    const kill = opts.kill
    let timer: NodeJS.Timeout | undefined
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      out += d
      if (kill?.afterReady !== undefined && !armed && out.startsWith('ready\n')) {
        armed = true
        timer = setTimeout(() => child.kill('SIGKILL'), kill.afterReady)
      }
    })
    child.stderr.on('data', (d: string) => {
      err += d
    })
    if (kill?.afterSpawn !== undefined) {
      timer = setTimeout(() => child.kill('SIGKILL'), kill.afterSpawn)
    }
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      // Only whole lines count: a line is written in one synchronous write, after its ack.
      const lines = out.split('\n')
      lines.pop()
      resolve({ lines, code, signal, stderr: err })
    })
  })
}

/** The next message of `keys`' feed after `state`. */
function next(
  state: FeedState | null,
  keys: Keys,
  content: Record<string, unknown> | string,
): { id: string; value: MsgValue } {
  const m = createMessage(state, keys, content, Date.now())
  return { id: m.id, value: m.value }
}

async function stateOf(db: SsbDb, feed: string): Promise<FeedState | null> {
  const s = await db.getFeedState(feed)
  // createMessage reads only id and sequence.
  return s.id ? { id: s.id, sequence: s.sequence, timestamp: 0 } : null
}

/** Adds `count` chained messages of `keys`' feed to `db`. */
async function addForeign(
  db: SsbDb,
  keys: Keys,
  count: number,
  content: (i: number) => Record<string, unknown> | string,
): Promise<KVT[]> {
  let state = await stateOf(db, keys.id)
  const msgs: MsgValue[] = []
  for (let i = 0; i < count; i++) {
    const m = next(state, keys, content(i))
    msgs.push(m.value)
    state = { id: m.id as FeedState['id'], sequence: m.value.sequence, timestamp: 0 }
  }
  const out: KVT[] = []
  for (const r of await db.addBatch(msgs)) {
    if (!r.ok) throw r.error
    out.push(r.kvt)
  }
  return out
}

/**
 * Checks the feed structure of the database against its log file: no duplicate record, every
 * feed stored as 1..n with each `previous` naming the message before, and the database's feed
 * state (vector clock, latestSequence, getLatest, history stream) agreeing with it.
 */
async function checkFeeds(db: SsbDb, dir: string): Promise<Map<string, KVT[]>> {
  const { records, corrupt } = await scanLog(dir)
  assert.deepEqual(corrupt, [], 'no damaged bytes between records')
  const keys = new Set<string>()
  const byFeed = new Map<string, KVT[]>()
  for (const r of records) {
    assert.ok(r.kvt, 'no deleted records here')
    assert.ok(!keys.has(r.kvt.key), `duplicate record ${r.kvt.key}`)
    keys.add(r.kvt.key)
    const list = byFeed.get(r.kvt.value.author) ?? []
    list.push(r.kvt)
    byFeed.set(r.kvt.value.author, list)
  }
  const vc = await db.getVectorClock()
  const expectedVc: Record<string, number> = {}
  for (const [feed, list] of byFeed) {
    list.sort((a, b) => a.value.sequence - b.value.sequence)
    list.forEach((kvt, i) => {
      assert.equal(kvt.value.sequence, i + 1, `${feed}: sequence ${i + 1} is stored once`)
      assert.equal(kvt.value.previous, i === 0 ? null : list[i - 1]!.key, 'chained')
    })
    const last = list[list.length - 1]!
    expectedVc[feed] = last.value.sequence
    assert.equal(await db.latestSequence(feed), last.value.sequence)
    assert.equal((await db.getLatest(feed))?.key, last.key)
    const history = (await collect(db.createHistoryStream({ id: feed }))) as KVT[]
    assert.deepEqual(
      history.map((h) => h.key),
      list.map((h) => h.key),
    )
  }
  assert.deepEqual(vc, expectedVc)
  const streamed = await logKeys(db)
  assert.equal(streamed.length, keys.size, 'createLogStream serves every record once')
  assert.deepEqual(new Set(streamed), keys)
  return byFeed
}

// ------------------------------------------------------------------------------ 1. kill -9

const OWN_SEED = 'faults-own-feed'
const FOREIGN_SEED = 'faults-foreign-feed'

test('kill -9 of a writer at random points loses no acknowledged write', async (t) => {
  const dir = tmpDir(t)
  const random = rng(SEED)
  t.diagnostic(`FAULT_SEED=${SEED}`)
  const own = generateKeys(OWN_SEED)
  const foreign = generateKeys(FOREIGN_SEED)
  const everAcked = new Set<string>()
  const ITERATIONS = 30
  let killedWhileWriting = 0
  for (let i = 0; i < ITERATIONS; i++) {
    // Mostly kill while writing; every fifth time at any point from start-up (also mid-open).
    const kill =
      i % 5 === 4
        ? { afterSpawn: Math.floor(random() * 700) }
        : { afterReady: Math.floor(random() * 80) }
    const child = await runHelper('writer.ts', [dir, OWN_SEED, FOREIGN_SEED], { kill })
    assert.equal(child.signal, 'SIGKILL', `the writer was killed, not crashed: ${child.stderr}`)
    const acked = child.lines.filter((l) => l.startsWith('A ')).map((l) => l.slice(2))
    if (acked.length > 0) killedWhileWriting++
    for (const k of acked) everAcked.add(k)

    const { logger, warned } = capture()
    const db = await openDb({ path: dir, keys: own, logger })
    try {
      for (const k of acked) {
        const kvt = (await db.get({ id: k, meta: true })) as KVT
        assert.equal(kvt.key, k, 'every acknowledged write is stored')
      }
      const byFeed = await checkFeeds(db, dir)
      const stored = new Set<string>([...byFeed.values()].flat().map((k) => k.key))
      for (const k of everAcked) assert.ok(stored.has(k), `acknowledged ${k} is still stored`)
      assert.deepEqual(warned(/middle|not JSON|not served/), [], 'a kill tears only the tail')

      // New writes chain on what is stored.
      const ownLast = byFeed.get(own.id)?.at(-1)
      const mine = await db.publish({ type: 'check', iteration: i })
      assert.equal(mine.value.sequence, (ownLast?.value.sequence ?? 0) + 1)
      assert.equal(mine.value.previous, ownLast?.key ?? null)
      const foreignLast = byFeed.get(foreign.id)?.at(-1)
      const [theirs] = await addForeign(db, foreign, 1, () => ({ type: 'check', iteration: i }))
      assert.equal(theirs!.value.sequence, (foreignLast?.value.sequence ?? 0) + 1)
      assert.equal(theirs!.value.previous, foreignLast?.key ?? null)
      everAcked.add(mine.key)
      everAcked.add(theirs!.key)
    } finally {
      await db.close()
    }
  }
  t.diagnostic(`${everAcked.size} acknowledged writes, ${killedWhileWriting} kills mid-write`)
  assert.ok(killedWhileWriting > 0, 'some kills hit a writer that was writing')

  // Finally, the accumulated directory is consistent from scratch too.
  fs.rmSync(path.join(dir, 'index'), { recursive: true })
  const db = await openDb({ path: dir, keys: own, logger: silent })
  try {
    const byFeed = await checkFeeds(db, dir)
    const stored = new Set<string>([...byFeed.values()].flat().map((k) => k.key))
    for (const k of everAcked) assert.ok(stored.has(k))
  } finally {
    await db.close()
  }
})

// ------------------------------------------------------------------------------ 2. bad tails

/** A closed database of 30 messages of two feeds, the last one ours. */
async function tailFixture(dir: string, own: Keys, foreign: Keys): Promise<Rec[]> {
  const db = await openDb({ path: dir, keys: own, logger: silent })
  for (let i = 0; i < 10; i++) {
    await db.publish({ type: 'post', text: `own ${i}` })
    await addForeign(db, foreign, 1, () => ({ type: 'post', text: `foreign ${i}` }))
  }
  for (let i = 10; i < 20; i++) await db.publish({ type: 'post', text: `own ${i}` })
  await db.close()
  return (await scanLog(dir)).records
}

test('a torn, zero-filled or garbage tail is trimmed with a warning', async (t) => {
  const own = generateKeys('tail-own')
  const foreign = generateKeys('tail-foreign')
  const random = rng(SEED + 1)
  type Damage = (file: string, size: number, last: Rec) => void
  const zeroLast: Damage = (f, size, last) => {
    const fd = fs.openSync(f, 'r+')
    fs.writeSync(fd, Buffer.alloc(size - last.offset + 4096), 0, undefined, last.offset)
    fs.closeSync(fd)
  }
  /**
   * `lost`: the last record is cut off; `kept`: nothing is lost; `damaged`: the last record
   * (already indexed, so acknowledged) is unreadable, is never served, and stays in the file.
   */
  type Outcome = 'lost' | 'kept' | 'damaged'
  const cases: [string, Damage, Outcome, { dropIndex?: boolean }?][] = [
    ['torn inside the last payload', (f, size) => fs.truncateSync(f, size - 7), 'lost'],
    ['torn inside the last header', (f, _s, last) => fs.truncateSync(f, last.offset + 5), 'lost'],
    ['torn after the last header', (f, _s, last) => fs.truncateSync(f, last.offset + 12), 'lost'],
    ['torn one byte short', (f, size) => fs.truncateSync(f, size - 1), 'lost'],
    [
      'torn at a random point of the last record',
      (f, size, last) =>
        fs.truncateSync(f, last.offset + 1 + Math.floor(random() * (size - last.offset - 1))),
      'lost',
    ],
    [
      'torn, and the index lost too',
      (f, size) => fs.truncateSync(f, size - 7),
      'lost',
      { dropIndex: true },
    ],
    ['a zero-filled tail', (f) => fs.appendFileSync(f, Buffer.alloc(4096)), 'kept'],
    ['a garbage tail', (f) => fs.appendFileSync(f, randomBytes(3000)), 'kept'],
    [
      'a tail that starts like a record',
      (f) => {
        const head = Buffer.alloc(12)
        head.write('SKR1', 0, 'latin1')
        head.writeUInt32LE(500, 4)
        fs.appendFileSync(f, Buffer.concat([head, Buffer.from('{"key":"%')]))
      },
      'kept',
    ],
    ['the last record and after it zeroed, before indexing', zeroLast, 'lost', { dropIndex: true }],
    ['the last record and after it zeroed, after indexing', zeroLast, 'damaged'],
  ]
  for (const [name, damage, outcome, opts] of cases) {
    await t.test(name, async (t) => {
      const dir = tmpDir(t)
      const records = await tailFixture(dir, own, foreign)
      const file = path.join(dir, 'log')
      const size = fs.statSync(file).size
      const last = records[records.length - 1]!
      assert.equal(last.next, size)
      assert.equal(last.kvt?.value.author, own.id)
      damage(file, size, last)
      if (opts?.dropIndex) fs.rmSync(path.join(dir, 'index'), { recursive: true })

      const served = outcome === 'kept' ? records : records.slice(0, -1)
      const { logger, warned } = capture()
      const db = await openDb({ path: dir, keys: own, logger })
      let mine: KVT
      try {
        assert.ok(warned(/torn/).length > 0, 'a warning names the torn tail')
        assert.equal(
          fs.statSync(file).size,
          outcome === 'lost' ? last.offset : size,
          'the file was cut after the last record the index knows',
        )
        assert.deepEqual(
          await logKeys(db),
          served.map((r) => r.kvt!.key),
        )
        for (const r of served) assert.deepEqual(await db.get(r.kvt!.key), r.kvt!.value)
        const ownServed = served.filter((r) => r.kvt!.value.author === own.id)
        if (outcome === 'lost') {
          assert.equal(await errorName(db.get(last.kvt!.key)), 'MessageNotFoundError')
          await checkFeeds(db, dir)
        }
        if (outcome === 'damaged') {
          assert.equal(await errorName(db.get(last.kvt!.key)), 'CorruptRecordError')
          assert.ok(warned(/not served/).length > 0)
          // Our feed goes on from the damaged message: peers have it, so no fork.
          ownServed.push(last)
        }
        mine = await db.publish({ type: 'post', text: 'after the damage' })
        assert.equal(mine.value.sequence, ownServed.length + 1)
        assert.equal(mine.value.previous, ownServed.at(-1)!.kvt!.key)
      } finally {
        await db.close()
      }
      // The repair is complete: the next open is clean.
      const again = capture()
      const db2 = await openDb({ path: dir, keys: own, logger: again.logger })
      try {
        assert.deepEqual(again.logged, [])
        assert.deepEqual(await logKeys(db2), [...served.map((r) => r.kvt!.key), mine.key])
        if (outcome !== 'damaged') await checkFeeds(db2, dir)
      } finally {
        await db2.close()
      }
    })
  }
})

// ------------------------------------------------------------------------------ 3. bit flips

const BLOB = `&${Buffer.alloc(32, 7).toString('base64')}.sha256`

/**
 * A closed database: our posts around a foreign feed of ten votes linking to our third post
 * and a blob. Returns the log records; the foreign feed's sixth message sits in the middle.
 */
async function flipFixture(dir: string, own: Keys, foreign: Keys): Promise<Rec[]> {
  const db = await openDb({ path: dir, keys: own, logger: silent })
  const mine: KVT[] = []
  for (let i = 0; i < 10; i++) mine.push(await db.publish({ type: 'post', text: `own ${i}` }))
  for (let i = 0; i < 10; i++) {
    await addForeign(db, foreign, 1, () => ({
      type: 'vote',
      vote: { link: mine[2]!.key, value: 1 },
      mentions: [BLOB],
      n: i,
    }))
    await db.publish({ type: 'post', text: `own ${10 + i}`, mentions: [BLOB] })
  }
  await db.close()
  return (await scanLog(dir)).records
}

function flipBit(file: string, byte: number, bit: number): void {
  const fd = fs.openSync(file, 'r+')
  const b = Buffer.alloc(1)
  fs.readSync(fd, b, 0, 1, byte)
  b[0]! ^= 1 << bit
  fs.writeSync(fd, b, 0, 1, byte)
  fs.closeSync(fd)
}

/** Every stream a flipped record could appear in, as lists of keys. */
async function everyStream(db: SsbDb, own: Keys, foreign: Keys, dest: string) {
  const keysOf = async (it: AsyncIterable<unknown>) =>
    ((await collect(it)) as KVT[]).map((k) => k.key)
  return {
    log: await keysOf(db.createLogStream()),
    feed: await keysOf(db.createFeedStream()),
    history: await keysOf(db.createHistoryStream({ id: foreign.id })),
    user: await keysOf(db.createUserStream({ id: foreign.id })),
    ownHistory: await keysOf(db.createHistoryStream({ id: own.id })),
    votes: await keysOf(db.messagesByType('vote')),
    links: ((await collect(db.links({ dest, values: true }))) as { key: string }[]).map(
      (l) => l.key,
    ),
    blobLinks: ((await collect(db.links({ dest: BLOB }))) as { key: string }[]).map((l) => l.key),
  }
}

test('a flipped bit inside a stored record: never served, skipped by rebuilds', async (t) => {
  const dir = tmpDir(t)
  const own = generateKeys('flip-own')
  const foreign = generateKeys('flip-foreign')
  const records = await flipFixture(dir, own, foreign)
  const theirs = records.filter((r) => r.kvt!.value.author === foreign.id)
  const victim = theirs[5]!
  const dest = records[2]!.kvt!.key
  const without = (list: string[]) => list.filter((k) => k !== victim.kvt!.key)

  const clean = await openDb({ path: dir, keys: own, logger: silent })
  const before = await everyStream(clean, own, foreign, dest)
  await clean.close()
  assert.ok(before.votes.includes(victim.kvt!.key) && before.links.includes(victim.kvt!.key))

  const random = rng(SEED + 2)
  const payloadLength = victim.next - victim.offset - 12
  const at = victim.offset + 12 + Math.floor(random() * payloadLength)
  flipBit(path.join(dir, 'log'), at, Math.floor(random() * 8))
  t.diagnostic(`flipped a bit of byte ${at}`)

  const expected = Object.fromEntries(
    Object.entries(before).map(([k, v]) => [k, without(v)]),
  ) as typeof before

  // With the index from before the damage: the record is found, fails its check, is not served.
  let cap = capture()
  let db = await openDb({ path: dir, keys: own, logger: cap.logger })
  try {
    assert.equal(await errorName(db.get(victim.kvt!.key)), 'CorruptRecordError')
    assert.equal(
      await errorName(db.get({ id: victim.kvt!.key, meta: true, private: true })),
      'CorruptRecordError',
    )
    assert.deepEqual(await everyStream(db, own, foreign, dest), expected)
    const notServed = cap.warned(/not served/)
    // log, feed, history, user, votes, links, blobLinks each met the record once
    assert.equal(notServed.length, 7)
    for (const w of notServed) assert.equal(w.obj.offset, victim.offset)
    for (const r of records) {
      if (r === victim) continue
      assert.deepEqual(await db.get(r.kvt!.key), r.kvt!.value)
    }

    // A full rebuild skips it with a warning and keeps everything else.
    cap.logged.length = 0
    await db.rebuild()
    assert.ok(cap.warned(/damaged/).length > 0, 'the rebuild warned about the damage')
    assert.notEqual(await errorName(db.get(victim.kvt!.key)), 'resolved')
    assert.deepEqual(await everyStream(db, own, foreign, dest), expected)
    assert.equal(await db.latestSequence(foreign.id), 10)
    const mine = await db.publish({ type: 'post', text: 'after the flip' })
    assert.equal(mine.value.sequence, 21)
    assert.equal(mine.value.previous, records.at(-1)!.kvt!.key)
    expected.log.push(mine.key)
    expected.feed.push(mine.key)
    expected.ownHistory.push(mine.key)
  } finally {
    await db.close()
  }

  // Rebuilding from a deleted index does the same.
  fs.rmSync(path.join(dir, 'index'), { recursive: true })
  cap = capture()
  db = await openDb({ path: dir, keys: own, logger: cap.logger })
  try {
    assert.ok(cap.warned(/damaged/).length > 0)
    assert.equal(fs.statSync(path.join(dir, 'log')).size > victim.next, true, 'nothing trimmed')
    assert.notEqual(await errorName(db.get(victim.kvt!.key)), 'resolved')
    assert.deepEqual(await everyStream(db, own, foreign, dest), expected)
  } finally {
    await db.close()
  }
})

test('a flipped bit in the framing (magic, length, checksum) of a middle record', async (t) => {
  const own = generateKeys('frame-own')
  const foreign = generateKeys('frame-foreign')
  const fixture = tmpDir(t)
  const records = await flipFixture(fixture, own, foreign)
  const victim = records.filter((r) => r.kvt!.value.author === foreign.id)[5]!
  const all = records.map((r) => r.kvt!.key)
  const expected = all.filter((k) => k !== victim.kvt!.key)
  // [name, byte offset within the record header, bit]
  const flips: [string, number, number][] = [
    ['magic', 0, 0],
    ['magic', 3, 6],
    ['length bit 0', 4, 0],
    ['length bit 3', 4, 3],
    ['length bit 9 (+512)', 5, 1],
    ['length bit 13 (+8 KiB)', 5, 5],
    ['length bit 19 (+512 KiB)', 6, 3],
    ['length bit 24 (past the limit)', 7, 0],
    ['length bit 31', 7, 7],
    ['checksum', 9, 4],
  ]
  for (const [name, byte, bit] of flips) {
    await t.test(name, async (t) => {
      const dir = tmpDir(t)
      fs.cpSync(fixture, dir, { recursive: true })
      flipBit(path.join(dir, 'log'), victim.offset + byte, bit)
      let cap = capture()
      let db = await openDb({ path: dir, keys: own, logger: cap.logger })
      try {
        assert.equal(await errorName(db.get(victim.kvt!.key)), 'CorruptRecordError')
        for (const r of records) {
          if (r !== victim) assert.deepEqual(await db.get(r.kvt!.key), r.kvt!.value)
        }
        assert.deepEqual(await logKeys(db), expected)
        assert.equal(cap.warned(/not served/).length, 1)
        await db.rebuild()
        assert.ok(cap.warned(/damaged bytes/).length > 0)
        assert.deepEqual(await logKeys(db), expected)
        assert.equal(await db.latestSequence(own.id), 20)
        assert.equal(await db.latestSequence(foreign.id), 10)
      } finally {
        await db.close()
      }
      fs.rmSync(path.join(dir, 'index'), { recursive: true })
      cap = capture()
      db = await openDb({ path: dir, keys: own, logger: cap.logger })
      try {
        assert.ok(cap.warned(/damaged bytes/).length > 0)
        assert.deepEqual(cap.warned(/torn/), [], 'damage followed by records is not a tail')
        assert.deepEqual(await logKeys(db), expected)
        for (const r of records) {
          if (r !== victim) assert.deepEqual(await db.get(r.kvt!.key), r.kvt!.value)
        }
        const mine = await db.publish({ type: 'post', text: 'after' })
        assert.equal(mine.value.sequence, 21)
      } finally {
        await db.close()
      }
    })
  }
})

// ------------------------------------------------------------------------------ 4. not a log

test('a log file of random bytes or another format is refused and left untouched', async (t) => {
  const header = (magic: string, version: number) => {
    const h = Buffer.alloc(16)
    h.write(magic, 0, 'latin1')
    h.writeUInt32LE(version, 8)
    return h
  }
  // An offset log of flumedb: [u32 BE length][data][u32 BE length]…[u32 BE end]
  const flume = (() => {
    const data = Buffer.from(JSON.stringify({ key: '%x', value: {}, timestamp: 1 }))
    const frame = Buffer.alloc(8 + data.length)
    frame.writeUInt32BE(data.length, 0)
    data.copy(frame, 4)
    frame.writeUInt32BE(data.length, 4 + data.length)
    const tail = Buffer.alloc(4)
    tail.writeUInt32BE(frame.length, 0)
    return Buffer.concat([frame, frame, tail])
  })()
  const files: [string, Buffer][] = [
    ['64 KiB of random bytes', randomBytes(64 * 1024)],
    ['5 random bytes', Buffer.from([0x9f, 0x01, 0x33, 0xee, 0x00])],
    ['a text file', Buffer.from('hello world, this is not a database\n')],
    ['a flumedb offset log', flume],
    ['another magic', Buffer.concat([header('SCUTTLOX', 1), randomBytes(100)])],
    ['a newer format version', Buffer.concat([header('SCUTTLOG', 2), randomBytes(100)])],
    ['16 zero bytes', Buffer.alloc(16)],
    ['4 KiB of zeros', Buffer.alloc(4096)],
  ]
  for (const [name, bytes] of files) {
    await t.test(name, async (t) => {
      const dir = tmpDir(t)
      const file = path.join(dir, 'log')
      fs.writeFileSync(file, bytes)
      const hash = sha(file)
      const keys = generateKeys('not-a-log')
      assert.equal(await errorName(openDb({ path: dir, keys, logger: silent })), 'CorruptLogError')
      // Again: the failed open released its lock and still refuses.
      assert.equal(await errorName(openDb({ path: dir, keys, logger: silent })), 'CorruptLogError')
      assert.equal(sha(file), hash, 'the file is untouched')
    })
  }
})

// ------------------------------------------------------------------------------ 5. lost index

/** A closed database with several feeds, types, links and private messages to us. */
async function richFixture(dir: string, me: Keys): Promise<string[]> {
  const alice = generateKeys('rich-alice')
  const bob = generateKeys('rich-bob')
  const db = await openDb({ path: dir, keys: me, logger: silent })
  const mine: KVT[] = []
  for (let i = 0; i < 20; i++) {
    const content =
      i % 4 === 0
        ? { type: 'post', text: `secret ${i}`, mentions: [BLOB], recps: [me.id] }
        : { type: 'post', text: `post ${i}`, root: mine[0]?.key, mentions: [alice.id] }
    mine.push(await db.publish(content))
  }
  await addForeign(db, alice, 30, (i) =>
    i % 3 === 0
      ? { type: 'contact', contact: me.id, following: true }
      : { type: 'vote', vote: { link: mine[i % 20]!.key, value: 1 } },
  )
  await addForeign(db, bob, 15, (i) => ({
    type: 'about',
    about: bob.id,
    name: `bob ${i}`,
    image: BLOB,
  }))
  await db.close()
  // Open and close again so that leveldb moves its write-ahead log into a table file.
  const again = await openDb({ path: dir, keys: me, logger: silent })
  await again.publish({ type: 'post', text: 'last', root: mine[0]!.key })
  await again.close()
  return [me.id, alice.id, bob.id, mine[0]!.key, mine[3]!.key]
}

async function snapshot(db: SsbDb, feeds: string[], dests: string[]) {
  const types = ['post', 'vote', 'contact', 'about', 'none']
  const out: Record<string, unknown> = {
    log: await collect(db.createLogStream()),
    logPrivate: await collect(db.createLogStream({ private: true })),
    feedStream: await collect(db.createFeedStream()),
    vectorClock: await db.getVectorClock(),
    latest: await collect(db.latest()),
  }
  for (const feed of feeds) {
    out[`history ${feed}`] = await collect(db.createHistoryStream({ id: feed }))
    out[`links from ${feed}`] = await collect(db.links({ source: feed }))
  }
  for (const type of types) out[`type ${type}`] = await collect(db.messagesByType(type))
  for (const dest of [...dests, ...feeds, BLOB]) {
    out[`links to ${dest}`] = await collect(db.links({ dest, values: true }))
  }
  return out
}

test('a deleted or corrupted index is rebuilt with the same query results', async (t) => {
  const me = generateKeys('rich-me')
  const fixture = tmpDir(t)
  const [a, b, c, d, e] = await richFixture(fixture, me)
  const feeds = [a!, b!, c!]
  const dests = [d!, e!]
  const db0 = await openDb({ path: fixture, keys: me, logger: silent })
  const before = await snapshot(db0, feeds, dests)
  await db0.close()
  assert.equal((before.log as unknown[]).length, 66)
  assert.ok((before[`type post`] as unknown[]).length === 21, 'private posts are indexed too')

  const indexFiles = (dir: string) => fs.readdirSync(path.join(dir, 'index'))
  assert.ok(
    indexFiles(fixture).some((f) => f.endsWith('.ldb')),
    'the fixture has a leveldb table file to damage',
  )
  const overwrite = (dir: string, pick: (f: string) => boolean) => {
    let n = 0
    for (const f of indexFiles(dir)) {
      if (!pick(f)) continue
      const p = path.join(dir, 'index', f)
      fs.writeFileSync(p, randomBytes(Math.max(64, fs.statSync(p).size)))
      n++
    }
    assert.ok(n > 0)
  }
  const cases: [string, (dir: string) => void][] = [
    ['index/ deleted', (dir) => fs.rmSync(path.join(dir, 'index'), { recursive: true })],
    ['every index file overwritten with garbage', (dir) => overwrite(dir, () => true)],
    ['table files overwritten with garbage', (dir) => overwrite(dir, (f) => f.endsWith('.ldb'))],
    ['CURRENT deleted', (dir) => fs.rmSync(path.join(dir, 'index', 'CURRENT'))],
    [
      'MANIFEST deleted',
      (dir) => {
        for (const f of indexFiles(dir)) {
          if (f.startsWith('MANIFEST')) fs.rmSync(path.join(dir, 'index', f))
        }
      },
    ],
    [
      'index/ emptied',
      (dir) => {
        for (const f of indexFiles(dir)) fs.rmSync(path.join(dir, 'index', f))
      },
    ],
    [
      'a table file deleted',
      (dir) => {
        for (const f of indexFiles(dir)) {
          if (f.endsWith('.ldb')) fs.rmSync(path.join(dir, 'index', f))
        }
      },
    ],
    [
      'the write-ahead log deleted',
      (dir) => {
        for (const f of indexFiles(dir)) {
          if (f.endsWith('.log')) fs.rmSync(path.join(dir, 'index', f))
        }
      },
    ],
  ]
  for (const [name, damage] of cases) {
    await t.test(name, async (t) => {
      const dir = tmpDir(t)
      fs.cpSync(fixture, dir, { recursive: true })
      damage(dir)
      const cap = capture()
      const db = await openDb({ path: dir, keys: me, logger: cap.logger })
      try {
        // Losing the write-ahead log only loses the latest index writes: a silent catch-up.
        if (!name.includes('write-ahead')) {
          assert.ok(cap.warned(/index/).length > 0, 'a warning says the index was rebuilt')
        }
        assert.deepEqual(await snapshot(db, feeds, dests), before)
        const m = await db.publish({ type: 'post', text: 'after' })
        assert.equal(m.value.sequence, 22)
      } finally {
        await db.close()
      }
      const db2 = await openDb({ path: dir, keys: me, logger: silent })
      try {
        assert.equal((await logKeys(db2)).length, 67)
      } finally {
        await db2.close()
      }
    })
  }

  await t.test('an index from an earlier state catches up', async (t) => {
    const dir = tmpDir(t)
    const me2 = generateKeys('stale-me')
    const db = await openDb({ path: dir, keys: me2, logger: silent })
    for (let i = 0; i < 10; i++) await db.publish({ type: 'post', text: `${i}` })
    await db.close()
    const old = path.join(dir, 'index-old')
    fs.cpSync(path.join(dir, 'index'), old, { recursive: true })
    const db1 = await openDb({ path: dir, keys: me2, logger: silent })
    for (let i = 10; i < 25; i++) await db1.publish({ type: 'vote', vote: { link: BLOB } })
    const want = await snapshot(db1, [me2.id], [])
    await db1.close()
    fs.rmSync(path.join(dir, 'index'), { recursive: true })
    fs.renameSync(old, path.join(dir, 'index'))
    const db2 = await openDb({ path: dir, keys: me2, logger: silent })
    try {
      assert.deepEqual(await snapshot(db2, [me2.id], []), want)
      assert.equal((await db2.publish({ type: 'post' })).value.sequence, 26)
    } finally {
      await db2.close()
    }
  })

  await t.test('an index from a later state than the log is rebuilt', async (t) => {
    const dir = tmpDir(t)
    const me2 = generateKeys('ahead-me')
    const db = await openDb({ path: dir, keys: me2, logger: silent })
    for (let i = 0; i < 10; i++) await db.publish({ type: 'post', text: `${i}` })
    const want = await snapshot(db, [me2.id], [])
    await db.close()
    const size = fs.statSync(path.join(dir, 'log')).size
    const db1 = await openDb({ path: dir, keys: me2, logger: silent })
    for (let i = 10; i < 25; i++) await db1.publish({ type: 'vote', vote: { link: BLOB } })
    await db1.close()
    // The log is restored from an older copy (cut at a record boundary); the index is not.
    fs.truncateSync(path.join(dir, 'log'), size)
    const cap = capture()
    const db2 = await openDb({ path: dir, keys: me2, logger: cap.logger })
    try {
      assert.ok(cap.warned(/index/).length > 0)
      assert.deepEqual(await snapshot(db2, [me2.id], []), want)
    } finally {
      await db2.close()
    }
  })
})

// ------------------------------------------------------------------------------ 6. lock

test('a second opener of the same directory gets DatabaseLockedError', async (t) => {
  const dir = tmpDir(t)
  const me = generateKeys('lock-me')
  const db = await openDb({ path: dir, keys: me, logger: silent })
  let second: SsbDb | undefined
  try {
    const first = await db.publish({ type: 'post', text: 'first' })
    const child = await runHelper('try-open.ts', [dir])
    assert.deepEqual(child.lines, ['DatabaseLockedError'], child.stderr)
    const inProcess = openDb({ path: dir, keys: me, logger: silent })
    inProcess.then(
      (d) => {
        second = d
      },
      () => {},
    )
    assert.equal(await errorName(inProcess), 'DatabaseLockedError')

    // The first keeps working, with its index intact.
    const m = await db.publish({ type: 'post', text: 'still here' })
    assert.equal(m.value.previous, first.key)
    assert.deepEqual(await db.get(first.key), first.value)
    assert.deepEqual(await logKeys(db), [first.key, m.key])
  } finally {
    await second?.close()
    await db.close()
  }
  const cap = capture()
  const db2 = await openDb({ path: dir, keys: me, logger: cap.logger })
  try {
    assert.deepEqual(cap.logged, [], 'the refused openers damaged nothing')
    assert.equal((await logKeys(db2)).length, 2)
  } finally {
    await db2.close()
  }
  const child = await runHelper('try-open.ts', [dir])
  assert.deepEqual(child.lines, ['opened'], child.stderr)
})

// ------------------------------------------------------------------------------ 7. poison

test('poison boxed content is stored and served unchanged, and crashes nothing', async (t) => {
  const dir = tmpDir(t)
  const me = generateKeys('poison-me')
  const poisoner = generateKeys('poison-them')
  const other = generateKeys('poison-other')
  const myCurve = ed25519PublicToCurve25519(publicKeyOf(me))!
  const box = (plain: Buffer) => multibox(plain, [myCurve])
  const realBox = box(Buffer.from(JSON.stringify({ type: 'secret', text: 'hi' })))
  const flippedBody = Buffer.from(realBox)
  flippedBody[flippedBody.length - 3]! ^= 0x10
  const zeroKey = Buffer.concat([randomBytes(24), Buffer.alloc(32), randomBytes(49 + 40)])
  const poisons: string[] = [
    '.box',
    'QQ==.box',
    `${Buffer.from([0xfe]).toString('base64')}.box`,
    `${zeroKey.toString('base64')}.box`,
    `${Buffer.concat([zeroKey.subarray(0, 24), Buffer.alloc(32, 0xff), zeroKey.subarray(56)]).toString('base64')}.box`,
    'QUJD.boxx',
    'QUJD.box2',
    `${realBox.subarray(0, 24 + 32 + 49 + 5).toString('base64')}.box`,
    `${flippedBody.toString('base64')}.box`,
    `${box(Buffer.from('not json')).toString('base64')}.box`,
    `${box(Buffer.from('null')).toString('base64')}.box`,
    `${box(Buffer.from('42')).toString('base64')}.box`,
    `${box(Buffer.from('"a string"')).toString('base64')}.box`,
    `${box(Buffer.alloc(0)).toString('base64')}.box`,
    boxContent({ type: 'post', text: 'not for you' }, [other.id]),
  ]

  const db = await openDb({ path: dir, keys: me, logger: silent })
  const stored: KVT[] = []
  const control = await db.publish({ type: 'secret', text: 'for me', recps: [me.id] })
  try {
    let state: FeedState | null = null
    for (const content of poisons) {
      const m = next(state, poisoner, content)
      state = { id: m.id as FeedState['id'], sequence: m.value.sequence, timestamp: 0 }
      const kvt = await db.add(m.value)
      assert.deepEqual(kvt.value, m.value)
      stored.push(kvt)
    }
  } finally {
    await db.close()
  }

  const check = async (db: SsbDb) => {
    for (const kvt of stored) {
      assert.deepEqual(await db.get(kvt.key), kvt.value)
      assert.deepEqual(await db.get({ id: kvt.key, private: true }), kvt.value)
      assert.deepEqual(await db.get({ id: kvt.key, private: true, meta: true }), kvt)
      for (const junk of ['', 'QQ==', Buffer.alloc(33).toString('base64')]) {
        assert.deepEqual(await db.get(`${kvt.key}?unbox=${junk}`), kvt.value)
      }
    }
    const priv = (await collect(db.createLogStream({ private: true }))) as KVT[]
    assert.deepEqual(priv.slice(1), stored)
    assert.deepEqual(await collect(db.createUserStream({ id: poisoner.id, private: true })), stored)
    assert.deepEqual(await collect(db.createHistoryStream({ id: poisoner.id })), stored)
    const feed = (await collect(db.createFeedStream({ private: true }))) as KVT[]
    assert.equal(feed.length, stored.length + 1)
    assert.deepEqual(await collect(db.links({ source: poisoner.id })), [])
    // The control: a real private message to us is decrypted, so the path above was exercised.
    const mine = (await db.get({ id: control.key, private: true })) as { content: unknown }
    assert.deepEqual(mine.content, { type: 'secret', text: 'for me', recps: [me.id] })
    assert.deepEqual(
      ((await collect(db.messagesByType('secret'))) as KVT[]).map((k) => k.key),
      [control.key],
    )
  }

  let db2 = await openDb({ path: dir, keys: me, logger: silent })
  try {
    await check(db2)
    await db2.rebuild()
    await check(db2)
  } finally {
    await db2.close()
  }
  fs.rmSync(path.join(dir, 'index'), { recursive: true })
  db2 = await openDb({ path: dir, keys: me, logger: silent })
  try {
    await check(db2)
  } finally {
    await db2.close()
  }
})

// ------------------------------------------------------------------------------ 8. disk full

test('a write that fails for lack of space leaves a consistent, readable log', async (t) => {
  const dir = tmpDir(t)
  const me = generateKeys('full-me')
  const LIMIT_KIB = 256
  const child = await runHelper('fill-disk.ts', [dir, 'full-me'], {
    shell: `ulimit -f ${LIMIT_KIB}`,
  })
  assert.equal(child.code, 0, child.stderr)
  const acked = child.lines.filter((l) => l.startsWith('A ')).map((l) => l.slice(2))
  const failed = child.lines.filter((l) => l.startsWith('E '))
  t.diagnostic(`${acked.length} writes before and after: ${failed.join(', ')}`)
  assert.ok(acked.length > 10)
  assert.deepEqual(failed[0], 'E WriteFailedError')
  assert.ok(child.lines.includes('R ok'), 'reads went on after the failure')
  assert.ok(fs.statSync(path.join(dir, 'log')).size <= LIMIT_KIB * 1024)

  const cap = capture()
  const db = await openDb({ path: dir, keys: me, logger: cap.logger })
  try {
    assert.deepEqual(cap.logged, [], 'no partial record was left behind')
    for (const k of acked) assert.ok(await db.get(k))
    const byFeed = await checkFeeds(db, dir)
    assert.deepEqual(
      byFeed.get(me.id)!.map((k) => k.key),
      acked,
    )
    const m = await db.publish({ type: 'post', text: 'space is back' })
    assert.equal(m.value.sequence, acked.length + 1)
  } finally {
    await db.close()
  }
})

// ------------------------------------------------------------------------------ 9. deletes

test('a delete rewrites its record in place and later writes stay where they belong', async (t) => {
  const dir = tmpDir(t)
  const me = generateKeys('delete-me')
  const file = path.join(dir, 'log')
  let db = await openDb({ path: dir, keys: me, logger: silent })
  const kept: KVT[] = []
  let gone: KVT
  try {
    kept.push(await db.publish({ type: 'post', text: 'one' }))
    gone = await db.publish({ type: 'post', text: 'two' })
    kept.push(await db.publish({ type: 'post', text: 'three' }))
    const size = fs.statSync(file).size
    assert.ok(fs.readFileSync(file).includes('"two"'), 'the text is in the log before the delete')
    await db.del(gone.key)
    assert.equal(fs.statSync(file).size, size, 'the record was overwritten, not appended')
    kept.push(await db.publish({ type: 'post', text: 'four' }))
    for (const k of kept) assert.deepEqual(await db.get(k.key), k.value)
    assert.equal(await errorName(db.get(gone.key)), 'MessageNotFoundError')
  } finally {
    await db.close()
  }
  const { records, corrupt } = await scanLog(dir)
  assert.deepEqual(corrupt, [])
  assert.deepEqual(
    records.map((r) => r.kvt?.key ?? null),
    [kept[0]!.key, null, kept[1]!.key, kept[2]!.key],
  )
  assert.ok(!fs.readFileSync(file).includes('"two"'), 'the deleted bytes are gone')
  for (const dropIndex of [false, true]) {
    if (dropIndex) fs.rmSync(path.join(dir, 'index'), { recursive: true })
    db = await openDb({ path: dir, keys: me, logger: silent })
    try {
      assert.deepEqual(
        await logKeys(db),
        kept.map((k) => k.key),
      )
      await db.rebuild()
      assert.deepEqual(
        await logKeys(db),
        kept.map((k) => k.key),
      )
      for (const k of kept) assert.deepEqual(await db.get(k.key), k.value)
    } finally {
      await db.close()
    }
  }
})
