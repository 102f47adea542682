// A hostile peer (bad-inputs.md §8): a fake server made of @scuttlekit/ssb-rpc's listenNet and
// a handler of our own that serves createHistoryStream dishonestly, feed by feed, while an
// honest server of ours serves the same feeds. Nothing invalid may be stored, every lie costs the
// liar that stream (logged once), and the honest peer's messages still arrive.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { generateKeys, type Keys, publicKeyOf } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { type IncomingCall, listenNet, type RpcListener } from '@scuttlekit/ssb-rpc'
import { createMessage, type MsgValue } from '@scuttlekit/ssb-validate'
import {
  held,
  MAIN_NET_SHS,
  type Ours,
  recordingLogger,
  startOurs,
  until,
} from './helpers/servers.js'

const N = 40

interface Feed {
  keys: Keys
  id: FeedId
  msgs: MsgValue[]
  ids: string[]
}

/** A feed of `n` valid posts by fresh keys. */
function makeFeed(n: number, label: string): Feed {
  const keys = generateKeys()
  const msgs: MsgValue[] = []
  const ids: string[] = []
  let state: { id: string; sequence: number; timestamp: number } | null = null
  for (let i = 0; i < n; i++) {
    const c = createMessage(
      state as never,
      keys,
      { type: 'post', text: `${label} ${i + 1}` },
      1_700_000_000_000 + i,
    )
    msgs.push(c.value)
    ids.push(c.id)
    state = { id: c.id, sequence: c.value.sequence, timestamp: c.value.timestamp }
  }
  return { keys, id: keys.id as FeedId, msgs, ids }
}

/** The message with its signature's first base64 character changed: same shape, wrong signature. */
function badSignature(msg: MsgValue): MsgValue {
  const sig = msg.signature
  return {
    ...msg,
    signature: `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}` as MsgValue['signature'],
  }
}

/** A validly signed message at `msgs[at]`'s sequence, branching off at `at - 1` (a fork). */
function forkAt(feed: Feed, at: number): { alt: MsgValue; next: MsgValue } {
  const before = feed.msgs[at - 1]!
  const prevState = {
    id: feed.ids[at - 1]!,
    sequence: before.sequence,
    timestamp: before.timestamp,
  }
  const alt = createMessage(
    prevState as never,
    feed.keys,
    { type: 'post', text: 'the other branch' },
    before.timestamp + 1,
  )
  const next = createMessage(
    { id: alt.id, sequence: alt.value.sequence, timestamp: alt.value.timestamp } as never,
    feed.keys,
    { type: 'post', text: 'after the other branch' },
    before.timestamp + 2,
  )
  return { alt: alt.value, next: next.value }
}

function stall(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

describe('a hostile peer next to an honest one', () => {
  const feeds = {
    badSig: makeFeed(N, 'bad sig'),
    junk: makeFeed(N, 'junk'),
    otherFeed: makeFeed(N, 'other feed'),
    duplicate: makeFeed(N, 'duplicate'),
    gap: makeFeed(N, 'gap'),
    huge: makeFeed(N, 'huge'),
    stall: makeFeed(N, 'stall'),
  }
  const fork = makeFeed(N, 'fork')
  const forkBadSig = makeFeed(N, 'fork bad sig')
  const unasked = makeFeed(5, 'unasked')
  const late = makeFeed(5, 'late')
  const calls = new Map<string, unknown[]>()
  const submitted = new Map<string, number>()
  const hostileKeys = generateKeys()
  const { logger, records } = recordingLogger('warn')
  let honest: Ours
  let b: Ours
  let hostile: RpcListener

  /** The hostile handler: what it sends depends on the feed asked for. */
  async function* lie(call: IncomingCall): AsyncGenerator<unknown> {
    const opts = call.args[0] as { id: string; seq: number }
    const list = calls.get(opts.id) ?? []
    list.push(opts)
    calls.set(opts.id, list)
    const from = opts.seq
    if (opts.id === feeds.badSig.id) {
      // five good messages, then a forged one
      yield* feeds.badSig.msgs.slice(from - 1, from + 4)
      yield badSignature(feeds.badSig.msgs[from + 4]!)
    } else if (opts.id === feeds.junk.id) {
      yield 'not a message'
      yield 42
    } else if (opts.id === feeds.otherFeed.id) {
      yield unasked.msgs[0]
    } else if (opts.id === feeds.duplicate.id) {
      const msg = feeds.duplicate.msgs[from - 1]
      for (let i = 0; i < 10_000 && !call.signal.aborted; i++) yield msg
    } else if (opts.id === feeds.gap.id) {
      yield feeds.gap.msgs[from - 1]
      yield feeds.gap.msgs[from + 1]
    } else if (opts.id === feeds.huge.id) {
      yield { ...feeds.huge.msgs[0]!, sequence: Number.MAX_SAFE_INTEGER }
    } else if (opts.id === fork.id) {
      yield forkAt(fork, N - 1).next
    } else if (opts.id === forkBadSig.id) {
      yield badSignature(forkAt(forkBadSig, N - 1).next)
    } else if (opts.id === late.id) {
      yield* late.msgs
    }
    // the stalled feed (and anything else): nothing, ever, until we hang up
    await stall(call.signal)
  }

  before(async () => {
    ;[honest, b] = await Promise.all([startOurs(), startOurs({ logger })])
    // the honest server holds every feed but the forked ones and the unasked one
    await honest.server.db.addBatch(Object.values(feeds).flatMap((f) => f.msgs))
    // B already holds the feeds the hostile peer will fork
    await b.server.db.addBatch([...fork.msgs, ...forkBadSig.msgs])
    const db = b.server.db
    const addBatch = db.addBatch.bind(db)
    db.addBatch = (msgs) => {
      for (const m of msgs) {
        const author = String((m as { author?: unknown }).author)
        submitted.set(author, (submitted.get(author) ?? 0) + 1)
      }
      return addBatch(msgs)
    }
    hostile = await listenNet({
      keys: hostileKeys,
      appKey: Buffer.from(MAIN_NET_SHS, 'base64'),
      host: '127.0.0.1',
      port: 0,
      handler: (call) => {
        if (call.name.join('.') === 'createHistoryStream' && call.type === 'source')
          return lie(call)
        throw new Error(`no ${call.type}:${call.name.join(',')}`)
      },
    })
  })
  after(async () => {
    await Promise.all([b?.stop(), honest?.stop()])
    await hostile?.close()
  })

  test('nothing invalid is stored and the honest peer still replicates', async () => {
    for (const f of [...Object.values(feeds), fork, forkBadSig]) b.api.request(f.id)
    const port = (hostile.address() as { port: number }).port
    const hostileAddress = `net:127.0.0.1:${port}~shs:${publicKeyOf(hostileKeys).toString('base64')}`
    // the liar first, alone: every lie is its own
    await b.server.connect(hostileAddress)
    const expected: Record<string, string> = {
      [feeds.badSig.id]: 'bad-signature',
      [feeds.junk.id]: 'junk',
      [feeds.otherFeed.id]: 'wrong-feed',
      [feeds.duplicate.id]: 'out-of-order',
      [feeds.gap.id]: 'gap',
      [feeds.huge.id]: 'gap',
      [fork.id]: 'fork',
      [forkBadSig.id]: 'bad-signature',
    }
    const rejectedBy = (peer: string) => b.api.status().peers[peer]?.rejected ?? {}
    await until(() => Object.keys(rejectedBy(hostileKeys.id)).length === 8, 5000, 'every rejection')
    assert.deepEqual(rejectedBy(hostileKeys.id), expected)
    // what it sent that was valid is kept: the five messages before the forged one
    assert.equal(held(b.server, feeds.badSig.id), 5)
    assert.equal(held(b.server, feeds.duplicate.id), 1)
    assert.equal(held(b.server, feeds.gap.id), 1)

    // then the honest peer, while the liar stays connected (its stalled streams open)
    await b.server.connect(honest.address)
    await until(
      () => Object.values(feeds).every((f) => held(b.server, f.id) === N),
      10_000,
      'every feed from the honest peer',
    )
    await b.server.db.flush() // feed states lead the index by the commit in progress
    for (const f of Object.values(feeds)) {
      const keys = []
      for await (const kvt of b.server.db.createHistoryStream({ id: f.id })) {
        keys.push((kvt as { key: string }).key)
      }
      assert.deepEqual(keys, f.ids, 'exactly the honest chain')
    }
    assert.equal(held(b.server, unasked.id), 0, 'messages of a feed nobody asked for')

    // exactly the reference's arguments, from what B holds
    assert.deepEqual(calls.get(feeds.badSig.id), [
      { id: feeds.badSig.id, seq: 1, live: true, keys: false },
    ])
    assert.deepEqual(calls.get(fork.id), [{ id: fork.id, seq: N + 1, live: true, keys: false }])

    // the validly signed fork is recorded, the forged one is not
    assert.equal(b.server.db.isForked(fork.id), true)
    assert.equal(held(b.server, fork.id), N)
    assert.equal(b.server.db.isForked(forkBadSig.id), false)
    assert.equal(held(b.server, forkBadSig.id), N)
    assert.equal(submitted.get(forkBadSig.id) ?? 0, 0, 'the forged fork never reached the database')

    // 10,000 copies of a message cost one submission: the second copy ends the stream
    assert.equal(submitted.get(feeds.duplicate.id), N)

    // one log record per rejection, with the peer, the feed and the reason
    const rejections = records.filter((r) => r.msg === 'replication stream rejected')
    assert.equal(rejections.length, 8)
    for (const r of rejections) {
      assert.equal(r.peer, hostileKeys.id)
      assert.equal(r.reason, expected[r.feed as string], `reason for ${String(r.feed)}`)
    }
    for (const [feed, list] of calls) assert.equal(list.length, 1, `asked once for ${feed}`)
    // the honest peer lost nothing
    assert.deepEqual(b.api.status().peers[honest.id]?.rejected, {})
  })

  test('a feed requested while connected is asked of every peer, the liar included', async () => {
    b.api.request(late.id)
    await until(() => held(b.server, late.id) === 5, 5000, 'the late feed from the hostile peer')
    assert.deepEqual(calls.get(late.id), [{ id: late.id, seq: 1, live: true, keys: false }])
    // the stalled stream is still open and blocks nothing
    assert.equal(calls.get(feeds.stall.id)?.length, 1)
  })
})
