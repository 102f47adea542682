import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FeedId } from '@scuttlekit/ssb-ref'
import {
  BLOCK,
  contactEdge,
  contactWeight,
  FOLLOW,
  FollowGraph,
  type HopChange,
  hopsQuery,
  UNFOLLOW,
} from '../src/graph.js'
import { legacyGet, legacyGraph } from '../src/legacy.js'
import { CONTENTS, feedId, rng } from './helpers/random.js'
import { ReferenceFriends, type RefMessage } from './helpers/reference-friends.js'

/** A history of contact messages, fed to both implementations the same way. */
class History {
  readonly messages: RefMessage[] = []
  private readonly seqs = new Map<string, number>()

  add(author: string, contact: unknown, rest: Record<string, unknown> = {}): RefMessage {
    const sequence = (this.seqs.get(author) ?? 0) + 1
    this.seqs.set(author, sequence)
    const msg: RefMessage = {
      key: `%${this.messages.length}`,
      value: { author, sequence, content: { type: 'contact', contact, ...rest } },
      timestamp: this.messages.length + 1,
    }
    this.messages.push(msg)
    return msg
  }
}

function edgeOf(msg: RefMessage) {
  return contactEdge(msg.value.author, msg.value.content)
}

function sorted(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

function sortedDeep(o: unknown): unknown {
  if (typeof o !== 'object' || o === null) return o
  return Object.fromEntries(
    Object.entries(o)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortedDeep(v)]),
  )
}

/** Ours and the reference, both loaded with `initial`, then fed `live` one message at a time. */
async function both(me: FeedId, max: number, initial: readonly RefMessage[]) {
  const ref = new ReferenceFriends(me, max)
  for (const m of initial) ref.add(m)
  await ref.ready()
  const ours = new FollowGraph(me, max)
  ours.load(initial.flatMap((m) => edgeOf(m) ?? []))
  return { ref, ours }
}

/** Compares everything the reference answers about a graph. */
async function compareAll(
  ref: ReferenceFriends,
  ours: FollowGraph,
  feeds: readonly FeedId[],
  why: string,
) {
  assert.deepEqual(sorted(Object.fromEntries(ours.hops())), sorted(await ref.hops()), why)
  for (const max of [1, 2, 3, 4, 6]) {
    assert.deepEqual(
      sorted(Object.fromEntries(hopsQuery(ours, { max }))),
      sorted(await ref.hops({ max })),
      `${why}: hops({max: ${max}})`,
    )
  }
  for (const start of feeds.slice(0, 3)) {
    assert.deepEqual(
      sorted(Object.fromEntries(hopsQuery(ours, { start }))),
      sorted(await ref.hops({ start })),
      `${why}: hops({start})`,
    )
    assert.deepEqual(
      sorted(Object.fromEntries(hopsQuery(ours, { start, reverse: true, max: 3 }))),
      sorted(await ref.hops({ start, reverse: true, max: 3 })),
      `${why}: hops({start, reverse})`,
    )
  }
  assert.deepEqual(sortedDeep(legacyGraph(ours)), sortedDeep(await ref.get()), `${why}: get()`)
  for (const a of feeds.slice(0, 4)) {
    assert.deepEqual(
      sortedDeep(legacyGet(ours, { source: a })),
      sortedDeep(await ref.get({ source: a })),
    )
    assert.deepEqual(
      sortedDeep(legacyGet(ours, { dest: a })),
      sortedDeep(await ref.get({ dest: a })),
    )
    for (const b of feeds.slice(0, 4)) {
      assert.deepEqual(
        legacyGet(ours, { source: a, dest: b }),
        await ref.get({ source: a, dest: b }),
      )
      assert.equal(
        ours.isFollowing(a, b),
        Boolean(await ref.isFollowing(a, b)),
        `${why}: isFollowing`,
      )
      assert.equal(ours.isBlocking(a, b), await ref.isBlocking(a, b), `${why}: isBlocking`)
    }
  }
  // what the reference pushes into replicate.block, against our blocks()
  const refBlocks = [...ref.blocks]
    .filter(([, on]) => on)
    .map(([k]) => k)
    .sort()
  const ourBlocks = feeds.flatMap((f) => ours.blocks(f).map((t) => `${f} ${t}`)).sort()
  assert.deepEqual(ourBlocks, refBlocks, `${why}: blocks`)
}

describe('contact weights', () => {
  test('every content shape weighs as the reference reduce weighs it', async () => {
    const me = feedId('me')
    const ref = new ReferenceFriends(me, 2)
    await ref.ready()
    const h = new History()
    const targets = CONTENTS.map((_, i) => feedId(`t${i}`))
    for (const [i, content] of CONTENTS.entries()) {
      const msg = h.add(me, targets[i], content)
      ref.add(msg)
    }
    const hops = await ref.hops()
    for (const [i, content] of CONTENTS.entries()) {
      // an edge from hop 0 gives its weight as the target's hops
      assert.equal(contactWeight(content), hops[targets[i]!], JSON.stringify(content))
    }
    assert.equal(contactWeight({ following: true }), FOLLOW)
    assert.equal(contactWeight({ following: true, flagged: 1 }), BLOCK)
    assert.equal(contactWeight({ following: 'true' }), UNFOLLOW)
    assert.equal(contactWeight('boxed'), UNFOLLOW)
  })

  test('edges need a feed author and a feed contact', () => {
    const a = feedId('a')
    assert.deepEqual(contactEdge(a, { contact: feedId('b'), following: true }), {
      from: a,
      to: feedId('b'),
      weight: 1,
    })
    assert.equal(contactEdge(a, { contact: '@nope' }), undefined)
    assert.equal(contactEdge(a, { contact: `%${feedId('b').slice(1)}` }), undefined)
    assert.equal(contactEdge('@x', { contact: feedId('b') }), undefined)
    assert.equal(contactEdge(a, 'boxed string'), undefined)
    assert.equal(contactEdge(a, null), undefined)
  })
})

describe('hand-made graphs against the reference', () => {
  const me = feedId('me')
  const [a, b, c, d, x, y] = ['a', 'b', 'c', 'd', 'x', 'y'].map(feedId) as [
    FeedId,
    FeedId,
    FeedId,
    FeedId,
    FeedId,
    FeedId,
  ]
  const feeds = [me, a, b, c, d, x, y]

  async function check(max: number, build: (h: History) => void, expected: Record<string, number>) {
    const h = new History()
    build(h)
    const { ref, ours } = await both(me, max, h.messages)
    await compareAll(ref, ours, feeds, 'loaded')
    assert.deepEqual(sorted(Object.fromEntries(ours.hops())), sorted(expected))
    // the same history applied live, message by message, ends in the same place
    const live = await both(me, max, [])
    for (const m of h.messages) {
      const e = edgeOf(m)
      if (e) live.ours.set(e.from, e.to, e.weight)
      live.ref.add(m)
    }
    await compareAll(live.ref, live.ours, feeds, 'live')
  }

  test('follows reach max hops and stop there', async () => {
    const build = (h: History) => {
      h.add(me, a, { following: true })
      h.add(a, b, { following: true })
      h.add(b, c, { following: true })
      h.add(c, d, { following: true })
    }
    await check(2, build, { [me]: 0, [a]: 1, [b]: 2 })
    await check(3, build, { [me]: 0, [a]: 1, [b]: 2, [c]: 3 })
    await check(1, build, { [me]: 0, [a]: 1 })
  })

  test('a block of ours beats every follow path', async () => {
    await check(
      2,
      (h) => {
        h.add(me, a, { following: true })
        h.add(a, x, { following: true })
        h.add(me, x, { blocking: true })
        h.add(x, y, { following: true })
      },
      { [me]: 0, [a]: 1, [x]: -1 },
    )
  })

  test("a friend's follow beats another friend's block at the same distance", async () => {
    await check(
      2,
      (h) => {
        h.add(me, a, { following: true })
        h.add(me, b, { following: true })
        h.add(a, x, { blocking: true })
        h.add(b, x, { following: true })
      },
      { [me]: 0, [a]: 1, [b]: 1, [x]: 2 },
    )
  })

  test('a nearer block beats a farther follow; blocked feeds pass nothing on', async () => {
    await check(
      3,
      (h) => {
        h.add(me, a, { following: true })
        h.add(a, b, { following: true })
        h.add(b, x, { following: true })
        h.add(a, x, { flagged: true })
        h.add(x, y, { following: true })
      },
      { [me]: 0, [a]: 1, [b]: 2, [x]: -2 },
    )
  })

  test('an unfollow leaves the feed at −2 and drops what it reached', async () => {
    await check(
      2,
      (h) => {
        h.add(me, a, { following: true })
        h.add(a, b, { following: true })
        h.add(me, a, { following: false })
      },
      { [me]: 0, [a]: -2 },
    )
  })

  test('cycles, self-follows and blocks of our own feed', async () => {
    await check(
      3,
      (h) => {
        h.add(me, a, { following: true })
        h.add(a, b, { following: true })
        h.add(b, a, { following: true })
        h.add(b, me, { blocking: true })
        h.add(a, a, { following: true })
        h.add(b, c, { following: true })
        h.add(c, me, { following: true })
      },
      { [me]: 0, [a]: 1, [b]: 2, [c]: 3 },
    )
  })
})

describe('random histories against the reference', () => {
  /**
   * Builds a random history over `n` feeds, loads the first part into both, then applies the
   * rest live, comparing after each message (hops, and the reference's hopStream diffs against
   * our changes). For max ≥ 4 the reference's live updates drift from its own state after a
   * restart (its dynamic-dijkstra hard-codes 3 in one shortcut); there we compare with a
   * reference restarted on the same history, which is what `hops` gives after a restart.
   */
  async function run(seed: number, n: number, m: number, max: number) {
    const r = rng(seed)
    const names = Array.from({ length: n }, (_, i) => feedId(`s${seed}n${i}`))
    names[0] = feedId('me')
    const me = names[0]!
    const h = new History()
    for (let i = 0; i < m; i++) {
      const author = names[Math.floor(r() * n)]!
      const contact = r() < 0.02 ? '@not-a-feed' : names[Math.floor(r() * n)]!
      const content = CONTENTS[Math.floor(r() * CONTENTS.length)]!
      h.add(author, contact, content)
    }
    const cut = Math.floor(m / 2)
    const { ref, ours } = await both(me, max, h.messages.slice(0, cut))
    const why = `seed ${seed} n ${n} m ${m} max ${max}`
    await compareAll(ref, ours, names, `${why} loaded`)
    const stream = ref.hopStream({ live: true, old: true })
    let state = { ...(stream.items[0] as Record<string, number>) }
    let seen = 1
    for (const msg of h.messages.slice(cut)) {
      const e = edgeOf(msg)
      const changes: HopChange[] = e ? ours.set(e.from, e.to, e.weight) : []
      ref.add(msg)
      if (max > 3) continue
      const refDiff = Object.assign({}, ...(stream.items.slice(seen) as object[])) as Record<
        string,
        number
      >
      seen = stream.items.length
      // the reference's diff may repeat unchanged values and never lists feeds that left
      const refChanged = Object.entries(refDiff).filter(([k, v]) => state[k] !== v)
      const ourChanged = changes.filter((c) => c.hops !== null).map((c) => [c.feed, c.hops])
      assert.deepEqual(
        sortedDeep(Object.fromEntries(ourChanged)),
        sortedDeep(Object.fromEntries(refChanged)),
        why,
      )
      for (const c of changes) assert.equal(c.previous ?? undefined, state[c.feed], why)
      state = { ...state, ...refDiff }
      for (const c of changes) if (c.hops === null) delete state[c.feed]
      assert.deepEqual(sorted(Object.fromEntries(ours.hops())), sorted(await ref.hops()), why)
    }
    stream.stop()
    if (max <= 3) await compareAll(ref, ours, names, `${why} live`)
    const restarted = await both(me, max, h.messages)
    await compareAll(restarted.ref, ours, names, `${why} restarted`)
  }

  test('max 1–3: live updates, diffs and every query match', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const max = 1 + (seed % 3)
      await run(seed, 6 + (seed % 10), 20 + ((seed * 7) % 80), max)
    }
  })

  test('max 4–6: the state matches the reference after a restart', async () => {
    for (let seed = 100; seed <= 140; seed++) {
      await run(seed, 10 + (seed % 15), 60 + ((seed * 13) % 140), 4 + (seed % 3))
    }
  })

  test('a larger graph', async () => {
    await run(7, 200, 3000, 2)
    await run(8, 150, 2000, 3)
  })
})
