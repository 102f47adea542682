// Interop with the real ssb-server 16 (ssb-protocol.md §4.8, §7.2): it follows our feeds, we
// request its feed, and 1,000 messages cross in both directions, whoever dials. When it dials
// us, it first asks for ebt.replicate, which we refuse, and falls back to history streams.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { connect, type RpcSession } from '@scuttlekit/ssb-rpc'
import { type ReferenceServer, startReferenceServer } from './helpers/reference-server.js'
import { held, MAIN_NET_SHS, type Ours, publishMany, startOurs, until } from './helpers/servers.js'

const COUNT = 1000

describe('with the real ssb-server 16', () => {
  let ref: ReferenceServer
  let rpc: RpcSession
  let dialler: Ours // dials the reference
  let dialled: Ours // is dialled by the reference
  const refHolds = new Map<string, number>()

  /** Asks the reference how much it holds of `feed` (0 while it has nothing). */
  async function refLatest(feed: string): Promise<number> {
    const n = await rpc.request('latestSequence', [feed]).catch(() => 0)
    refHolds.set(feed, Number(n))
    return Number(n)
  }

  async function untilRefHolds(feed: string, n: number, what: string): Promise<void> {
    const deadline = Date.now() + 20_000
    while ((await refLatest(feed)) < n) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${refHolds.get(feed)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  before(async () => {
    ;[ref, dialler, dialled] = await Promise.all([startReferenceServer(), startOurs(), startOurs()])
    // the reference's own key has full rights on it (ssb-master)
    rpc = await connect(ref.address, {
      keys: ref.keys,
      appKey: Buffer.from(MAIN_NET_SHS, 'base64'),
    })
    // it follows both of ours, so its ssb-friends requests them (hops 1)
    for (const ours of [dialler, dialled]) {
      await rpc.request('publish', [{ type: 'contact', contact: ours.id, following: true }])
    }
    for (let i = 0; i < COUNT; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          rpc.request('publish', [{ type: 'post', text: `reference ${i + j}` }]),
        ),
      )
    }
    await Promise.all([publishMany(dialler.server, COUNT), publishMany(dialled.server, COUNT)])
    dialler.api.request(ref.id)
    dialled.api.request(ref.id)
  })

  after(async () => {
    await rpc?.close()
    await Promise.all([ref?.stop(), dialler?.stop(), dialled?.stop()])
  })

  test('we dial it: its feed arrives here and ours there', async () => {
    assert.equal(await refLatest(ref.id), COUNT + 2)
    await dialler.server.connect(ref.address)
    await until(() => held(dialler.server, ref.id) === COUNT + 2, 20_000, 'the reference feed')
    await untilRefHolds(dialler.id, COUNT, 'the reference to hold our feed')
    assert.deepEqual(dialler.api.status().peers[ref.id]?.rejected, {})
  })

  test('an anonymous peer asking us for ebt.replicate gets an error reply (§4.8)', async () => {
    const peer = await connect(dialled.address, {
      keys: generateKeys(),
      appKey: Buffer.from(MAIN_NET_SHS, 'base64'),
    })
    try {
      await assert.rejects(
        (async () => {
          for await (const _ of peer.duplex('ebt.replicate', [{ version: 3 }], [])) {
            // nothing arrives
          }
        })(),
        {
          name: 'PermissionDeniedError',
          message: 'method:ebt,replicate is not in list of allowed methods',
        },
      )
    } finally {
      await peer.close()
    }
  })

  test('it dials us (ebt.replicate refused, legacy fallback): both feeds cross', async () => {
    const port = dialled.port
    // gossip.connect answers with the connection object, which does not survive JSON: ignore it
    await rpc
      .request('gossip.connect', [{ host: '127.0.0.1', port, key: dialled.id }])
      .catch(() => undefined)
    await until(() => held(dialled.server, ref.id) === COUNT + 2, 20_000, 'the reference feed')
    await untilRefHolds(dialled.id, COUNT, 'the reference to hold our feed')
    // the reference was the client of that connection
    assert.ok(dialled.api.status().peers[ref.id])
    assert.deepEqual(dialled.api.status().peers[ref.id]?.rejected, {})
  })
})
