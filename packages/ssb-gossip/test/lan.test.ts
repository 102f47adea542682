import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { describe, test } from 'node:test'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { MAX_BEACON_BYTES, parseBeacon } from '../src/index.js'
import { startReferenceServer } from './helpers/reference-server.js'
import { fakePeer, startNode, until } from './helpers/servers.js'

/** A UDP port that is free right now (bound and released). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4')
    s.once('error', reject)
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function sendUdp(port: number, payload: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4')
    s.send(payload, port, '127.0.0.1', (err) => {
      s.close()
      if (err) reject(err)
      else resolve()
    })
  })
}

describe('parseBeacon', () => {
  const me = fakePeer()
  const peer = fakePeer()
  const ctx = { ownId: me.id as FeedId, ownInterfaces: new Set(['192.0.2.2', '127.0.0.1']) }
  const lanSender = { address: '192.168.1.20', port: 8008 }

  test('reads the reference beacon: net and ws routes of one key, kept whole', () => {
    // the exact text ssb-server 16.0.1 broadcast when started with --host and --ws.port
    const text = `net:192.168.1.20:8008~shs:${peer.key};ws://192.168.1.20:8989~shs:${peer.key}`
    const got = parseBeacon(Buffer.from(text), lanSender, ctx)
    assert.ok(got)
    assert.equal(got.text, text)
    assert.equal(got.peer.key, peer.id)
    assert.equal(got.peer.host, '192.168.1.20')
    assert.equal(got.peer.dial, `net:192.168.1.20:8008~shs:${peer.key}`)
  })

  test('reads the legacy host:port:@key form', () => {
    const got = parseBeacon(Buffer.from(`192.168.1.20:8008:${peer.id}`), lanSender, ctx)
    assert.equal(got?.peer.key, peer.id)
  })

  test('ignores ourselves, junk, huge and non-UTF-8 packets', () => {
    const mine = `net:192.168.1.7:8008~shs:${me.key}`
    assert.equal(parseBeacon(Buffer.from(mine), lanSender, ctx), null)
    const other = `net:192.168.1.7:8008~shs:${peer.key}`
    assert.equal(parseBeacon(Buffer.from(other), lanSender, { ...ctx, ownBeacon: other }), null)
    for (const junk of ['', 'hello', 'net:~shs:', `net:h:1~shs:${peer.key}`.repeat(100)]) {
      assert.equal(parseBeacon(Buffer.from(junk), lanSender, ctx), null, junk.slice(0, 20))
    }
    assert.equal(parseBeacon(Buffer.alloc(MAX_BEACON_BYTES + 1, 0x61), lanSender, ctx), null)
    const bad = Buffer.concat([Buffer.from(`net:h:1~shs:${peer.key}`), Buffer.from([0xff, 0xfe])])
    assert.equal(parseBeacon(bad, lanSender, ctx), null)
  })

  test('a loopback address is believed only from this machine', () => {
    const text = Buffer.from(`net:127.0.0.1:8008~shs:${peer.key}`)
    assert.equal(parseBeacon(text, lanSender, ctx), null)
    assert.ok(parseBeacon(text, { address: '127.0.0.1', port: 8008 }, ctx))
    assert.ok(parseBeacon(text, { address: '192.0.2.2', port: 8008 }, ctx))
  })
})

describe('LAN discovery', () => {
  test('two of our servers on loopback find each other, connect, and forget each other', async (t) => {
    const port = await freeUdpPort()
    const lan = { broadcastAddress: '127.255.255.255', broadcastPort: port }
    const a = await startNode({ gossip: lan })
    const b = await startNode({ gossip: lan })
    t.after(async () => {
      await a.destroy()
      await b.destroy()
    })
    await until(() => a.gossip.get(b.id) && b.gossip.get(a.id), 5000, 'discovered')
    assert.equal(a.gossip.get(b.id)!.source, 'local')
    assert.equal(b.gossip.get(a.id)!.source, 'local')
    assert.equal(a.gossip.get(b.id)!.address, b.address)
    await until(
      () => a.gossip.get(b.id)?.state === 'connected' && b.gossip.get(a.id)?.state === 'connected',
      5000,
      'connected',
    )
    assert.ok(a.gossip.lanPeers()[b.id])

    // junk on the port: ignored, nobody added, nothing crashes
    const before = a.gossip.peers().length
    await sendUdp(port, 'hello')
    await sendUdp(port, Buffer.alloc(4000, 0x41))
    await sendUdp(port, `net:127.0.0.1:1~shs:${fakePeer().key.slice(3)}`)
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(a.gossip.peers().length, before)

    // B goes quiet: A removes it once the beacons stop (expiry 400 ms here)
    await b.stop()
    await until(() => !a.gossip.get(b.id), 3000, 'B forgotten')
    assert.ok(await a.server.call('whoami'))
  })

  test('gossip.local false: no beacons; enabling it starts them', async (t) => {
    const port = await freeUdpPort()
    const lan = { broadcastAddress: '127.255.255.255', broadcastPort: port }
    const a = await startNode({ gossip: lan })
    const b = await startNode({
      gossip: { ...lan, persistConfig: false },
      config: { gossip: { local: false } },
    })
    t.after(async () => {
      await a.destroy()
      await b.destroy()
    })
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(a.gossip.get(b.id), undefined, 'B is silent')
    assert.equal(b.gossip.get(a.id), undefined, 'B does not listen')
    b.gossip.enable('local')
    await until(() => a.gossip.get(b.id) && b.gossip.get(a.id), 3000, 'discovered after enable')
    b.gossip.disable('local')
    assert.equal(b.gossip.get(a.id), undefined, 'LAN peers dropped when LAN is switched off')
  })

  test('we hear a real ssb-server 16 beacon and connect to it', async (t) => {
    const ref = await startReferenceServer()
    t.after(() => ref.stop())
    // the reference binds its TCP port for UDP and broadcasts to 255.255.255.255 on it
    const node = await startNode({ gossip: { broadcastPort: ref.port } })
    t.after(() => node.destroy())
    const peer = await until(() => node.gossip.get(ref.id), 10_000, 'reference heard')
    assert.equal(peer.source, 'local')
    const key = ref.id.slice(1, -'.ed25519'.length)
    assert.equal(
      peer.address,
      `net:127.0.0.1:${ref.port}~shs:${key};ws://127.0.0.1:${ref.wsPort}~shs:${key}`,
    )
    await until(() => node.gossip.get(ref.id)?.state === 'connected', 10_000, 'connected')
    // the reference answers our gossip.ping
    await until(() => (node.gossip.get(ref.id)?.ping?.rtt.count ?? 0) > 0, 5000, 'rtt measured')
    assert.equal(ref.child.exitCode, null, `reference alive:\n${ref.output()}`)
  })
})
