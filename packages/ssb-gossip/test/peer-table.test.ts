import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import {
  InvalidAddressError,
  InvalidPeerSourceError,
  isLoopbackHost,
  PeerTable,
  PeerTableFullError,
  parsePeerAddress,
  peerKeyOf,
} from '../src/index.js'
import { fakePeer } from './helpers/servers.js'

const require = createRequire(import.meta.url)
// npm ssb-ref 2.16 (installed with ssb-server 16): the oracle for what a JS peer reads
const ref = require('ssb-ref') as {
  parseAddress(a: string): { host: string; port: number; key: string } | false
  isAddress(a: unknown): boolean
}

const me = fakePeer()
const a = fakePeer()
const b = fakePeer()

describe('parsePeerAddress', () => {
  test('reads the three forms and agrees with ssb-ref on host, port and key', () => {
    const inputs = [
      `net:10.0.0.5:8008~shs:${a.key}`,
      `net:::1:8008~shs:${a.key}`,
      `net:example.com:1234~shs:${a.key}`,
      `10.0.0.5:8008:${a.id}`,
      `net:192.168.1.5:8008~shs:${a.key};ws://192.168.1.5:8989~shs:${a.key}`,
    ]
    for (const input of inputs) {
      const ours = parsePeerAddress(input)
      // ssb-ref prints a deprecation trace for parseAddress; keep the test output clean
      const trace = console.trace
      console.trace = () => {}
      const theirs = ref.parseAddress(input)
      console.trace = trace
      assert.ok(theirs, input)
      assert.equal(ours.key, theirs.key, input)
      assert.equal(ours.host, theirs.host, input)
      assert.equal(ours.port, theirs.port, input)
      assert.ok(ref.isAddress(ours.address), `ssb-ref accepts what we store: ${ours.address}`)
    }
    const legacy = parsePeerAddress(`10.0.0.5:8008:${a.id}`)
    assert.equal(legacy.address, `net:10.0.0.5:8008~shs:${a.key}`)
    const obj = parsePeerAddress({ host: '10.0.0.5', port: 8008, key: a.id })
    assert.equal(obj.address, `net:10.0.0.5:8008~shs:${a.key}`)
    assert.equal(parsePeerAddress({ host: '10.0.0.5', port: '8008', key: a.id }).port, 8008)
  })

  test('keeps the whole text of a multi-route address and dials only its net routes', () => {
    const text = `net:192.168.1.5:8008~shs:${a.key};ws://192.168.1.5:8989~shs:${a.key};unix:/tmp/x~noauth`
    const p = parsePeerAddress(text)
    assert.equal(p.address, text)
    assert.equal(p.dial, `net:192.168.1.5:8008~shs:${a.key}`)
    assert.equal(parsePeerAddress(`ws://h.example:8989~shs:${a.key}`).dial, null)
    assert.equal(parsePeerAddress(`onion:abc.onion:8008~shs:${a.key}`).dial, null)
    // a route with another key is not dialled as this peer
    const mixed = parsePeerAddress(`net:h:1~shs:${a.key};net:h:2~shs:${b.key}`)
    assert.equal(mixed.dial, `net:h:1~shs:${a.key}`)
  })

  test('an object prefers a usable address field', () => {
    const p = parsePeerAddress({
      address: `net:h:9~shs:${a.key}`,
      host: 'other',
      port: 1,
      key: a.id,
    })
    assert.equal(p.host, 'h')
    assert.throws(() => parsePeerAddress({ address: `net:h:9~shs:${a.key}`, key: b.id }), {
      name: 'InvalidAddressError',
    })
  })

  test('refuses junk with InvalidAddressError', () => {
    const junk: unknown[] = [
      '',
      'hello',
      'net:',
      `net:h:8008`,
      `net:h:8008~shs:`,
      `net:h:8008~shs:${a.key.slice(2)}`,
      `net:h:99999~shs:${a.key}`,
      `unix:/tmp/sock~noauth`,
      `h:8008:${a.id.slice(0, -3)}`,
      `h:port:${a.id}`,
      `net:h:8008~shs:${a.key}${'x'.repeat(3000)}`,
      42,
      null,
      undefined,
      [],
      { host: 'h' },
      { host: 'h', port: 8008, key: 'nope' },
      { host: '', port: 8008, key: a.id },
    ]
    for (const input of junk) {
      assert.throws(() => parsePeerAddress(input), InvalidAddressError, String(input))
    }
  })

  test('peerKeyOf reads ids, {key} and addresses', () => {
    assert.equal(peerKeyOf(a.id), a.id)
    assert.equal(peerKeyOf({ key: a.id }), a.id)
    assert.equal(peerKeyOf(`net:h:1~shs:${a.key}`), a.id)
    assert.equal(peerKeyOf('nope'), undefined)
    assert.equal(peerKeyOf({ key: 'nope' }), undefined)
    assert.equal(peerKeyOf(undefined), undefined)
  })

  test('isLoopbackHost', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
      assert.ok(isLoopbackHost(h), h)
    }
    for (const h of ['10.0.0.1', 'example.com', '::2', '128.0.0.1'])
      assert.ok(!isLoopbackHost(h), h)
  })
})

describe('PeerTable', () => {
  test('adds, finds and removes peers, with events', () => {
    const t = new PeerTable(me.id as never)
    const events: string[] = []
    t.onEvent((e) => events.push(`${e.type}:${e.entry.peer.key === a.id ? 'a' : 'b'}`))
    const e1 = t.add(`net:10.0.0.5:8008~shs:${a.key}`, 'pub')!
    assert.equal(e1.peer.source, 'pub')
    assert.equal(e1.peer.announcers, 1)
    assert.equal(e1.peer.duration, null)
    assert.equal(t.add(`10.0.0.5:8008:${a.id}`, 'manual'), e1, 'same key, same entry')
    assert.equal(e1.peer.announcers, 2)
    t.add({ host: '10.0.0.6', port: 8008, key: b.id })
    assert.equal(t.get(b.id)!.peer.source, 'manual')
    assert.equal(t.size, 2)
    assert.equal(t.remove(a.id), e1)
    assert.equal(t.remove(a.id), undefined)
    assert.deepEqual(events, ['discover:a', 'discover:b', 'remove:a'])
  })

  test('never adds our own key', () => {
    const t = new PeerTable(me.id as never)
    assert.equal(t.add(`net:10.0.0.5:8008~shs:${me.key}`), undefined)
    assert.equal(t.size, 0)
  })

  test('source rules: friends and local take over, stored gives way, local is not counted', () => {
    const t = new PeerTable(me.id as never)
    const addr = `net:10.0.0.5:8008~shs:${a.key}`
    t.add(addr, 'stored')
    t.add(addr, 'seed')
    assert.equal(t.get(a.id)!.peer.source, 'seed')
    assert.equal(t.get(a.id)!.peer.announcers, 1)
    t.add(addr, 'pub')
    assert.equal(t.get(a.id)!.peer.announcers, 2)
    t.add(addr, 'local')
    assert.equal(t.get(a.id)!.peer.source, 'local')
    t.add(addr, 'pub')
    assert.equal(t.get(a.id)!.peer.announcers, 2, 'a local peer does not count announcements')
    t.add(addr, 'friends')
    assert.equal(t.get(a.id)!.peer.source, 'friends')
  })

  test('refuses unknown sources and bad addresses', () => {
    const t = new PeerTable(me.id as never)
    assert.throws(() => t.add(`net:h:1~shs:${a.key}`, 'evil'), InvalidPeerSourceError)
    assert.throws(() => t.add('junk'), InvalidAddressError)
    assert.equal(t.size, 0)
  })

  test('limits: total and LAN peers, manual always taken', () => {
    const t = new PeerTable(me.id as never, { maxPeers: 2, maxLocalPeers: 1 })
    t.add(`net:h:1~shs:${fakePeer().key}`, 'local')
    assert.throws(() => t.add(`net:h:1~shs:${fakePeer().key}`, 'local'), PeerTableFullError)
    t.add(`net:h:1~shs:${fakePeer().key}`, 'pub')
    assert.throws(() => t.add(`net:h:1~shs:${fakePeer().key}`, 'pub'), PeerTableFullError)
    t.add(`net:h:1~shs:${fakePeer().key}`, 'manual')
    assert.equal(t.size, 3)
  })

  test('restore keeps well-typed statistics and drops the rest', () => {
    const t = new PeerTable(me.id as never)
    const stats = { mean: 5, stdev: 1, count: 2, sum: 10, sqsum: 52 }
    t.restore({
      host: '10.0.0.5',
      port: 8008,
      key: a.id,
      source: 'pub',
      announcers: 3,
      duration: stats,
      stateChange: 1000,
      failure: 2,
      state: 'connected',
      ping: { rtt: stats, skew: stats },
      evil: 'x',
    })
    const p = t.get(a.id)!.peer
    assert.equal(p.source, 'stored')
    assert.equal(p.announcers, 3)
    assert.deepEqual(p.duration, stats)
    assert.equal(p.failure, 2)
    assert.equal(p.state, undefined)
    assert.deepEqual(p.ping?.rtt, stats)
    assert.equal((p as unknown as Record<string, unknown>).evil, undefined)
    t.restore({ host: '10.0.0.6', port: 8008, key: b.id, duration: 'x', failure: -1 })
    assert.equal(t.get(b.id)!.peer.duration, null)
    assert.equal(t.get(b.id)!.peer.failure, undefined)
  })

  test('toStored leaves out LAN peers and state, and keeps host and port', () => {
    const t = new PeerTable(me.id as never)
    t.add(`net:10.0.0.5:8008~shs:${a.key}`, 'seed')
    t.add(`net:10.0.0.6:8008~shs:${b.key}`, 'local')
    t.get(a.id)!.peer.state = 'connected'
    const stored = t.toStored()
    assert.equal(stored.length, 1)
    assert.equal(stored[0]!.state, undefined)
    assert.equal(stored[0]!.host, '10.0.0.5')
    assert.equal(stored[0]!.port, 8008)
    assert.equal(stored[0]!.address, `net:10.0.0.5:8008~shs:${a.key}`)
  })
})
