// The gossip mesh end to end: three of our nodes replicating along the follow graph within hops,
// blocks that stop replication and connections, and replication with the real ssb-server 16 in
// both directions, private messages included.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { connectClient, type SsbClient } from '@scuttlekit/ssb-client'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { defaultPlugins } from '@scuttlekit/ssb-server-cli'
import { type OurServer, startOurServer } from './helpers/our-server.js'
import { type ReferenceServer, startReferenceServer } from './helpers/reference-server.js'

/** Our server with the default plugins of `ssb-server start`, LAN discovery off. */
function node(hops = 2): Promise<OurServer> {
  return startOurServer({ friends: { hops }, gossip: { local: false } }, defaultPlugins())
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function latest(s: OurServer, feed: string): Promise<number> {
  return s.server.db.latestSequence(feed).catch(() => 0)
}

const follow = (s: OurServer, id: string, following = true) =>
  s.server.call('publish', [{ type: 'contact', contact: id, following }])

async function posts(s: OurServer, n: number, text = 'post'): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      s.server.db.publish({ type: 'post', text: `${text} ${i}` }),
    ),
  )
}

describe('three of our nodes: A follows B, B follows C', () => {
  let a: OurServer
  let a1: OurServer
  let b: OurServer
  let c: OurServer
  before(async () => {
    ;[a, a1, b, c] = await Promise.all([node(2), node(1), node(2), node(2)])
  })
  after(async () => {
    await Promise.all([a, a1, b, c].map((s) => s?.stop()))
  })

  test('at hops 2 A gets C through B; at hops 1 it does not', async () => {
    await posts(c, 5, 'from C')
    await follow(b, c.id)
    await follow(a, b.id)
    await follow(a1, b.id)
    await b.server.call('gossip.connect', [c.address])
    await until('B to hold C', async () => (await latest(b, c.id)) === 5)
    await a.server.call('gossip.connect', [b.address])
    await a1.server.call('gossip.connect', [b.address])
    await until('A to hold C at hops 2', async () => (await latest(a, c.id)) === 5)
    await until('A1 to hold B', async () => (await latest(a1, b.id)) >= 1)
    const hopsA = (await a.server.call('friends.hops', [])) as Record<string, number>
    assert.equal(hopsA[c.id], 2)
    // B's feed reached A1 along the same connection that carries C's feed to A; C stays out
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(await latest(a1, c.id), 0)
    const hopsA1 = (await a1.server.call('friends.hops', [])) as Record<string, number>
    assert.equal(hopsA1[c.id], undefined)
  })

  test('a block stops replication and connections', async () => {
    await until('A connected to B', () => a.server.sessions().some((s) => s.info.remoteId === b.id))
    const before = await latest(a, b.id)
    await a.server.call('publish', [{ type: 'contact', contact: b.id, blocking: true }])
    await until('A to drop B', () => !a.server.sessions().some((s) => s.info.remoteId === b.id))
    await posts(b, 3, 'after the block')
    // B cannot connect to A any more
    await assert.rejects(b.server.call('gossip.connect', [a.address]))
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(await latest(a, b.id), before)
    assert.equal(a.server.db.isForked(b.id as FeedId), false)
  })
})

describe('ours and the real ssb-server 16 replicate both ways', () => {
  const N = 10_000
  let ours: OurServer
  let ref: ReferenceServer
  let refClient: SsbClient
  before(async () => {
    ;[ours, ref] = await Promise.all([node(2), startReferenceServer(['--gossip.local', 'false'])])
    refClient = await connectClient({
      config: { path: ref.path, keys: ref.keys, host: '127.0.0.1', port: ref.port },
      remote: ref.address,
    })
  })
  after(async () => {
    await refClient?.close()
    await Promise.all([ours?.stop(), ref?.stop()])
  })

  async function refLatest(feed: string): Promise<number> {
    return (refClient.call('latestSequence', feed) as Promise<number>).catch(() => 0)
  }

  test(`${N} messages each way, private messages readable by their recipient`, async () => {
    await posts(ours, N - 1, 'ours')
    await ours.server.db.publish({ type: 'post', text: 'to ref', recps: [ours.id, ref.id] })
    let next = 0
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < N - 1) {
          const i = next++
          await refClient.call('publish', { type: 'post', text: `ref ${i}` })
        }
      }),
    )
    const secret = (await refClient.call('publish', {
      type: 'post',
      text: 'to ours',
      recps: [ref.id, ours.id],
    })) as { key: string }
    await refClient.call('publish', { type: 'contact', contact: ours.id, following: true })
    await follow(ours, ref.id)
    // we dial
    await ours.server.call('gossip.connect', [ref.address])
    await until(
      'both feeds across',
      async () => (await latest(ours, ref.id)) >= N && (await refLatest(ours.id)) >= N + 1,
      180_000,
    )
    const mine = (await ours.server.db.get({ id: secret.key, private: true })) as {
      content: { text: string }
    }
    assert.equal(mine.content.text, 'to ours')
    const hist = await refClient.source<{ key: string; value: { content: unknown } }>(
      'createHistoryStream',
      { id: ours.id, seq: N, limit: 1 },
    )
    let boxed: string | undefined
    for await (const m of hist) boxed = m.key
    const theirs = (await refClient.call('get', { id: boxed, private: true })) as {
      content: { text: string }
    }
    assert.equal(theirs.content.text, 'to ref')
  })

  test('and when the reference dials us', async () => {
    for (const s of ours.server.sessions()) await s.close()
    await posts(ours, 50, 'later ours')
    for (let i = 0; i < 50; i++)
      await refClient.call('publish', { type: 'post', text: `later ${i}` })
    const want = { ours: await latest(ours, ours.id), ref: await refLatest(ref.id) }
    // an object address: the reference's scheduler crashes on bare address strings (§5.13)
    await refClient.call('gossip.connect', {
      host: '127.0.0.1',
      port: ours.port,
      key: ours.id,
    })
    await until(
      'the new messages across',
      async () =>
        (await latest(ours, ref.id)) >= want.ref && (await refLatest(ours.id)) >= want.ours,
      60_000,
    )
  })
})
