// The real ssb-client and ssb-server 16 from npm against ours, both directions: the calls apps
// make, the network key check, and the rights of an anonymous peer.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { connectClient } from '@scuttlekit/ssb-client'
import { generateKeys, type Keys } from '@scuttlekit/ssb-keys'
import { connect } from '@scuttlekit/ssb-rpc'
import { MAIN_NET_SHS, type OurServer, startOurServer } from './helpers/our-server.js'
import {
  REFERENCE_BIN,
  type ReferenceServer,
  startReferenceServer,
} from './helpers/reference-server.js'

const require = createRequire(import.meta.url)
const run = promisify(execFile)

type Cb<T> = (err: Error | null, value?: T) => void
type PullSource = (abort: unknown, cb: (end: unknown, data?: unknown) => void) => void
interface RefClient {
  id: string
  whoami(cb: Cb<{ id: string }>): void
  publish(content: object, cb: Cb<{ key: string; value: { content: unknown } }>): void
  get(id: unknown, cb: Cb<unknown>): void
  latestSequence(id: string, cb: Cb<number>): void
  createLogStream(opts?: object): PullSource
  createHistoryStream(opts: object): PullSource
  createFeedStream(opts?: object): PullSource
  messagesByType(opts: object | string): PullSource
  close(cb: Cb<void>): void
}
const ssbClient = require('ssb-client') as (keys: object, opts: object, cb: Cb<RefClient>) => void
const pull = require('pull-stream') as {
  (...streams: unknown[]): unknown
  collect(cb: Cb<unknown[]>): unknown
}

function refConnect(keys: Keys, port: number, remoteKey: string, shs = MAIN_NET_SHS) {
  return new Promise<RefClient>((resolve, reject) =>
    ssbClient(
      keys,
      {
        host: '127.0.0.1',
        port,
        key: remoteKey,
        caps: { shs },
        timers: { handshake: 3000 },
        path: '/nonexistent',
      },
      (err, client) => (err ? reject(err) : resolve(client!)),
    ),
  )
}

function cb<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))))
}

function collect(source: PullSource): Promise<unknown[]> {
  return new Promise((resolve, reject) =>
    pull(
      source,
      pull.collect((err, items) => (err ? reject(err) : resolve(items!))),
    ),
  )
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('npm ssb-client and the reference CLI against our server', () => {
  let ours: OurServer
  let client: RefClient
  before(async () => {
    ours = await startOurServer()
    client = await refConnect(ours.keys, ours.port, ours.id)
  })
  after(async () => {
    await cb<void>((c) => client.close(c)).catch(() => {})
    await ours.stop()
  })

  test('whoami, publish, get, latestSequence', async () => {
    assert.deepEqual(await cb((c) => client.whoami(c)), { id: ours.id })
    const msg = await cb<{ key: string; value: { content: unknown } }>((c) =>
      client.publish({ type: 'post', text: 'from npm ssb-client' }, c),
    )
    assert.match(msg.key, /^%.+\.sha256$/)
    const value = (await cb<unknown>((c) => client.get(msg.key, c))) as { content: unknown }
    assert.deepEqual(value.content, { type: 'post', text: 'from npm ssb-client' })
    const meta = (await cb<unknown>((c) => client.get({ id: msg.key, meta: true }, c))) as {
      key: string
    }
    assert.equal(meta.key, msg.key)
    assert.equal(await cb((c) => client.latestSequence(ours.id, c)), 1)
  })

  test('the streams', async () => {
    await cb((c) => client.publish({ type: 'vote', n: 2 }, c))
    const log = (await collect(client.createLogStream())) as Array<{ value: { sequence: number } }>
    assert.deepEqual(
      log.map((m) => m.value.sequence),
      [1, 2],
    )
    const hist = (await collect(client.createHistoryStream({ id: ours.id, seq: 2 }))) as Array<{
      value: { content: { type: string } }
    }>
    assert.deepEqual(
      hist.map((m) => m.value.content.type),
      ['vote'],
    )
    const feed = (await collect(client.createFeedStream({ reverse: true }))) as Array<{
      value: { sequence: number }
    }>
    assert.deepEqual(
      feed.map((m) => m.value.sequence),
      [2, 1],
    )
    const byType = (await collect(client.messagesByType({ type: 'post' }))) as unknown[]
    assert.equal(byType.length, 1)
    const keysOnly = await collect(client.createLogStream({ values: false }))
    assert.ok(keysOnly.every((k) => typeof k === 'string' && k.startsWith('%')))
  })

  test('errors keep the reference messages', async () => {
    // npm muxrpc hands remote errors to callbacks as plain {message, name} objects
    await assert.rejects(
      cb((c) => client.latestSequence('@nope', c)),
      (err: Error) => {
        assert.equal(err.message, 'Param 0 must by of type feedId')
        return true
      },
    )
    await assert.rejects(
      cb((c) => client.publish({ text: 'no type' }, c)),
      (err: Error) => {
        // as in the reference, the `string` alternative of `string|msgContent` lets any object
        // through, and ssb-validate words the refusal
        assert.equal(err.message, 'type must be a string3 <= type.length < 52, was:undefined')
        return true
      },
    )
  })

  test('npm ssb-client over our unix socket (noauth) has full rights', async () => {
    const unixClient = await new Promise<RefClient>((resolve, reject) =>
      ssbClient(
        generateKeys(),
        {
          remote: `unix:${ours.path}/socket~noauth`,
          caps: { shs: MAIN_NET_SHS },
          path: ours.path,
        },
        (err, c) => (err ? reject(err) : resolve(c!)),
      ),
    )
    try {
      assert.deepEqual(await cb((c) => unixClient.whoami(c)), { id: ours.id })
    } finally {
      await cb<void>((c) => unixClient.close(c)).catch(() => {})
    }
  })

  test('the reference CLI (bin.js) talks to our server', async () => {
    const env = { ...process.env, HOME: ours.home }
    const flags = ['--host', '127.0.0.1', '--port', String(ours.port)]
    const who = await run(process.execPath, [REFERENCE_BIN, 'whoami', ...flags], { env })
    assert.deepEqual(JSON.parse(who.stdout), { id: ours.id })
    const pub = await run(
      process.execPath,
      [REFERENCE_BIN, 'publish', '--type', 'post', '--text', 'My First Post!', ...flags],
      { env },
    )
    const posted = JSON.parse(pub.stdout) as { key: string; value: { content: { text: string } } }
    assert.equal(posted.value.content.text, 'My First Post!')
    const hist = await run(process.execPath, [REFERENCE_BIN, 'hist', '--id', ours.id, ...flags], {
      env,
    })
    const items = hist.stdout
      .split('\n\n')
      .filter((s) => s.trim())
      .map((s) => JSON.parse(s) as { key: string })
    assert.ok(items.some((m) => m.key === posted.key))
  })
})

describe('our client against the real ssb-server 16', () => {
  let ref: ReferenceServer
  before(async () => {
    ref = await startReferenceServer()
  })
  after(async () => {
    await ref.stop()
  })

  for (const via of ['net', 'unix'] as const) {
    test(`whoami, publish, get and streams over ${via}`, async () => {
      const remote = via === 'net' ? ref.address : `unix:${ref.path}/socket~noauth`
      const client = await connectClient({
        config: { path: ref.path, keys: ref.keys, host: '127.0.0.1', port: ref.port },
        remote,
      })
      try {
        assert.deepEqual(await client.whoami(), { id: ref.id })
        const msg = await client.publish({ type: 'post', text: `over ${via}` })
        assert.equal(msg.value.author, ref.id)
        const value = (await client.get(msg.key)) as { content: { text: string } }
        assert.equal(value.content.text, `over ${via}`)
        const hist = (await toArray(
          client.createHistoryStream({ id: ref.id as `@${string}.ed25519` }),
        )) as Array<{
          key: string
        }>
        assert.ok(hist.some((m) => m.key === msg.key))
        const log = await toArray(client.createLogStream({ limit: 1, reverse: true }))
        assert.equal((log[0] as { key: string }).key, msg.key)
        await assert.rejects(client.call('latestSequence', '@nope'), /must by of type feedId/)
      } finally {
        await client.close()
      }
    })
  }
})

describe('network key and anonymous rights, both directions', () => {
  let ours: OurServer
  let ref: ReferenceServer
  before(async () => {
    ;[ours, ref] = await Promise.all([startOurServer(), startReferenceServer()])
  })
  after(async () => {
    await Promise.all([ours.stop(), ref.stop()])
  })

  const otherNet = Buffer.alloc(32, 7).toString('base64')

  test('our client with another network key is refused by the reference', async () => {
    await assert.rejects(
      connect(ref.address, {
        keys: generateKeys(),
        appKey: Buffer.from(otherNet, 'base64'),
        handshakeTimeoutMs: 2000,
      }),
    )
  })

  test('npm ssb-client with another network key is refused by ours, which serves on', async () => {
    await assert.rejects(refConnect(generateKeys(), ours.port, ours.id, otherNet))
    const client = await refConnect(ours.keys, ours.port, ours.id)
    assert.deepEqual(await cb((c) => client.whoami(c)), { id: ours.id })
    await cb<void>((c) => client.close(c))
  })

  for (const side of ['ours', 'reference'] as const) {
    test(`an anonymous peer gets only the anonymous methods (${side})`, async () => {
      const target = side === 'ours' ? ours : ref
      const rpc = await connect(target.address, {
        keys: generateKeys(),
        appKey: Buffer.from(MAIN_NET_SHS, 'base64'),
      })
      try {
        await assert.rejects(rpc.request(['whoami'], []), (err: Error) => {
          assert.equal(err.message, 'method:whoami is not in list of allowed methods')
          return true
        })
        await assert.rejects(
          rpc.request(['publish'], [{ type: 'post' }]),
          /method:publish is not in list of allowed methods/,
        )
        const manifest = (await rpc.request(['manifest'], [])) as Record<string, unknown>
        assert.equal(manifest.createHistoryStream, 'source')
        const hist = await toArray(rpc.source(['createHistoryStream'], [{ id: target.id }]))
        assert.ok(Array.isArray(hist))
      } finally {
        await rpc.close()
      }
    })
  }
})
