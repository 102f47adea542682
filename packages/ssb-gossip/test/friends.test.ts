import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Plugin } from '@scuttlekit/ssb-server'
import type { GossipChange } from '../src/index.js'
import { startNode, until } from './helpers/servers.js'

/** A stand-in for the friends plugin: only its `api.hops()`, as the real one will offer. */
function fakeFriends(hops: Record<string, number>): Plugin {
  return { name: 'friends', init: () => ({ api: { hops: async () => hops } }) }
}

test('friends (1 hop) are dialled first; a blocked peer (hops -1) never is', async (t) => {
  const friend = await startNode()
  const blocked = await startNode()
  const node = await startNode({
    plugins: [fakeFriends({ [friend.id]: 1, [blocked.id]: -1 })],
    // only the friends group: friend is dialled because the friends plugin says so
    config: { gossip: { global: false } },
  })
  t.after(async () => {
    await node.destroy()
    await friend.destroy()
    await blocked.destroy()
  })
  const events: GossipChange[] = []
  const stop = new AbortController()
  void (async () => {
    for await (const c of node.gossip.changes(stop.signal)) events.push(c)
  })()
  t.after(() => stop.abort())
  node.gossip.add(friend.address, 'pub')
  node.gossip.add(blocked.address, 'pub')
  await until(() => node.gossip.get(friend.id)?.state === 'connected', 3000, 'friend dialled')
  // with the global groups on too, the blocked peer is still never tried
  node.gossip.enable('global')
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(node.gossip.get(blocked.id)?.stateChange, undefined)
  assert.ok(!events.some((e) => e.peer.key === blocked.id && e.type !== 'discover'))
})

test('our connection to a peer without gossip.ping is dropped; one that answers stays', async (t) => {
  const mute = await startNode({ noGossip: true })
  const talker = await startNode()
  const node = await startNode({
    config: { gossip: { global: false } },
    gossip: { timers: { dropAfter: 300 } },
  })
  t.after(async () => {
    await node.destroy()
    await mute.destroy()
    await talker.destroy()
  })
  await node.gossip.connect(mute.address)
  await node.gossip.connect(talker.address)
  await until(() => node.gossip.get(mute.id)?.ping?.fail, 2000, 'ping refused')
  await until(() => node.gossip.get(mute.id)?.state === undefined, 3000, 'mute peer dropped')
  assert.equal(node.gossip.get(talker.id)?.state, 'connected')
  assert.ok((node.gossip.get(talker.id)?.ping?.rtt.count ?? 0) > 0)
  assert.ok((node.gossip.get(mute.id)?.duration?.mean ?? 0) >= 300)
})
