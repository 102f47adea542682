// The intake of one feed, driven by hand against a real database, for the orders of arrival a
// network cannot be made to produce on demand: a forged message that other streams had skipped
// past (rollback and restart), a fork against a head that is not yet validated, duplicates from
// two streams, and another writer that got there first.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import { openDb, type SsbDb } from '@scuttlekit/ssb-db'
import { generateKeys, type Keys } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { createMessage, type MsgValue } from '@scuttlekit/ssb-validate'
import { FeedIngest, type IngestContext } from '../src/feed-ingest.js'
import type { RejectReason } from '../src/types.js'

interface FakeStream {
  name: string
  next: number
  done: boolean
}

function chain(keys: Keys, n: number, label: string, from?: { id: string; value: MsgValue }) {
  const out: { id: string; value: MsgValue }[] = []
  let state = from
    ? { id: from.id, sequence: from.value.sequence, timestamp: from.value.timestamp }
    : null
  for (let i = 0; i < n; i++) {
    const c = createMessage(state as never, keys, { type: 'post', text: `${label} ${i}` }, 1e12 + i)
    out.push({ id: c.id, value: c.value })
    state = { id: c.id, sequence: c.value.sequence, timestamp: c.value.timestamp }
  }
  return out
}

function forged(msg: MsgValue): MsgValue {
  const s = msg.signature
  return { ...msg, signature: `${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}` as MsgValue['signature'] }
}

let dir: string
let db: SsbDb
let events: string[]
let submitted: number
let ctx: IngestContext<FakeStream>

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssb-replicate-ingest-'))
  db = await openDb({ path: dir, keys: generateKeys() })
  events = []
  submitted = 0
  const addBatch = db.addBatch.bind(db)
  db.addBatch = (msgs) => {
    submitted += msgs.length
    return addBatch(msgs)
  }
  ctx = {
    db,
    hmacKey: null,
    batchSize: 4,
    maxInflight: 2,
    closing: () => false,
    reject: (st, reason: RejectReason) => {
      if (st.done) return
      st.done = true
      events.push(`reject ${st.name} ${reason}`)
    },
    restart: (st) => {
      if (st.done) return
      st.done = true
      events.push(`restart ${st.name}`)
    },
    forked: (feed) => events.push(`forked ${feed === feedId ? 'F' : feed}`),
    stored: () => {},
    skipped: () => {},
    buffered: () => {},
    dbFailure: (_feed, err) => events.push(`db ${String(err)}`),
  }
})
afterEach(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

let feedId: FeedId

/** Offers `msgs` from `st` as the replicator does (after its own order checks). */
function offer(ing: FeedIngest<FakeStream>, st: FakeStream, msgs: MsgValue[]) {
  const waits: Promise<void>[] = []
  for (const m of msgs) {
    if (st.done) break
    assert.equal(m.sequence, st.next, 'the test offers in stream order')
    st.next = m.sequence + 1
    const w = ing.offer(st, m as unknown as Record<string, unknown>, m.sequence)
    if (w) waits.push(w)
  }
  return waits
}

test('a forged message other streams skipped past: rollback, the liar blamed, the others restarted', async () => {
  const keys = generateKeys()
  feedId = keys.id as FeedId
  const msgs = chain(keys, 12, 'f').map((m) => m.value)
  const ing = new FeedIngest(feedId, ctx)
  const liar = { name: 'liar', next: 1, done: false }
  const honest = { name: 'honest', next: 1, done: false }
  offer(ing, liar, [...msgs.slice(0, 10), forged(msgs[10]!)])
  // the honest stream's 1..11 are skipped as claimed; its 12 does not chain on the forged 11,
  // whose fate is not known yet: it waits
  const waits = offer(ing, honest, msgs)
  assert.equal(waits.length, 1)
  await Promise.all(waits)
  await ing.idle()
  assert.deepEqual(events, ['reject liar bad-signature', 'restart honest'])
  assert.equal(await db.latestSequence(feedId), 10)
  assert.equal(ing.nextSeq, 11)
  // the restarted stream resumes from 11 and completes the feed
  const again = { name: 'again', next: 11, done: false }
  offer(ing, again, msgs.slice(10))
  await ing.idle()
  assert.equal(await db.latestSequence(feedId), 12)
  assert.equal(db.isForked(feedId), false)
})

test('a validly signed fork against a head still being validated is judged once it holds', async () => {
  const keys = generateKeys()
  feedId = keys.id as FeedId
  const main = chain(keys, 5, 'main')
  const branch = chain(keys, 2, 'branch', main[3]) // another 5, and a 6 after it
  const ing = new FeedIngest(feedId, ctx)
  const a = { name: 'a', next: 1, done: false }
  const b = { name: 'b', next: 1, done: false }
  offer(
    ing,
    a,
    main.map((m) => m.value),
  )
  const waits = offer(ing, b, [
    ...main.slice(0, 4).map((m) => m.value),
    ...branch.map((m) => m.value),
  ])
  assert.equal(waits.length, 1, 'the branch 6 waits for the claimed 5 to be validated')
  await Promise.all(waits)
  await ing.idle()
  assert.deepEqual(events, ['reject b fork', `forked F`])
  assert.equal(db.isForked(feedId), true)
  assert.equal(await db.latestSequence(feedId), 5)
})

test('a forged fork (bad signature) never reaches the database and forks nothing', async () => {
  const keys = generateKeys()
  feedId = keys.id as FeedId
  const main = chain(keys, 5, 'main')
  await db.addBatch(main.map((m) => m.value))
  const branch = chain(keys, 2, 'branch', main[3])
  submitted = 0
  const ing = new FeedIngest(feedId, ctx)
  const st = { name: 'x', next: 6, done: false }
  offer(ing, st, [forged(branch[1]!.value)])
  await ing.idle()
  assert.deepEqual(events, ['reject x bad-signature'])
  assert.equal(submitted, 0)
  assert.equal(db.isForked(feedId), false)
})

test('the same messages from two streams are submitted once', async () => {
  const keys = generateKeys()
  feedId = keys.id as FeedId
  const msgs = chain(keys, 100, 'dup').map((m) => m.value)
  const ing = new FeedIngest(feedId, ctx)
  const a = { name: 'a', next: 1, done: false }
  const b = { name: 'b', next: 1, done: false }
  for (let i = 0; i < 100; i += 10) {
    offer(ing, a, msgs.slice(i, i + 10))
    offer(ing, b, msgs.slice(i, i + 10))
  }
  await ing.idle()
  await ing.idle()
  assert.equal(submitted, 100)
  assert.equal(await db.latestSequence(feedId), 100)
  assert.deepEqual(events, [])
})

test('another writer that got there first: nobody is blamed', async () => {
  const keys = generateKeys()
  feedId = keys.id as FeedId
  const msgs = chain(keys, 6, 'w').map((m) => m.value)
  const ing = new FeedIngest(feedId, ctx)
  await db.addBatch(msgs.slice(0, 3)) // behind the intake's back
  const st = { name: 's', next: 1, done: false }
  offer(ing, st, msgs)
  await ing.idle()
  await ing.idle()
  assert.equal(await db.latestSequence(feedId), 6)
  assert.ok(!events.some((e) => e.startsWith('reject')), events.join(', '))
})
