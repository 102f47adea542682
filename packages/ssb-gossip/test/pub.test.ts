import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fakePeer, keyOf, startNode, type TestNode, until } from './helpers/servers.js'

test('pub messages fill the table (live and at start), and the scheduler dials the pub', async (t) => {
  const pub = await startNode()
  const node = await startNode()
  let again: TestNode | undefined
  t.after(async () => {
    await again?.stop()
    await node.destroy()
    await pub.destroy()
  })
  const publish = (content: unknown) => node.server.call('publish', [content])

  await publish({ type: 'pub', address: { host: '127.0.0.1', port: pub.port, key: pub.id } })
  await until(() => node.gossip.get(pub.id), 2000, 'pub in the table')
  assert.equal(node.gossip.get(pub.id)!.source, 'pub')
  await until(() => node.gossip.get(pub.id)?.state === 'connected', 5000, 'pub dialled')

  // a multiserver string is an address too; junk and our own address are skipped
  const other = fakePeer()
  await publish({ type: 'pub', address: `net:10.4.4.4:8008~shs:${other.key}` })
  await publish({ type: 'pub', address: 'net:~shs:' })
  await publish({ type: 'pub', address: { host: 'x', port: 'y', key: 'z' } })
  await publish({ type: 'pub', address: { host: '127.0.0.1', port: node.port, key: node.id } })
  await publish({ type: 'pub' })
  await publish({ type: 'pub', address: `net:10.4.4.5:8008~shs:${keyOf(node.keys)}` })
  await until(() => node.gossip.get(other.id), 2000, 'string pub address')
  // another announcement of a known pub counts
  await publish({ type: 'pub', address: { host: '127.0.0.1', port: pub.port, key: pub.id } })
  await until(() => node.gossip.get(pub.id)!.announcers === 2, 2000, 'announcers')
  assert.equal(node.gossip.peers().length, 2)
  assert.ok(await node.server.call('whoami'))

  // at start, the old pub messages are read again
  await node.stop()
  again = await startNode({ path: node.path, keys: node.keys, gossip: { timers: { save: 1e6 } } })
  await until(() => again!.gossip.get(other.id)?.source === 'pub', 2000, 'pubs at start')
})

test('gossip.autoPopulate or gossip.pub false: pub messages are not read', async (t) => {
  for (const gossip of [{ autoPopulate: false }, { pub: false }]) {
    const node = await startNode({ config: { gossip } })
    t.after(() => node.destroy())
    const other = fakePeer()
    await node.server.call('publish', [
      { type: 'pub', address: `net:10.4.4.4:8008~shs:${other.key}` },
    ])
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(node.gossip.get(other.id), undefined, JSON.stringify(gossip))
  }
})
