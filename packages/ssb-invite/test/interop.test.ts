// Interop with the real ssb-server 16 (ssb-invite 2.1.8) in both roles.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { parseInviteCode } from '@scuttlekit/ssb-ref'
import { connect, type RpcSession } from '@scuttlekit/ssb-rpc'
import { type ReferenceServer, startReferenceServer } from './helpers/reference-server.js'
import { SHS, startNode, type TestNode } from './helpers/servers.js'

interface Kvt {
  key: string
  value: { author: string; sequence: number; content: Record<string, unknown> }
}

async function refConnect(ref: ReferenceServer): Promise<RpcSession> {
  return connect(ref.address, { keys: ref.keys, appKey: Buffer.from(SHS, 'base64') })
}

async function refFeed(rpc: RpcSession, id: string): Promise<Kvt[]> {
  const out: Kvt[] = []
  for await (const m of rpc.source('createHistoryStream', [{ id }])) out.push(m as Kvt)
  return out
}

describe('invites with the reference ssb-server 16', { timeout: 45_000 }, () => {
  let ref: ReferenceServer
  let rpc: RpcSession
  let ours: TestNode

  before(async () => {
    ref = await startReferenceServer(['--allowPrivate'])
    rpc = await refConnect(ref)
    ours = await startNode({ config: { allowPrivate: true } })
  })
  after(async () => {
    await rpc?.close().catch(() => {})
    await ref?.stop()
    await ours?.destroy()
  })

  test('a code created by the reference is accepted by ours', async () => {
    const code = (await rpc.request('invite.create', [{ uses: 1 }])) as string
    const parsed = parseInviteCode(code)
    assert.equal(parsed.form, 'legacy')
    assert.equal(parsed.address.key, ref.id)
    const msgs = (await ours.server.call('invite.accept', [code])) as Kvt[]
    assert.deepEqual(msgs[0]!.value.content, {
      type: 'contact',
      following: true,
      autofollow: true,
      contact: ref.id,
    })
    assert.deepEqual(msgs[1]!.value.content, {
      type: 'pub',
      address: { host: '127.0.0.1', port: ref.port, key: ref.id },
    })
    // the reference published that it follows us
    const feed = await refFeed(rpc, ref.id)
    const contact = feed.at(-1)!.value.content
    assert.deepEqual(contact, { type: 'contact', contact: ours.id, following: true, pub: true })

    // spent: the reference refuses the same code again, and says so cleanly
    const other = await startNode()
    try {
      await assert.rejects(
        other.server.call('invite.accept', [code]),
        /invite not accepted: method:invite,use is not in list of allowed methods/,
      )
      // and an unknown code the same way
      const unknown = `127.0.0.1:${ref.port}:${ref.id}~${randomBytes(32).toString('base64')}`
      await assert.rejects(
        other.server.call('invite.accept', [unknown]),
        /invite not accepted: method:invite,use is not in list of allowed methods/,
      )
    } finally {
      await other.destroy()
    }
  })

  // last: the reference may crash seconds after its own accept (reference-features.md §5.13.1)
  test('a code created by ours is accepted by the reference', async () => {
    // a pub that does not follow the reference yet (`ours` does, from the test above)
    const pub = await startNode({ config: { allowPrivate: true } })
    try {
      await acceptedByReference(pub)
    } finally {
      await pub.destroy()
    }
  })

  async function acceptedByReference(ours: TestNode) {
    const code = (await ours.server.call('invite.create', [{ uses: 1, note: 'hi ref' }])) as string
    const msgs = (await rpc.request('invite.accept', [code])) as Kvt[]
    assert.equal(msgs.length, 2)
    assert.deepEqual(msgs[0]!.value.content, {
      type: 'contact',
      following: true,
      autofollow: true,
      contact: ours.id,
    })
    assert.deepEqual(msgs[1]!.value.content, {
      type: 'pub',
      address: { host: '127.0.0.1', port: ours.port, key: ours.id },
    })
    const latest = await ours.server.db.getLatest(ours.id)
    assert.deepEqual(latest?.value.content, {
      type: 'contact',
      contact: ref.id,
      following: true,
      pub: true,
      note: 'hi ref',
    })
  }
})
