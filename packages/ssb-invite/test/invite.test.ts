import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { parseInviteCode } from '@scuttlekit/ssb-ref'
import { connect } from '@scuttlekit/ssb-rpc'
import type { SsbServer } from '@scuttlekit/ssb-server'
import { appKeyOf } from '@scuttlekit/ssb-server'
import {
  AlreadyFollowingError,
  InvalidInviteOptionsError,
  InviteNotAcceptedError,
  isPrivateHost,
  PrivateInviteHostError,
} from '../src/index.js'
import { startNode, type TestNode } from './helpers/servers.js'

interface Kvt {
  key: string
  value: { author: string; content: Record<string, unknown> }
}

async function latestContent(server: SsbServer, feed: string) {
  const latest = await server.db.getLatest(feed)
  return latest?.value.content as Record<string, unknown> | undefined
}

function friendsOf(node: TestNode) {
  return node.server.plugin<{ isFollowing(a: string, b: string): boolean }>('friends')!
}

describe('invites between two of our servers', () => {
  let pub: TestNode
  let user: TestNode

  before(async () => {
    pub = await startNode({ config: { allowPrivate: true } })
    user = await startNode({ gossip: true })
  })
  after(async () => {
    await user?.destroy()
    await pub?.destroy()
  })

  test('a legacy code is accepted: both sides follow, the pub is announced and seeded', async () => {
    const code = (await pub.server.call('invite.create', [{ uses: 1, note: 'welcome' }])) as string
    const key = pub.id.slice(1, -8)
    assert.match(
      code,
      new RegExp(`^127\\.0\\.0\\.1:${pub.port}:@${key.replace(/[+/]/g, '\\$&')}\\.ed25519~`),
    )
    const parsed = parseInviteCode(code)
    assert.equal(parsed.form, 'legacy')
    assert.equal(Buffer.from(parsed.seed, 'base64').length, 32)

    const msgs = (await user.server.call('invite.accept', [code])) as Kvt[]
    assert.equal(msgs.length, 2)
    assert.deepEqual(msgs[0]!.value.content, {
      type: 'contact',
      following: true,
      autofollow: true,
      contact: pub.id,
    })
    assert.deepEqual(msgs[1]!.value.content, {
      type: 'pub',
      address: { host: '127.0.0.1', port: pub.port, key: pub.id },
    })
    assert.equal(msgs[0]!.value.author, user.id)

    assert.deepEqual(await latestContent(pub.server, pub.id), {
      type: 'contact',
      contact: user.id,
      following: true,
      pub: true,
      note: 'welcome',
    })
    assert.equal(friendsOf(pub).isFollowing(pub.id, user.id), true)
    assert.equal(friendsOf(user).isFollowing(user.id, pub.id), true)

    const gossip = user.server.plugin<{ peers(): { key: string; source: string }[] }>('gossip')!
    const peer = gossip.peers().find((p) => p.key === pub.id)
    assert.ok(peer, 'the pub is in the peer table')
    assert.equal(peer.source, 'seed')

    // the same single-use code again: the key is anonymous now, invite.use is not allowed
    const other = await startNode()
    try {
      await assert.rejects(other.server.call('invite.accept', [code]), (err: Error) => {
        assert.ok(err instanceof InviteNotAcceptedError)
        assert.match(err.message, /method:invite,use is not in list of allowed methods/)
        return true
      })
      assert.equal(await other.server.db.getLatest(other.id), undefined, 'nothing published')
    } finally {
      await other.destroy()
    }
  })

  test('an unknown code (random seed) is refused cleanly', async () => {
    const code = `127.0.0.1:${pub.port}:${pub.id}~${randomBytes(32).toString('base64')}`
    await assert.rejects(user.server.call('invite.accept', [code]), (err: Error) => {
      assert.ok(err instanceof InviteNotAcceptedError)
      assert.match(err.message, /not in list of allowed methods/)
      return true
    })
  })

  test('a multiserver (modern) code in quotes, {invite} form; already following is refused', async () => {
    const code = (await pub.server.call('invite.create', [{ modern: true, uses: 5 }])) as string
    assert.match(code, /^net:127\.0\.0\.1:\d+~shs:[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/)
    const third = await startNode()
    try {
      const msgs = (await third.server.call('invite.accept', [{ invite: `"${code}"` }])) as Kvt[]
      assert.equal(msgs[0]!.value.content.contact, pub.id)
      assert.equal(friendsOf(pub).isFollowing(pub.id, third.id), true)
      // modern codes are single use, as in the reference
      const fourth = await startNode()
      try {
        await assert.rejects(fourth.server.call('invite.accept', [code]), InviteNotAcceptedError)
      } finally {
        await fourth.destroy()
      }
    } finally {
      await third.destroy()
    }
    // the pub follows `user` already: a fresh invite is not spent on it
    const again = (await pub.server.call('invite.create', [2])) as string
    await assert.rejects(user.server.call('invite.accept', [again]), (err: Error) => {
      assert.ok(err instanceof InviteNotAcceptedError)
      assert.match(err.message, /already following/)
      return true
    })
    assert.equal(new AlreadyFollowingError('x').message, 'already following')
  })

  test('invite.use checks its request; two guests racing for the last use: one wins', async () => {
    const code = (await pub.server.call('invite.create', [1])) as string
    const { address, seed } = parseInviteCode(code)
    const keys = generateKeys(Buffer.from(seed, 'base64'))
    const dial = () =>
      connect(
        { host: address.host, port: address.port, key: address.key },
        { keys, appKey: appKeyOf(pub.config) },
      )
    const a = await dial()
    const b = await dial()
    try {
      await assert.rejects(a.request('invite.use', [{}]), /feed to follow is missing/)
      await assert.rejects(a.request('invite.use', [{ feed: 'nope' }]), /invalid feed id/)
      // a guest may call nothing else
      await assert.rejects(a.request('invite.create', [1]), /not in list of allowed methods/)
      const f1 = generateKeys().id
      const f2 = generateKeys().id
      const results = await Promise.allSettled([
        a.request('invite.use', [{ feed: f1 }]),
        b.request('invite.use', [{ feed: f2 }]),
      ])
      const ok = results.filter((r) => r.status === 'fulfilled')
      const failed = results.filter((r) => r.status === 'rejected')
      assert.equal(ok.length, 1)
      assert.equal(failed.length, 1)
      assert.match(String((failed[0] as PromiseRejectedResult).reason), /invite has expired/)
    } finally {
      await a.close()
      await b.close()
    }
    const stored = JSON.parse(await readFile(join(pub.path, 'invites.json'), 'utf8'))
    const record = stored[keys.id]
    assert.equal(record.used, 1)
    assert.equal(record.total, 1)
    assert.deepEqual(record.permissions, { allow: [], deny: null })
  })
})

describe('invite.create', () => {
  test('refuses a private host unless allowPrivate, takes external, checks options', async () => {
    const node = await startNode()
    try {
      await assert.rejects(node.server.call('invite.create', [1]), (err: Error) => {
        assert.ok(err instanceof PrivateInviteHostError)
        assert.equal(
          err.message,
          'Server has no public ip address, cannot create useable invitation',
        )
        return true
      })
      await assert.rejects(
        node.server.call('invite.create', [{ external: 'localhost' }]),
        PrivateInviteHostError,
      )
      // a host name works (the reference fails with `invalid ipv4 address`, §5.13.2)
      const code = (await node.server.call('invite.create', [
        { external: 'pub.example.com' },
      ])) as string
      assert.match(code, new RegExp(`^pub\\.example\\.com:${node.port}:@`))
      await assert.rejects(
        node.server.call('invite.create', [{ uses: -1 }]),
        InvalidInviteOptionsError,
      )
      await assert.rejects(node.server.call('invite.create', ['3']), InvalidInviteOptionsError)
      await assert.rejects(
        node.server.call('invite.create', [{ external: 'bad host!' }]),
        InvalidInviteOptionsError,
      )
    } finally {
      await node.destroy()
    }
  })

  test('invites survive a restart', async () => {
    const first = await startNode({ config: { allowPrivate: true } })
    const code = (await first.server.call('invite.create', [1])) as string
    await first.stop()
    const pub = await startNode({
      path: first.path,
      keys: first.keys,
      config: { allowPrivate: true },
    })
    const user = await startNode()
    try {
      const fixed = code.replace(`:${first.port}:`, `:${pub.port}:`)
      await user.server.call('invite.accept', [fixed])
      assert.equal(friendsOf(pub).isFollowing(pub.id, user.id), true)
    } finally {
      await user.destroy()
      await pub.destroy()
    }
  })

  test('isPrivateHost', () => {
    for (const h of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.1',
      '172.20.0.1',
      '169.254.1.1',
      '',
      'localhost',
      '::1',
      'fd00::1',
      'fe80::1',
    ])
      assert.equal(isPrivateHost(h), true, h)
    for (const h of ['8.8.8.8', '172.32.0.1', 'example.com', '2001:db8::1'])
      assert.equal(isPrivateHost(h), false, h)
  })
})
