import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { GossipChange } from '../src/index.js'
import { startNode, type TestNode, until } from './helpers/servers.js'

test('a seed is dialled, backed off from while down, and reconnected when back', async (t) => {
  const a = await startNode()
  let a2: TestNode | undefined
  const b = await startNode({ config: { seeds: [a.address] } })
  t.after(async () => {
    await b.destroy()
    await a2?.stop()
    await a.destroy()
  })
  const events: { type: GossipChange['type']; at: number; failure?: number }[] = []
  const changes = new AbortController()
  void (async () => {
    for await (const c of b.gossip.changes(changes.signal)) {
      if (c.peer.key === a.id)
        events.push({ type: c.type, at: Date.now(), failure: c.peer.failure })
    }
  })()
  t.after(() => changes.abort())

  // B dials its seed
  const seed = b.gossip.get(a.id)
  assert.equal(seed?.source, 'seed')
  await until(() => b.gossip.get(a.id)?.state === 'connected', 5000, 'B connected to A')
  const peer = b.gossip.get(a.id)!
  assert.equal(peer.client, true)
  assert.equal(peer.failure, 0)
  // A sees B's connection (B is not in A's table: it shows in status)
  await until(() => a.server.status().gossip, 2000)
  const aStatus = a.server.status().gossip as Record<string, { state: string; client: boolean }>
  assert.equal(aStatus[b.id]?.state, 'connected')
  assert.equal(aStatus[b.id]?.client, false)
  // B measured a round trip with gossip.ping
  await until(() => (b.gossip.get(a.id)?.ping?.rtt.count ?? 0) > 0, 3000, 'ping rtt')
  const bStatus = b.server.status().gossip as Record<
    string,
    { state: string; stats: { rtt?: { count: number } } }
  >
  assert.equal(bStatus[a.id]?.state, 'connected')
  assert.ok((bStatus[a.id]?.stats.rtt?.count ?? 0) > 0)

  // A goes away: B records the disconnect, then failures with a growing back-off
  await a.stop()
  await until(() => events.some((e) => e.type === 'disconnect'), 3000, 'disconnect event')
  await until(
    () => events.filter((e) => e.type === 'connect-failure').length >= 5,
    10_000,
    'five failures',
  )
  const failures = events.filter((e) => e.type === 'connect-failure')
  assert.deepEqual(
    failures.slice(0, 5).map((f) => f.failure),
    [1, 2, 3, 4, 5],
  )
  const gaps = failures.slice(1, 5).map((f, i) => f.at - failures[i]!.at)
  // factor 20 ms (2 s × 0.01): waits of 40, 80, 160, 320 ms plus tick granularity
  assert.ok(gaps[3]! > gaps[0]!, `back-off grows: ${gaps.join(', ')}`)
  assert.ok(gaps[3]! >= 300, `the fourth wait is at least 2^4 × 20 ms: ${gaps[3]}`)
  assert.match(b.gossip.get(a.id)!.error ?? '', /./)

  // A comes back on the same port: B reconnects and clears the failures
  a2 = await startNode({ path: a.path, keys: a.keys, port: a.port })
  await until(() => b.gossip.get(a.id)?.state === 'connected', 8000, 'B reconnected')
  assert.equal(b.gossip.get(a.id)!.failure, 0)
  assert.equal(b.gossip.get(a.id)!.error, undefined)
  assert.ok(events.filter((e) => e.type === 'connect').length >= 2)
})

test('an unreachable or invalid seed never crashes the server', async (t) => {
  const b = await startNode({
    config: {
      seeds: [
        'net:127.0.0.1:1~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=',
        'junk',
        'net:~shs:',
        'ws://example.invalid:8989~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=',
      ],
    },
  })
  t.after(() => b.destroy())
  const id = '@gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=.ed25519'
  await until(() => (b.gossip.get(id)?.failure ?? 0) >= 2, 5000, 'failures')
  assert.equal(b.gossip.peers().length, 1, 'junk seeds skipped, the ws twin is the same key')
  assert.ok(await b.server.call('whoami'))
})

test('offline: no seeds and no dialling', async (t) => {
  const a = await startNode()
  const b = await startNode({ config: { seeds: [a.address], offline: true } })
  t.after(async () => {
    await b.destroy()
    await a.destroy()
  })
  await new Promise((r) => setTimeout(r, 200))
  assert.deepEqual(b.gossip.peers(), [])
  // a manual connect still works
  const peer = await b.gossip.connect(a.address)
  assert.equal(peer.state, 'connected')
  assert.equal(peer.source, 'manual')
})

test('gossip.seed false leaves seeds alone; enabling it dials them', async (t) => {
  const a = await startNode()
  const b = await startNode({
    config: { seeds: [a.address], gossip: { seed: false, global: false } },
    gossip: { persistConfig: false },
  })
  t.after(async () => {
    await b.destroy()
    await a.destroy()
  })
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(b.gossip.get(a.id)?.state, undefined)
  assert.equal(b.gossip.enable('seed'), 'enabled gossip type seed')
  await until(() => b.gossip.get(a.id)?.state === 'connected', 3000, 'connected after enable')
})
