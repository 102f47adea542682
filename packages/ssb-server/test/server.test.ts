import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { connect, type RpcSession } from '@scuttlekit/ssb-rpc'
import {
  PermissionSet,
  type Plugin,
  type ServerConfig,
  type SsbServer,
  startServer,
} from '@scuttlekit/ssb-server'
import { pino } from 'pino'

const require = createRequire(import.meta.url)
const appKey = Buffer.from('1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=', 'base64')
const quiet = pino({ level: 'silent' })

async function tempConfig(extra: Partial<ServerConfig> = {}): Promise<ServerConfig> {
  const path = await mkdtemp(join(tmpdir(), 'ssb-server-test-'))
  return {
    path,
    keys: generateKeys(),
    caps: { shs: appKey.toString('base64') },
    host: '127.0.0.1',
    port: 0,
    ...extra,
  }
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

const echoPlugin: Plugin = {
  name: 'echo',
  anonymous: ['open'],
  init: () => ({
    methods: {
      open: { type: 'async', fn: (args) => args },
      secret: { type: 'async', fn: () => 'only for masters' },
      nested: { deeper: { type: 'sync', fn: () => 'deep' } },
      count: {
        type: 'source',
        fn: async function* (args) {
          for (let i = 0; i < (args[0] as number); i++) yield i
        },
      },
      sum: {
        type: 'sink',
        fn: async (_args, call) => {
          let total = 0
          for await (const x of call.input!) total += x as number
          call.session.data.set('sum', total)
        },
      },
      double: {
        type: 'duplex',
        fn: (_args, call) =>
          (async function* () {
            for await (const x of call.input!) yield (x as number) * 2
          })(),
      },
    },
    status: () => ({ fine: true }),
  }),
}

describe('a server with the core and one plugin', () => {
  let config: ServerConfig
  let server: SsbServer
  let port: number
  before(async () => {
    config = await tempConfig()
    server = await startServer({ config, plugins: [echoPlugin], logger: quiet })
    port = server.port!
  })
  after(async () => {
    await server.close()
    await rm(config.path, { recursive: true, force: true })
  })

  test('the manifest has the core methods with the reference types and the plugin', async () => {
    const manifest = server.manifest()
    const reference = JSON.parse(
      await readFile(require.resolve('./fixtures/reference-manifest.json'), 'utf8'),
    ) as Record<string, unknown>
    // every core method we serve has the reference's type
    for (const name of [
      'auth',
      'address',
      'manifest',
      'multiserver',
      'add',
      'createFeedStream',
      'createHistoryStream',
      'createLogStream',
      'createUserStream',
      'del',
      'get',
      'getLatest',
      'getVectorClock',
      'help',
      'latest',
      'getFeedState',
      'latestSequence',
      'links',
      'messagesByType',
      'progress',
      'publish',
      'rebuild',
      'status',
      'version',
      'whoami',
    ]) {
      assert.deepEqual(manifest[name], reference[name], name)
    }
    assert.deepEqual(manifest.echo, {
      open: 'async',
      secret: 'async',
      nested: { deeper: 'sync' },
      count: 'source',
      sum: 'sink',
      double: 'duplex',
    })
    const written = JSON.parse(await readFile(join(config.path, 'manifest.json'), 'utf8'))
    assert.deepEqual(written, manifest)
  })

  test('in-process calls with full rights', async () => {
    assert.deepEqual(await server.call('whoami'), { id: server.id })
    const kvt = (await server.call('publish', [{ type: 'post', text: 'hi' }])) as { key: string }
    assert.deepEqual(
      await server.call('get', [kvt.key]).then((v) => (v as { content: unknown }).content),
      {
        type: 'post',
        text: 'hi',
      },
    )
    assert.equal(await server.call('echo.nested.deeper'), 'deep')
    assert.deepEqual(await toArray(server.source('echo.count', [3])), [0, 1, 2])
    const status = (await server.call('status')) as Record<string, unknown>
    assert.deepEqual(status.echo, { fine: true })
    assert.ok('progress' in status && 'sync' in status)
    assert.equal(typeof (await server.call('version')), 'string')
  })

  test('the unix socket gives full rights and has mode 0600', async () => {
    const socket = join(config.path, 'socket')
    assert.equal((await stat(socket)).mode & 0o777, 0o600)
    const rpc = await connect(`unix:${socket}~noauth`, { keys: generateKeys(), appKey })
    try {
      assert.deepEqual(await rpc.request(['whoami'], []), { id: server.id })
      assert.equal(await rpc.request(['echo', 'secret'], []), 'only for masters')
    } finally {
      await rpc.close()
    }
  })

  describe('over TCP', () => {
    let master: RpcSession
    let anon: RpcSession
    before(async () => {
      const address = `net:127.0.0.1:${port}~shs:${server.id.slice(1, -8)}`
      master = await connect(address, { keys: config.keys, appKey })
      anon = await connect(address, { keys: generateKeys(), appKey })
    })
    after(async () => {
      await Promise.all([master.close(), anon.close()])
    })

    test('every kind of method', async () => {
      assert.deepEqual(await master.request('echo.open', [1, 'a']), [1, 'a'])
      assert.deepEqual(await toArray(master.source('echo.count', [4])), [0, 1, 2, 3])
      await master.sink(
        'echo.sum',
        [],
        (async function* () {
          yield 1
          yield 2
        })(),
      )
      const doubled = await toArray(
        master.duplex(
          'echo.double',
          [],
          (async function* () {
            yield 5
            yield 6
          })(),
        ),
      )
      assert.deepEqual(doubled, [10, 12])
    })

    test('a type mismatch is refused with the reference message', async () => {
      await assert.rejects(master.request(['createHistoryStream'], [{ id: server.id }]), {
        message: 'no async:createHistoryStream',
      })
      await assert.rejects(toArray(master.source(['whoami'], [])), { message: 'no source:whoami' })
      await assert.rejects(master.request(['nope'], []), { message: 'no async:nope' })
      await assert.rejects(master.request(['echo', 'nested'], []), {
        message: 'no async:echo,nested',
      })
    })

    test('an anonymous peer gets the anonymous list and nothing else', async () => {
      assert.deepEqual(await anon.request(['echo', 'open'], [1]), [1])
      await assert.rejects(anon.request(['echo', 'secret'], []), {
        name: 'PermissionDeniedError',
        message: 'method:echo,secret is not in list of allowed methods',
      })
      await assert.rejects(anon.request(['whoami'], []), {
        message: 'method:whoami is not in list of allowed methods',
      })
      const manifest = (await anon.request(['manifest'], [])) as Record<string, unknown>
      assert.equal(manifest.whoami, 'sync')
      const hist = await toArray(anon.source(['createHistoryStream'], [{ id: server.id }]))
      assert.ok(hist.length >= 1)
    })

    test('history guards: a refused requester gets an empty stream; full rights are not checked', async () => {
      const anonId = anon.info.remoteId
      // on the server side the anonymous peer is known by its key; find it among the sessions
      const requesters: string[] = []
      const remove = server.guardHistory((feed, requester) => {
        requesters.push(requester)
        return feed !== server.id
      })
      try {
        assert.deepEqual(
          await toArray(anon.source(['createHistoryStream'], [{ id: server.id }])),
          [],
        )
        const other = generateKeys().id
        assert.deepEqual(await toArray(anon.source(['createHistoryStream'], [{ id: other }])), [])
        assert.equal(requesters.length, 2)
        assert.notEqual(requesters[0], server.id)
        const all = await toArray(master.source(['createHistoryStream'], [{ id: server.id }]))
        assert.ok(all.length >= 1)
        assert.equal(requesters.length, 2)
      } finally {
        remove()
      }
      assert.ok(anonId)
      assert.ok(
        (await toArray(anon.source(['createHistoryStream'], [{ id: server.id }]))).length >= 1,
      )
    })

    test("a peer's history stream stops before the author's block of it, old or live", async () => {
      // the server knows the anonymous peer by the key it proved; find it among its sessions
      const peerIds = server
        .sessions()
        .map((s) => s.info.remoteId)
        .filter((id) => id !== server.id)
      assert.equal(peerIds.length, 1)
      const peer = peerIds[0]!
      const before = await server.db.latestSequence(server.id).catch(() => 0)
      // live: the stream is open when the block is published
      const items: Array<{ sequence: number }> = []
      const live = (async () => {
        for await (const v of anon.source(
          ['createHistoryStream'],
          [{ id: server.id, seq: before + 1, live: true, keys: false }],
        )) {
          items.push(v as { sequence: number })
        }
      })()
      // what a follow-graph plugin does: the block takes effect when it is committed
      const blocked = new Set<string>()
      const removeGuard = server.guardHistory((_feed, requester) => !blocked.has(requester))
      await server.call('publish', [{ type: 'post', text: 'still for everyone' }])
      blocked.add(peer)
      await server.call('publish', [{ type: 'contact', contact: peer, blocking: true }])
      await server.call('publish', [{ type: 'post', text: 'after the block' }])
      // ended by the server before the block (a stream that goes on would time out here)
      const ended = await Promise.race([
        live.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref()),
      ])
      assert.ok(ended, 'the live stream ended at the block')
      assert.deepEqual(
        items.map((m) => m.sequence),
        [before + 1],
      )
      // while the block holds a new stream is refused outright; once it is revoked, the old
      // block message is served like any other (the reference would stop before it for ever)
      assert.deepEqual(await toArray(anon.source(['createHistoryStream'], [{ id: server.id }])), [])
      blocked.delete(peer)
      removeGuard()
      const old = (await toArray(
        anon.source(['createHistoryStream'], [{ id: server.id, keys: false }]),
      )) as Array<{ sequence: number }>
      assert.equal(old.at(-1)!.sequence, before + 3)
      // full rights see everything
      const all = await toArray(master.source(['createHistoryStream'], [{ id: server.id }]))
      assert.equal(all.length, before + 3)
    })

    test('validation errors travel with their names', async () => {
      await assert.rejects(master.request(['latestSequence'], ['@x']), {
        name: 'ParamTypeError',
        message: 'Param 0 must by of type feedId',
      })
      await assert.rejects(master.request(['get'], ['%nope']), { name: 'ParamTypeError' })
    })
  })
})

describe('permissions', () => {
  test('muxrpc prefix semantics', () => {
    const p = new PermissionSet({ allow: ['blobs', 'gossip.ping', 'manifest'], deny: ['blobs.rm'] })
    assert.ok(p.allows(['blobs', 'has']))
    assert.ok(p.allows(['gossip', 'ping']))
    assert.ok(!p.allows(['gossip', 'peers']))
    assert.ok(!p.allows(['gossip']))
    assert.ok(!p.allows(['blobs', 'rm']))
    assert.ok(p.allows(['manifest']))
    assert.ok(!p.allows(['__proto__']))
    assert.ok(!p.allows(['constructor']))
    assert.throws(() => p.check(['blobs', 'rm']), {
      message: 'method:blobs,rm is on list of disallowed methods',
    })
  })
})

describe('master keys and plugin authorization', () => {
  test('config.master gets full rights; a plugin can refuse a peer', async () => {
    const masterKeys = generateKeys()
    const blocked = generateKeys()
    const config = await tempConfig({ master: [masterKeys.id] })
    const guard: Plugin = {
      name: 'guard',
      init: () => ({ authorize: (id) => (id === blocked.id ? false : undefined) }),
    }
    const server = await startServer({ config, plugins: [guard], logger: quiet })
    try {
      const address = `net:127.0.0.1:${server.port!}~shs:${server.id.slice(1, -8)}`
      const rpc = await connect(address, { keys: masterKeys, appKey })
      assert.deepEqual(await rpc.request(['whoami'], []), { id: server.id })
      await rpc.close()
      await assert.rejects(connect(address, { keys: blocked, appKey, handshakeTimeoutMs: 2000 }))
      assert.equal(await server.call('auth', [blocked.id]), false)
      assert.deepEqual(await server.call('auth', [masterKeys.id]), { allow: null, deny: null })
    } finally {
      await server.close()
      await rm(config.path, { recursive: true, force: true })
    }
  })

  test('a port in use is a ListenError naming it; an anonymous peer gets no auth answer', async () => {
    const first = await startServer({ config: await tempConfig(), logger: quiet })
    const port = first.port!
    const config = await tempConfig({ port })
    try {
      assert.equal(await first.call('auth', [generateKeys().id]), undefined)
      await assert.rejects(startServer({ config, logger: quiet }), {
        name: 'ListenError',
        message: `cannot listen on 127.0.0.1:${port}: the port is in use (is another server running?)`,
      })
      assert.deepEqual(await first.call('whoami'), { id: first.id })
    } finally {
      await first.close()
      await rm(first.config.path, { recursive: true, force: true })
      await rm(config.path, { recursive: true, force: true })
    }
  })

  test('a second server on the same directory fails fast and the first serves on', async () => {
    const config = await tempConfig()
    const first = await startServer({ config, logger: quiet })
    try {
      await assert.rejects(startServer({ config, logger: quiet }), { name: 'DatabaseLockedError' })
      assert.deepEqual(await first.call('whoami'), { id: first.id })
    } finally {
      await first.close()
      await rm(config.path, { recursive: true, force: true })
    }
  })
})
