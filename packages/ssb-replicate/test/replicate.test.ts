// Replication between our own servers on 127.0.0.1: initial sync, live, resume, both dial
// directions, a three-node chain, request/unrequest, block, and the RPC methods.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { generateKeys } from '@scuttlekit/ssb-keys'
import type { ReplicateChange, UptoItem } from '@scuttlekit/ssb-replicate'
import { connect } from '@scuttlekit/ssb-rpc'
import {
  held,
  MAIN_NET_SHS,
  type Ours,
  publishMany,
  sleep,
  startOurs,
  until,
} from './helpers/servers.js'

describe('two servers', () => {
  let a: Ours
  let b: Ours
  before(async () => {
    ;[a, b] = await Promise.all([startOurs(), startOurs()])
  })
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()])
  })

  test('B gets all 2,000 of A, then live ones, then resumes after a reconnect', async () => {
    await publishMany(a.server, 2000)
    b.api.request(a.id)
    const session = await b.server.connect(a.address)
    await until(() => held(b.server, a.id) === 2000, 20_000, 'B to hold 2,000 of A')
    assert.equal(await b.server.db.latestSequence(a.id), 2000)

    // live: the stream stays open
    await publishMany(a.server, 5, 'live')
    await until(() => held(b.server, a.id) === 2005, 5000, 'the live messages')
    const status = b.api.status()
    assert.equal(status.peers[a.id]?.stored, 2005)
    assert.equal(status.rejected, 0)

    // the sync is over once the streams went quiet
    await until(
      () => {
        const p = b.api.progress()
        return p.target > 0 && p.current === p.target
      },
      5000,
      'progress to complete',
    )

    await session.close()
    await until(() => Object.keys(b.api.status().peers).length === 0, 5000, 'B to drop A')
    await publishMany(a.server, 100, 'later')
    await b.server.connect(a.address)
    await until(() => held(b.server, a.id) === 2105, 5000, 'the messages published meanwhile')
    // it asked from 2006: only the 100 new messages crossed (plus nothing of B's own feed)
    assert.equal(b.api.status().peers[a.id]?.received, 100)
    await b.server.db.flush()
    const values = []
    for await (const kvt of b.server.db.createHistoryStream({ id: a.id, seq: 2000, limit: 3 })) {
      values.push((kvt as { value: { content: { text: string } } }).value.content.text)
    }
    assert.deepEqual(values, ['post 1999', 'live 0', 'live 1'])
  })

  test('whoever dials, both feeds cross', async () => {
    await publishMany(b.server, 30, 'from b')
    a.api.request(b.id)
    // B is still connected to A from the previous test, as the client: A (the server) asks too
    await until(() => held(a.server, b.id) === 30, 5000, 'A to hold B (A accepted the connection)')
    for (const s of b.server.sessions()) await s.close()
    await publishMany(b.server, 10, 'from b again')
    await publishMany(a.server, 10, 'from a again')
    await a.server.connect(b.address)
    await until(
      () => held(a.server, b.id) === 40 && held(b.server, a.id) === 2115,
      5000,
      'both directions after A dialled',
    )
  })

  test('unrequest aborts the streams; request while connected opens them', async () => {
    const before = b.api.status().peers[a.id]?.streams ?? 0
    assert.ok(before >= 2, 'B streams its own feed and A from A')
    b.api.request(a.id, false)
    assert.equal(b.api.isRequested(a.id), false)
    assert.equal(b.api.status().peers[a.id]?.streams, before - 1)
    await publishMany(a.server, 3, 'unwanted')
    await sleep(300)
    assert.equal(held(b.server, a.id), 2115)
    b.api.request({ id: a.id, replicate: true })
    await until(() => held(b.server, a.id) === 2118, 5000, 'the stream to reopen')
  })

  test('our own feed is always requested', async () => {
    assert.equal(b.api.requested()[0], b.id)
    b.api.request(b.id, false)
    assert.ok(b.api.isRequested(b.id))
    assert.throws(() => b.api.request('not a feed'), { name: 'InvalidFeedIdError' })
    assert.throws(() => b.api.block(a.id, 'nope', true), { name: 'InvalidFeedIdError' })
  })

  test('RPC: request, upto and changes', async () => {
    const other = '@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519'
    await b.server.call('replicate.request', [{ id: other, replicate: true }])
    assert.ok(b.api.isRequested(other))

    const all = []
    for await (const item of b.server.source('replicate.upto', [{}])) all.push(item)
    assert.deepEqual(all, [
      { id: b.id, sequence: 40 },
      { id: a.id, sequence: 2118 },
      { id: other, sequence: 0 },
    ])

    const ac = new AbortController()
    const live = b.server
      .source('replicate.upto', [{ live: true }], ac.signal)
      [Symbol.asyncIterator]()
    const first: unknown[] = []
    for (let i = 0; i < 4; i++) first.push((await live.next()).value)
    assert.deepEqual(first.at(-1), { sync: true })
    await b.server.call('replicate.request', [other, false])
    assert.deepEqual((await live.next()).value as UptoItem, { id: other, sequence: -1 })
    ac.abort()
    assert.equal((await live.next()).done, true)

    const changes = b.server.source('replicate.changes', [])[Symbol.asyncIterator]()
    const change = (await changes.next()).value as ReplicateChange
    assert.deepEqual(Object.keys(change).sort(), [
      'feeds',
      'id',
      'incompleteFeeds',
      'pendingPeers',
      'progress',
      'rate',
      'total',
    ])
    assert.equal(change.id, b.id)
    assert.equal(change.feeds, 2)
    assert.equal(change.progress, 40 + 2118)
    await publishMany(a.server, 1, 'change')
    // debounced: the change that carries the new message comes within a few emissions
    let next = (await changes.next()).value as ReplicateChange
    while (next.progress !== 40 + 2119) next = (await changes.next()).value as ReplicateChange
    assert.equal(next.total, 40 + 2119)
    await changes.return?.()

    const manifest = b.server.manifest() as Record<string, unknown>
    assert.deepEqual(manifest.replicate, {
      request: 'sync',
      block: 'sync',
      upto: 'source',
      changes: 'source',
      help: 'sync',
    })
    const status = b.server.status() as { replicate?: { requested: number } }
    assert.equal(status.replicate?.requested, 2)
    const progress = b.server.progress() as { replicate?: { target: number } }
    assert.ok(progress.replicate && progress.replicate.target >= 2)
  })
})

describe('three servers in a chain', () => {
  test('C → B → A with explicit requests', async () => {
    const [a, b, c] = await Promise.all([startOurs(), startOurs(), startOurs()])
    try {
      await publishMany(c.server, 300, 'from c')
      b.api.request(c.id)
      a.api.request(c.id)
      await a.server.connect(b.address)
      await b.server.connect(c.address)
      await until(() => held(a.server, c.id) === 300, 10_000, 'A to get C through B')
      await publishMany(c.server, 20, 'live from c')
      await until(() => held(a.server, c.id) === 320, 5000, 'live messages along the chain')
      // A holds nothing of B: it did not ask
      assert.equal(held(a.server, b.id), 0)
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()])
    }
  })
})

describe('block', () => {
  test('a feed is neither served to nor requested from a peer it blocks', async () => {
    const [a, b, c] = await Promise.all([startOurs(), startOurs(), startOurs()])
    try {
      await publishMany(a.server, 10, 'a')
      await publishMany(c.server, 10, 'c')
      // on A: A's feed blocks B, so A serves B nothing of A
      a.api.block({ from: a.id, to: b.id, blocking: true })
      a.api.request(c.id)
      b.api.request(a.id)
      b.api.request(c.id)
      // on B: C blocks A, so B does not ask A for C
      b.api.block(c.id, a.id, true)
      await a.server.connect(c.address)
      await until(() => held(a.server, c.id) === 10, 5000, 'A to get C')
      await b.server.connect(a.address)
      await until(() => b.api.status().peers[a.id] !== undefined, 5000, 'the session')
      await sleep(300)
      assert.equal(held(b.server, a.id), 0, 'A served B nothing of A')
      assert.equal(held(b.server, c.id), 0, 'B did not ask A for C')

      // unblocking C → A on B opens that stream at once
      b.api.block(c.id, a.id, false)
      await until(() => held(b.server, c.id) === 10, 5000, 'C through A after the unblock')
      // we block A: everything from A stops
      b.api.block(b.id, a.id, true)
      assert.equal(b.api.status().peers[a.id]?.streams, 0)
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()])
    }
  })
})

describe('when a peer dials us', () => {
  /** A bare peer (our RPC stack, no server) that records the createHistoryStream calls it gets. */
  async function bareClient(target: Ours) {
    const asked: unknown[] = []
    const session = await connect(target.address, {
      keys: generateKeys(),
      appKey: Buffer.from(MAIN_NET_SHS, 'base64'),
      handler: (call) => {
        if (call.name.join('.') !== 'createHistoryStream') throw new Error('no such method')
        asked.push(call.args[0])
        return (async function* () {
          await new Promise((r) => call.signal.addEventListener('abort', r, { once: true }))
        })()
      },
    })
    return { session, asked }
  }

  test('we ask once it has called createHistoryStream on us', async () => {
    const b = await startOurs({ replicate: { serverStartMs: 60_000 } })
    const peer = await bareClient(b)
    try {
      await sleep(200)
      assert.deepEqual(peer.asked, [], 'nothing before the peer is ready')
      const it = peer.session.source('createHistoryStream', [{ id: b.id, live: true }])
      void it.next().catch(() => {})
      await until(() => peer.asked.length === 1, 5000, 'our request')
      assert.deepEqual(peer.asked, [{ id: b.id, seq: 1, live: true, keys: false }])
    } finally {
      await peer.session.close()
      await b.stop()
    }
  })

  test('we ask anyway when it calls nothing', async () => {
    const b = await startOurs({ replicate: { serverStartMs: 50 } })
    const peer = await bareClient(b)
    try {
      await until(() => peer.asked.length === 1, 5000, 'our request')
    } finally {
      await peer.session.close()
      await b.stop()
    }
  })
})

describe('throughput', () => {
  test('10,000 messages between two of our servers (measured, not asserted)', async (t) => {
    const [a, b] = await Promise.all([startOurs(), startOurs()])
    try {
      await publishMany(a.server, 10_000)
      b.api.request(a.id)
      const start = performance.now()
      await b.server.connect(a.address)
      await until(() => held(b.server, a.id) === 10_000, 30_000, 'B to hold 10,000')
      const ms = performance.now() - start
      const rate = Math.round(10_000 / (ms / 1000))
      t.diagnostic(`replicated 10,000 messages in ${Math.round(ms)} ms: ${rate} msg/s`)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
