import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { connect, type RpcSession } from '@scuttlekit/ssb-rpc'
import type { GossipChange, gossipHelp } from '../src/index.js'
import { fakePeer, SHS, startNode, type TestNode, until } from './helpers/servers.js'

const require = createRequire(import.meta.url)
const appKey = Buffer.from(SHS, 'base64')

describe('gossip methods over RPC', () => {
  let node: TestNode
  let other: TestNode
  let master: RpcSession
  before(async () => {
    node = await startNode({ config: { gossip: { global: false } } })
    other = await startNode()
    master = await connect(node.address, { keys: node.keys, appKey })
  })
  after(async () => {
    await master.close()
    await node.destroy()
    await other.destroy()
  })

  test('the manifest is ssb-gossip 1.1.1 manifest, and ping is anonymous', () => {
    const reference = require('ssb-gossip/manifest.json') as Record<string, string>
    assert.deepEqual(node.server.manifest().gossip, reference)
  })

  test('add takes a bare multiserver string (the reference crashes on it), legacy forms too', async () => {
    const p = fakePeer()
    const added = (await master.request('gossip.add', [`net:10.9.8.7:8008~shs:${p.key}`])) as {
      key: string
      host: string
      source: string
    }
    assert.equal(added.key, p.id)
    assert.equal(added.host, '10.9.8.7')
    assert.equal(added.source, 'manual')
    const q = fakePeer()
    const legacy = (await master.request('gossip.add', [`10.9.8.6:8008:${q.id}`, 'pub'])) as {
      address: string
      source: string
    }
    assert.equal(legacy.address, `net:10.9.8.6:8008~shs:${q.key}`)
    assert.equal(legacy.source, 'pub')
    const r = fakePeer()
    await master.request('gossip.add', [{ host: '10.9.8.5', port: 8008, key: r.id }])
    assert.equal(((await master.request('gossip.get', [r.id])) as { port: number }).port, 8008)
    // ourselves: nothing added (undefined travels as false, as with JS muxrpc)
    assert.equal(await master.request('gossip.add', [node.address]), false)
    assert.ok(!(await node.gossip.peers()).some((x) => x.key === node.id))
    // give the scheduler a few ticks with string-added peers in the table (defect 5.13.1)
    await new Promise((r) => setTimeout(r, 150))
    assert.ok(await master.request('whoami', []))
  })

  test('add refuses junk with an error reply and the server lives on', async () => {
    const before = node.gossip.peers().length
    const junk: unknown[] = [
      'net:~shs:',
      'junk',
      '',
      42,
      null,
      { host: 'h' },
      [1, 2],
      `net:h:1~shs:${'A'.repeat(5000)}`,
      'unix:/tmp/x~noauth',
    ]
    for (const j of junk) {
      await assert.rejects(master.request('gossip.add', [j]), { name: 'InvalidAddressError' })
    }
    await assert.rejects(master.request('gossip.add', [`net:h:1~shs:${fakePeer().key}`, 'boss']), {
      name: 'InvalidPeerSourceError',
    })
    assert.equal(node.gossip.peers().length, before)
    assert.ok(await master.request('whoami', []))
  })

  test('get, remove and peers', async () => {
    const p = fakePeer()
    node.gossip.add(`net:10.1.1.1:8008~shs:${p.key}`)
    assert.equal(
      ((await master.request('gossip.get', [{ key: p.id }])) as { key: string }).key,
      p.id,
    )
    assert.equal(await master.request('gossip.get', [fakePeer().id]), false)
    await assert.rejects(master.request('gossip.get', ['nope']), {
      name: 'PeerIdRequiredError',
      message: 'must provide id:"nope"',
    })
    const peers = (await master.request('gossip.peers', [])) as { key: string }[]
    assert.ok(peers.some((x) => x.key === p.id))
    assert.equal(await master.request('gossip.remove', [p.id]), true)
    assert.equal(await master.request('gossip.remove', [p.id]), false)
    assert.equal(node.gossip.get(p.id), undefined)
  })

  test('connect answers a plain peer record, disconnect closes, errors are clean', async () => {
    const peer = (await master.request('gossip.connect', [other.address])) as Record<
      string,
      unknown
    >
    assert.deepEqual(JSON.parse(JSON.stringify(peer)), peer, 'prints as JSON')
    assert.equal(peer.key, other.id)
    assert.equal(peer.state, 'connected')
    assert.equal(peer.source, 'manual')
    assert.equal(peer.client, true)
    // again by feed id: the open connection is reused
    const again = (await master.request('gossip.connect', [other.id])) as { state: string }
    assert.equal(again.state, 'connected')
    assert.equal(node.server.sessions().filter((s) => s.info.remoteId === other.id).length, 1)

    assert.equal(await master.request('gossip.disconnect', [other.id]), true)
    await until(() => node.gossip.get(other.id)?.state === undefined, 2000, 'disconnected')
    assert.equal(await master.request('gossip.disconnect', [other.id]), false)
    assert.ok((node.gossip.get(other.id)!.duration?.count ?? 0) >= 1)

    const unknown = fakePeer().id
    await assert.rejects(master.request('gossip.connect', [unknown]), {
      name: 'UnknownPeerError',
      message: `no known address for peer:${unknown}`,
    })
    await assert.rejects(master.request('gossip.connect', ['junk']), {
      name: 'InvalidAddressError',
    })
    await assert.rejects(master.request('gossip.connect', []), { name: 'InvalidAddressError' })
    // a peer that is not there: a failure is recorded
    const ghost = fakePeer()
    await assert.rejects(master.request('gossip.connect', [`net:127.0.0.1:1~shs:${ghost.key}`]))
    const g = node.gossip.get(ghost.id)!
    assert.equal(g.failure, 1)
    assert.equal(g.state, undefined)
    assert.match(g.error ?? '', /./)
    // an onion peer is kept but cannot be dialled here
    const onion = fakePeer()
    await assert.rejects(
      master.request('gossip.connect', [`onion:abc.onion:8008~shs:${onion.key}`]),
      {
        name: 'NotDialableError',
      },
    )
  })

  test('changes streams discover, connect, disconnect and remove', async () => {
    const stop = new AbortController()
    const seen: GossipChange[] = []
    const reading = (async () => {
      for await (const c of node.server.source('gossip.changes', [], stop.signal)) {
        seen.push(c as GossipChange)
      }
    })()
    // the same over the wire
    const remote: GossipChange[] = []
    const remoteReading = (async () => {
      for await (const c of master.source('gossip.changes', [])) {
        remote.push(c as GossipChange)
        if ((c as GossipChange).type === 'remove') break
      }
    })()
    await new Promise((r) => setTimeout(r, 50))
    node.gossip.remove(other.id)
    await until(() => seen.length >= 1 && remote.length >= 1, 2000, 'remove event')
    await node.gossip.connect(other.address)
    await node.gossip.disconnect(other.id)
    await until(() => seen.some((c) => c.type === 'disconnect'), 2000, 'disconnect event')
    node.gossip.remove(other.id)
    await until(() => seen.filter((c) => c.type === 'remove').length >= 2, 2000, 'second remove')
    await remoteReading
    stop.abort()
    await reading
    const mine = seen.map((c) => c.type)
    assert.deepEqual(mine, ['remove', 'discover', 'connect', 'disconnect', 'remove'])
    assert.equal(seen[1]!.source, 'manual')
    assert.equal(seen[2]!.peer.state, 'connected')
    assert.deepEqual(
      remote.map((c) => c.type),
      ['remove'],
    )
    assert.equal(remote[0]!.peer.key, other.id)
  })

  test('ping is answered for any peer with Date.now(); other gossip methods are not', async () => {
    const stranger = await connect(node.address, { keys: generateKeys(), appKey })
    try {
      const t0 = Date.now()
      const replies = stranger.duplex(['gossip', 'ping'], [{ timeout: 300000 }], [t0])
      const got: unknown[] = []
      for await (const v of replies) got.push(v)
      assert.equal(got.length, 1)
      assert.equal(typeof got[0], 'number')
      assert.ok((got[0] as number) >= t0 && (got[0] as number) <= Date.now())
      await assert.rejects(stranger.request('gossip.peers', []), { name: 'PermissionDeniedError' })
      await assert.rejects(stranger.request('gossip.add', [other.address]), {
        name: 'PermissionDeniedError',
      })
      // junk on the ping stream is ignored
      const junk: unknown[] = []
      for await (const v of stranger.duplex(['gossip', 'ping'], [{}], ['x', { a: 1 }, 5]))
        junk.push(v)
      assert.equal(junk.length, 1)
    } finally {
      await stranger.close()
    }
  })

  test('reconnect closes peer connections, help describes every method', async () => {
    await node.gossip.connect(other.address)
    const ts = (await master.request('gossip.reconnect', [])) as number
    assert.ok(Math.abs(ts - Date.now()) < 5000)
    await until(() => !node.server.sessions().some((s) => s.info.remoteId === other.id), 2000)
    assert.ok(!master.isClosed, 'our own client stays')
    const help = (await master.request('gossip.help', [])) as typeof gossipHelp
    assert.deepEqual(
      Object.keys(help.commands).sort(),
      Object.keys(node.server.manifest().gossip as object).sort(),
    )
  })
})

describe('enable and disable', () => {
  test('switch groups and persist them in <path>/config when it is JSON', async (t) => {
    const node = await startNode()
    t.after(() => node.destroy())
    const file = join(node.path, 'config')
    await writeFile(file, JSON.stringify({ logging: { level: 'info' }, gossip: { pub: false } }))
    assert.equal(node.gossip.disable('friends'), 'disabled gossip type friends')
    assert.equal(await node.server.call('gossip.disable', []), 'disabled gossip type global')
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {
      logging: { level: 'info' },
      gossip: { pub: false, friends: false, global: false },
    })
    assert.equal(node.gossip.switches().global, false)
    assert.equal(await node.server.call('gossip.enable', ['global']), 'enabled gossip type global')
    assert.equal(JSON.parse(await readFile(file, 'utf8')).gossip.global, true)
    await assert.rejects(node.server.call('gossip.enable', ['__proto__']), {
      name: 'InvalidGossipTypeError',
    })
    await assert.rejects(node.server.call('gossip.disable', [{}]), {
      name: 'InvalidGossipTypeError',
    })
  })

  test('an INI config is left alone', async (t) => {
    const node = await startNode()
    t.after(() => node.destroy())
    const file = join(node.path, 'config')
    const ini = '; my settings\nport=8008\n[gossip]\nlocal=true\n'
    await writeFile(file, ini)
    const answer = node.gossip.disable('local')
    assert.match(answer, /^disabled gossip type local \(until restart: .* not rewritten/)
    assert.equal(await readFile(file, 'utf8'), ini)
    assert.equal(node.gossip.switches().local, false)
  })

  test('no config file: one is created', async (t) => {
    const node = await startNode()
    t.after(() => node.destroy())
    node.gossip.disable('seed')
    assert.deepEqual(JSON.parse(await readFile(join(node.path, 'config'), 'utf8')), {
      gossip: { seed: false },
    })
  })
})
