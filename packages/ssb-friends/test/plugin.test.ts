import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type FriendsApi, friendsPlugin, type HopChange } from '@scuttlekit/ssb-friends'
import { generateKeys, type Keys } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { connect, type RpcSession } from '@scuttlekit/ssb-rpc'
import { type Plugin, type ServerConfig, type SsbServer, startServer } from '@scuttlekit/ssb-server'
import { pino } from 'pino'
import { Feed } from './helpers/feed.js'
import { CONTENTS, rng } from './helpers/random.js'
import { ReferenceFriends, type RefMessage } from './helpers/reference-friends.js'

const SHS = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='
const appKey = Buffer.from(SHS, 'base64')
const quiet = pino({ level: 'silent' })

async function config(extra: Partial<ServerConfig> = {}): Promise<ServerConfig> {
  return {
    path: await mkdtemp(join(tmpdir(), 'ssb-friends-test-')),
    keys: generateKeys(),
    caps: { shs: SHS },
    host: '127.0.0.1',
    port: 0,
    ...extra,
  }
}

function addressOf(server: SsbServer): string {
  return server
    .address('device')!
    .split(';')
    .find((a) => a.startsWith('net:'))!
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** Reads `n` items from a live iterator without ending it. */
async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = []
  while (out.length < n) {
    const r = await it.next()
    if (r.done) break
    out.push(r.value)
  }
  return out
}

const follow = { following: true }
const unfollow = { following: false }
const block = { blocking: true }

describe('the friends plugin on a real server', { timeout: 20_000 }, () => {
  let server: SsbServer
  let friends: FriendsApi
  let me: FeedId
  const b = new Feed()
  const c = new Feed()
  const d = new Feed()

  before(async () => {
    server = await startServer({
      config: await config(),
      plugins: [friendsPlugin()],
      logger: quiet,
    })
    friends = server.plugin<FriendsApi>('friends')!
    me = server.id
  })
  after(async () => {
    await server.close()
    await rm(server.config.path, { recursive: true, force: true })
  })

  test('the manifest has the reference names and types; our own feed is at 0', async () => {
    assert.deepEqual(server.manifest().friends, {
      hopStream: 'source',
      onEdge: 'sync',
      isFollowing: 'async',
      isBlocking: 'async',
      hops: 'async',
      help: 'sync',
      get: 'async',
      createFriendStream: 'source',
      stream: 'source',
    })
    assert.deepEqual(await server.call('friends.hops'), { [me]: 0 })
    assert.equal(friends.max, 2)
    const help = (await server.call('friends.help')) as { commands: Record<string, unknown> }
    assert.ok(help.commands.hopStream)
    await assert.rejects(server.call('friends.onEdge', []), { name: 'InProcessOnlyError' })
  })

  test('contacts update hops live; hopStream sends the map, then diffs', async () => {
    const stream = server.source('friends.hopStream', [{ live: true }])[Symbol.asyncIterator]()
    const changes: HopChange[][] = []
    const off = friends.onHopsChange((c) => changes.push([...c]))
    assert.deepEqual(await take(stream, 1), [{ [me]: 0 }])

    await server.db.publish({ type: 'contact', contact: b.id, following: true })
    assert.deepEqual(await server.call('friends.hops'), { [me]: 0, [b.id]: 1 })
    await server.db.add(b.contact(c.id, follow))
    await server.db.add(c.contact(d.id, follow))
    assert.deepEqual(await server.call('friends.hops'), { [me]: 0, [b.id]: 1, [c.id]: 2 })
    // diffs made while nobody reads are merged into one
    assert.deepEqual(await take(stream, 1), [{ [b.id]: 1, [c.id]: 2 }])
    assert.deepEqual(await server.call('friends.hops', [{ max: 1 }]), { [me]: 0, [b.id]: 1 })
    assert.deepEqual(await server.call('friends.hops', [{ max: 3 }]), {
      [me]: 0,
      [b.id]: 1,
      [c.id]: 2,
      [d.id]: 3,
    })
    assert.deepEqual(await server.call('friends.hops', [{ start: c.id }]), { [c.id]: 0, [d.id]: 1 })

    // an unfollow: b at −2, c drops out (reported in process, not in the reference's diffs)
    await server.db.publish({ type: 'contact', contact: b.id, following: false })
    assert.deepEqual(await server.call('friends.hops'), { [me]: 0, [b.id]: -2 })
    assert.deepEqual(await take(stream, 1), [{ [b.id]: -2 }])
    await server.db.publish({ type: 'contact', contact: b.id, following: true })
    assert.deepEqual(await take(stream, 1), [{ [b.id]: 1, [c.id]: 2 }])
    off()
    assert.deepEqual(changes, [
      [{ feed: b.id, hops: 1, previous: null }],
      [{ feed: c.id, hops: 2, previous: null }],
      [
        { feed: b.id, hops: -2, previous: 1 },
        { feed: c.id, hops: null, previous: 2 },
      ],
      [
        { feed: b.id, hops: 1, previous: -2 },
        { feed: c.id, hops: 2, previous: null },
      ],
    ])
    await stream.return?.()
  })

  test('isFollowing, isBlocking, get and the in-process API answer as the graph says', async () => {
    const x = new Feed()
    await server.db.add(b.contact(x.id, block))
    assert.equal(await server.call('friends.isFollowing', [{ source: me, dest: b.id }]), true)
    assert.equal(await server.call('friends.isFollowing', [{ source: b.id, dest: me }]), false)
    assert.equal(await server.call('friends.isBlocking', [{ source: b.id, dest: x.id }]), true)
    assert.equal(await server.call('friends.isBlocking', [{ source: me, dest: x.id }]), false)
    await assert.rejects(server.call('friends.isBlocking', []), {
      name: 'FriendsOptionsError',
      message: 'friends.isBlocking expects {source: FeedId, dest: FeedId}',
    })
    assert.deepEqual(await server.call('friends.get', [{ source: b.id }]), {
      [c.id]: true,
      [x.id]: false,
    })
    assert.equal(await server.call('friends.get', [{ source: b.id, dest: x.id }]), false)
    assert.equal(await server.call('friends.get', [{ source: b.id, dest: me }]), null)
    assert.deepEqual(await server.call('friends.get', [{ dest: b.id }]), { [me]: true })
    const all = (await server.call('friends.get')) as Record<string, unknown>
    assert.deepEqual(Object.keys(all).sort(), [me, b.id, c.id].sort())
    assert.equal(friends.isBlocking(b.id, x.id), true)
    assert.deepEqual(friends.blocks(b.id), [x.id])
    assert.equal(friends.hops().get(x.id), -2)
  })

  test('createFriendStream and stream', async () => {
    assert.deepEqual(
      (await toArray(server.source('friends.createFriendStream', [{}]))).sort(),
      [me, b.id, c.id].sort(),
    )
    const live = server
      .source('friends.createFriendStream', [{ live: true, meta: true }])
      [Symbol.asyncIterator]()
    const first = await take(live, 3)
    assert.deepEqual(
      first.sort((p, q) => (p as { hops: number }).hops - (q as { hops: number }).hops),
      [
        { id: me, hops: 0 },
        { id: b.id, hops: 1 },
        { id: c.id, hops: 2 },
      ],
    )
    const edges = server.source('friends.stream', [])[Symbol.asyncIterator]()
    const [graph] = await take(edges, 1)
    assert.deepEqual((graph as Record<string, unknown>)[me], { [b.id]: true })
    const y = new Feed()
    await server.db.publish({ type: 'contact', contact: y.id, blocking: true })
    assert.deepEqual(await take(live, 1), [{ id: y.id, hops: -1 }])
    assert.deepEqual(await take(edges, 1), [{ from: me, to: y.id, value: false }])
    await live.return?.()
    await edges.return?.()
    assert.deepEqual(await toArray(server.source('friends.stream', [{ live: false }])), [
      await server.call('friends.get'),
    ])
  })

  test('an aborted live stream ends at once', async () => {
    const ac = new AbortController()
    const it = server.source('friends.hopStream', [{ live: true, old: false }], ac.signal)
    const pending = it[Symbol.asyncIterator]().next()
    ac.abort()
    assert.deepEqual(await pending, { value: undefined, done: true })
  })
})

describe('loading, private contacts and configuration', { timeout: 20_000 }, () => {
  test('contacts stored before start are indexed, private ones we can read included', async () => {
    const cfg = await config({ friends: { hops: 1 } })
    const b = new Feed()
    const c = new Feed()
    const p = new Feed()
    let server = await startServer({ config: cfg, plugins: [], logger: quiet })
    await server.db.publish({ type: 'contact', contact: b.id, following: true })
    await server.db.add(b.contact(c.id, follow))
    await server.db.publish({ type: 'contact', contact: p.id, following: true, recps: [server.id] })
    await server.db.publish({ type: 'contact', contact: c.id, blocking: true })
    await server.db.publish({ type: 'post', contact: b.id })
    await server.close()
    server = await startServer({ config: cfg, plugins: [friendsPlugin()], logger: quiet })
    try {
      assert.equal(server.plugin<FriendsApi>('friends')!.max, 1)
      assert.deepEqual(await server.call('friends.hops'), {
        [server.id]: 0,
        [b.id]: 1,
        [p.id]: 1,
        [c.id]: -1,
      })
      assert.deepEqual(await server.call('friends.hops', [{ max: 2 }]), {
        [server.id]: 0,
        [b.id]: 1,
        [p.id]: 1,
        [c.id]: -1,
      })
    } finally {
      await server.close()
      await rm(cfg.path, { recursive: true, force: true })
    }
  })

  test('messages committed while the graph loads are counted once, in order', async () => {
    const cfg = await config()
    const targets = Array.from({ length: 150 }, () => new Feed())
    let writing: Promise<unknown> | undefined
    // a plugin started before friends that keeps the database busy while friends reads it
    const writer: Plugin = {
      name: 'writer',
      init: ({ db }) => {
        const jobs: Promise<unknown>[] = []
        for (const t of targets) {
          jobs.push(db.publish({ type: 'contact', contact: t.id, following: true }))
          jobs.push(db.publish({ type: 'contact', contact: t.id, following: false }))
          jobs.push(db.publish({ type: 'contact', contact: t.id, following: true }))
        }
        writing = Promise.all(jobs)
        return {}
      },
    }
    // stored contacts make the initial read long enough for the writer's commits to land in it
    const first = await startServer({ config: cfg, logger: quiet, listen: false })
    const stored = Array.from({ length: 1500 }, () => new Feed())
    await Promise.all(
      stored.map((t) => first.db.publish({ type: 'contact', contact: t.id, following: true })),
    )
    await first.close()
    const server = await startServer({
      config: cfg,
      plugins: [writer, friendsPlugin()],
      logger: quiet,
      listen: false,
    })
    try {
      await writing
      const hops = (await server.call('friends.hops')) as Record<string, number>
      assert.equal(Object.keys(hops).length, targets.length + stored.length + 1)
      for (const t of [...targets, ...stored]) assert.equal(hops[t.id], 1)
    } finally {
      await server.close()
      await rm(cfg.path, { recursive: true, force: true })
    }
  })

  test('the hops option overrides the configuration', async () => {
    const cfg = await config({ friends: { hops: 1 } })
    const server = await startServer({
      config: cfg,
      plugins: [friendsPlugin({ hops: 3 })],
      logger: quiet,
      listen: false,
    })
    try {
      assert.equal(server.plugin<FriendsApi>('friends')!.max, 3)
      assert.deepEqual((server.status() as { friends: unknown }).friends, {
        max: 3,
        edges: 0,
        feeds: 1,
        blocked: 0,
      })
    } finally {
      await server.close()
      await rm(cfg.path, { recursive: true, force: true })
    }
  })
})

describe('blocking is enforced', { timeout: 20_000 }, () => {
  let server: SsbServer
  const blocked: Keys = generateKeys()
  const friend: Keys = generateKeys()

  before(async () => {
    server = await startServer({
      config: await config(),
      plugins: [friendsPlugin()],
      logger: quiet,
    })
    await server.db.publish({ type: 'contact', contact: blocked.id, blocking: true })
  })
  after(async () => {
    await server.close()
    await rm(server.config.path, { recursive: true, force: true })
  })

  test('a peer we block is refused at the handshake; others connect', async () => {
    await assert.rejects(
      connect(addressOf(server), { keys: blocked, appKey, handshakeTimeoutMs: 2000 }),
    )
    const ok = await connect(addressOf(server), { keys: friend, appKey })
    assert.ok(ok)
    await ok.close()
    assert.equal(await server.call('auth', [blocked.id]), false)
  })

  test("a feed's history is not served to a peer its author blocks", async () => {
    const author = new Feed()
    const other = new Feed()
    await server.db.add(author.next({ type: 'post', text: 'hello' }))
    await server.db.add(author.contact(friend.id, block))
    await server.db.add(other.next({ type: 'post', text: 'hi' }))
    await server.db.publish({ type: 'post', text: 'ours' })
    const rpc = await connect(addressOf(server), { keys: friend, appKey })
    try {
      const history = (id: string) => toArray(rpc.source(['createHistoryStream'], [{ id }]))
      assert.deepEqual(await history(author.id), [])
      assert.equal((await history(other.id)).length, 1)
      assert.ok((await history(server.id)).length >= 2)
      // an unblock serves it again
      await server.db.add(author.contact(friend.id, unfollow))
      assert.equal((await history(author.id)).length, 3)
    } finally {
      await rpc.close()
    }
  })

  test('blocking a connected peer closes its connection', async () => {
    const peer = generateKeys()
    const rpc: RpcSession = await connect(addressOf(server), { keys: peer, appKey })
    const other = await connect(addressOf(server), { keys: generateKeys(), appKey })
    try {
      await server.db.publish({ type: 'contact', contact: peer.id, flagged: true })
      await rpc.closed
      assert.equal(other.isClosed, false)
      await assert.rejects(
        connect(addressOf(server), { keys: peer, appKey, handshakeTimeoutMs: 2000 }),
      )
    } finally {
      await rpc.close()
      await other.close()
    }
  })
})

describe('the plugin against the reference fed the same messages', { timeout: 20_000 }, () => {
  function sortedDeep(o: unknown): unknown {
    if (typeof o !== 'object' || o === null) return o
    return Object.fromEntries(
      Object.entries(o)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortedDeep(v)]),
    )
  }

  test('hops, get, the streams, isFollowing/isBlocking and auth agree', async () => {
    const cfg = await config()
    const me = cfg.keys.id as FeedId
    const feeds = Array.from({ length: 8 }, () => new Feed())
    const ids = [me, ...feeds.map((f) => f.id)]
    const ref = new ReferenceFriends(me, 2)
    const r = rng(42)
    let server = await startServer({ config: cfg, plugins: [], logger: quiet, listen: false })
    let boxed = 0
    let ours = 0
    let refused = 0
    /** Stores one random contact message here and hands the reference what its reduce sees. */
    const one = async () => {
      const author = Math.floor(r() * (feeds.length + 1))
      const content = {
        type: 'contact',
        contact: ids[Math.floor(r() * ids.length)],
        ...CONTENTS[Math.floor(r() * CONTENTS.length)],
      }
      const kvt =
        author === 0
          ? await server.db.publish(++ours % 3 === 0 ? { ...content, recps: [me] } : content)
          : await server.db.add(feeds[author - 1]!.next(content))
      if (typeof kvt.value.content === 'string') boxed++
      // the reference's views see private messages decrypted
      const plain = author === 0 ? { ...content } : content
      ref.add({ ...kvt, value: { ...kvt.value, content: plain } } as unknown as RefMessage)
    }
    try {
      for (let i = 0; i < 60; i++) await one()
      await server.close()
      server = await startServer({ config: cfg, plugins: [friendsPlugin()], logger: quiet })
      await ref.ready()
      for (let i = 0; i < 60; i++) await one()

      assert.deepEqual(sortedDeep(await server.call('friends.hops')), sortedDeep(await ref.hops()))
      for (const opts of [{ max: 1 }, { max: 3 }, { start: ids[3] }, { reverse: true }]) {
        assert.deepEqual(
          sortedDeep(await server.call('friends.hops', [opts])),
          sortedDeep(await ref.hops(opts)),
        )
      }
      assert.deepEqual(sortedDeep(await server.call('friends.get')), sortedDeep(await ref.get()))
      const refFriends = ref.createFriendStream({ meta: true })
      const byId = (items: unknown[]) =>
        (items as { id: string }[]).sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0))
      assert.deepEqual(
        byId(await toArray(server.source('friends.createFriendStream', [{ meta: true }]))),
        byId(refFriends.items),
      )
      const refHops = ref.hopStream({})
      assert.deepEqual(
        sortedDeep(await toArray(server.source('friends.hopStream', [{}]))),
        sortedDeep(refHops.items),
      )
      const refStream = ref.stream()
      assert.deepEqual(
        sortedDeep(await toArray(server.source('friends.stream', [{ live: false }]))),
        sortedDeep(refStream.items),
      )
      refStream.stop()
      for (const source of ids) {
        // our own key always has full rights here (the reference would refuse it if we blocked
        // ourselves)
        if (source !== me) {
          const verdict = await ref.auth(source)
          if (verdict === 'client is blocked') refused++
          assert.equal(await server.call('auth', [source]), verdict === true ? undefined : false)
        }
        for (const dest of ids) {
          const pair = [{ source, dest }]
          assert.equal(
            await server.call('friends.isFollowing', pair),
            Boolean(await ref.isFollowing(source, dest)),
          )
          assert.equal(
            await server.call('friends.isBlocking', pair),
            await ref.isBlocking(source, dest),
          )
        }
      }
      // the history exercised private contacts and blocks of ours
      assert.ok(boxed > 0 && refused > 0, `boxed ${boxed}, refused ${refused}`)
      // the history exercised private contacts and blocks of ours
      assert.ok(boxed > 0 && refused > 0, `boxed ${boxed}, refused ${refused}`)
    } finally {
      await server.close()
      await rm(cfg.path, { recursive: true, force: true })
    }
  })
})
