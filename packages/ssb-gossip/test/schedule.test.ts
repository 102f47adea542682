import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import {
  backoff,
  emptyStats,
  type GossipPeer,
  type GroupOptions,
  nextAttempt,
  type PlanContext,
  planTick,
  selectPeers,
} from '../src/index.js'
import { fakePeer } from './helpers/servers.js'

const require = createRequire(import.meta.url)
// ssb-gossip 1.1.1's scheduler (installed with ssb-server 16): the oracle for `select`
const reference = require('ssb-gossip/schedule.js') as {
  select(peers: unknown[], ts: number, filter: (p: unknown) => boolean, opts: unknown): unknown[]
}

function peer(fields: Partial<GossipPeer> = {}): GossipPeer {
  const { id, key } = fakePeer()
  return {
    address: `net:10.0.0.1:8008~shs:${key}`,
    key: id as GossipPeer['key'],
    host: '10.0.0.1',
    port: 8008,
    source: 'pub',
    announcers: 1,
    duration: null,
    ...fields,
  }
}

const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({
  switches: { global: true, local: true, friends: true, seed: true },
  scale: 1,
  dropAfter: 10_000,
  isFriend: () => false,
  isLocal: (p) => p.source === 'local',
  isBlocked: () => false,
  canDial: () => true,
  isOutgoingOnly: () => true,
  ...over,
})

describe('back-off', () => {
  test('min(2^failures × factor, max)', () => {
    assert.equal(backoff(0, 2000, 600_000), 2000)
    assert.equal(backoff(3, 2000, 600_000), 16_000)
    assert.equal(backoff(20, 2000, 600_000), 600_000)
    assert.equal(backoff(5, 0, 0), 0)
    const o: GroupOptions = { quota: 3, factor: 2000, max: 600_000, groupMin: 1000 }
    assert.equal(nextAttempt(peer({ stateChange: 1000, failure: 2 }), o), 9000)
  })

  test('selectPeers agrees with ssb-gossip select on random tables', () => {
    let seed = 7
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const now = 1_000_000
    for (let round = 0; round < 300; round++) {
      const peers = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () =>
        peer({
          source: rnd() < 0.5 ? 'seed' : 'pub',
          // distinct times: the reference's sort is not stable, ties could come out either way
          stateChange: rnd() < 0.2 ? 0 : now - rnd() * 60_000,
          failure: Math.floor(rnd() * 6),
          state: rnd() < 0.3 ? 'connected' : rnd() < 0.1 ? 'connecting' : undefined,
        }),
      )
      const opts = {
        quota: Math.floor(rnd() * 4),
        factor: Math.floor(rnd() * 3000),
        max: 20_000,
        groupMin: Math.floor(rnd() * 3000),
      }
      const isSeed = (p: unknown) => (p as GossipPeer).source === 'seed'
      const ours = selectPeers(peers, now, isSeed, opts).map((p) => p.key)
      // the reference sorts in place and reads `stateChange|0`; give it copies
      const theirs = reference
        .select(
          peers.map((p) => ({ ...p })),
          now,
          isSeed,
          opts,
        )
        .map((p) => (p as GossipPeer).key)
      assert.deepEqual(new Set(ours), new Set(theirs), `round ${round}`)
    }
  })
})

describe('planTick', () => {
  const now = 10_000_000

  test('dials seeds, one unattempted peer, and nobody blocked or undialable', () => {
    const seeds = [peer({ source: 'seed' }), peer({ source: 'seed' })]
    const pubs = [peer(), peer()]
    const blocked = peer({ source: 'seed' })
    const undialable = peer({ source: 'seed' })
    const plan = planTick([...seeds, ...pubs, blocked, undialable], now, {
      ...ctx(),
      isBlocked: (p) => p === blocked,
      canDial: (p) => p !== undialable,
    })
    const chosen = new Set(plan.connect)
    assert.ok(seeds.every((s) => chosen.has(s)))
    assert.equal(pubs.filter((p) => chosen.has(p)).length, 1, 'one unattempted non-seed')
    assert.ok(!chosen.has(blocked))
    assert.ok(!chosen.has(undialable))
    assert.equal(new Set(plan.connect).size, plan.connect.length, 'each peer once')
  })

  test('a failing seed waits out its back-off', () => {
    const s = peer({ source: 'seed', stateChange: now - 5000, failure: 2 }) // waits 8 s
    assert.equal(
      planTick(
        [s],
        now,
        ctx({ switches: { global: false, local: false, friends: false, seed: true } }),
      ).connect.length,
      0,
    )
    assert.equal(
      planTick(
        [s],
        now + 3500,
        ctx({ switches: { global: false, local: false, friends: false, seed: true } }),
      ).connect.length,
      1,
    )
    // scaled timings for tests
    assert.equal(planTick([s], now, ctx({ scale: 0.01 })).connect.length, 1)
  })

  test('switches turn groups off', () => {
    const s = peer({ source: 'seed' })
    const off = { global: false, local: true, friends: true, seed: false }
    assert.equal(planTick([s], now, ctx({ switches: off })).connect.length, 0)
    const l = peer({ source: 'local' })
    assert.equal(planTick([l], now, ctx({ switches: { ...off, local: false } })).connect.length, 0)
    assert.equal(planTick([l], now, ctx({ switches: off })).connect.length, 1)
  })

  test('friends come first and count against their quota', () => {
    const friends = [peer(), peer(), peer(), peer()]
    const isFriend = (p: GossipPeer) => friends.includes(p)
    const plan = planTick(
      friends,
      now,
      ctx({ isFriend, switches: { global: false, local: false, friends: true, seed: false } }),
    )
    assert.equal(plan.connect.length, 3)
  })

  test('drops our short-lived connections to peers that do not answer pings', () => {
    const old = peer({ state: 'connected', stateChange: now - 20_000 })
    const fresh = peer({ state: 'connected', stateChange: now - 1000 })
    const pinged = peer({
      state: 'connected',
      stateChange: now - 20_000,
      ping: { rtt: { ...emptyStats(), count: 1, mean: 0.3, sum: 0.3 }, skew: emptyStats() },
    })
    const lan = peer({ state: 'connected', stateChange: now - 20_000, source: 'local' })
    const incoming = peer({ state: 'connected', stateChange: now - 20_000 })
    const plan = planTick([old, fresh, pinged, lan, incoming], now, {
      ...ctx(),
      isOutgoingOnly: (p) => p !== incoming,
    })
    assert.deepEqual(plan.disconnect, [old])
  })

  test('trims a group more than twice over its quota', () => {
    const seeds = Array.from({ length: 7 }, (_, i) =>
      peer({ source: 'seed', state: 'connected', stateChange: now - 1000 * (i + 1) }),
    )
    const plan = planTick(seeds, now, ctx({ dropAfter: 1e9 }))
    assert.equal(plan.disconnect.length, 4)
    assert.ok(plan.disconnect.includes(seeds[6]!), 'the oldest goes first')
  })
})
