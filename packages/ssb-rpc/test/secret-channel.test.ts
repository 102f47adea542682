import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import net from 'node:net'
import { Duplex } from 'node:stream'
import { afterEach, test } from 'node:test'
import { generateKeys } from '@scuttlekit/ssb-keys'
import sodium from 'sodium-native'
import { BoxStreamDecoder, BoxStreamEncoder, incrementNonce } from '../src/box-stream.js'
import {
  HandshakeError,
  HandshakeTimeoutError,
  InvalidBoxBodyError,
  InvalidBoxHeaderError,
  UnexpectedHangupError,
} from '../src/errors-shs.js'
import {
  ClientHandshakeCore,
  type Ed25519KeyPair,
  ServerHandshakeCore,
  type SessionKeys,
} from '../src/handshake.js'
import {
  type BoxStreamDuplex,
  clientHandshake,
  type SecretChannel,
  type ServerHandshakeOptions,
  serverHandshake,
} from '../src/secret-channel.js'

const require = createRequire(import.meta.url)
const caps = require('ssb-caps') as { shs: string }
type PullDuplex = { source: unknown; sink: unknown }
const pull = require('pull-stream') as {
  (...streams: unknown[]): unknown
  values(values: unknown[]): unknown
  collect(cb: (err: unknown, values: Buffer[]) => void): unknown
}
const toPull = require('stream-to-pull-stream') as { duplex(stream: net.Socket): PullDuplex }
interface RefChannel extends PullDuplex {
  remote: Buffer
}
const shs = require('secret-handshake') as {
  createServer(
    keys: Ed25519KeyPair,
    authorize: (pub: Buffer, cb: (err: unknown, ok?: unknown) => void) => void,
    appKey: Buffer,
    timeout: number,
  ): (cb: (err: unknown, channel: RefChannel) => void) => PullDuplex
  createClient(
    keys: Ed25519KeyPair,
    appKey: Buffer,
    timeout: number,
  ): (server: Buffer, cb: (err: unknown, channel: RefChannel) => void) => PullDuplex
}

const appKey = Buffer.from(caps.shs, 'base64')
const otherAppKey = Buffer.alloc(32, 0x42)

function keypair(): { publicKey: Buffer; secretKey: Buffer } {
  const publicKey = Buffer.alloc(32)
  const secretKey = Buffer.alloc(64)
  sodium.crypto_sign_keypair(publicKey, secretKey)
  return { publicKey, secretKey }
}
const alice = keypair()
const bob = keypair()
const carol = keypair()
const aliceId = `@${alice.publicKey.toString('base64')}.ed25519`
const bobId = `@${bob.publicKey.toString('base64')}.ed25519`

function data(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n)
  let x = seed * 2654435761
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

function hello(pk: Buffer, key: Buffer = appKey): Buffer {
  const mac = Buffer.alloc(32)
  sodium.crypto_auth(mac, pk, key)
  return Buffer.concat([mac, pk])
}

function flip(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes)
  copy[index] = copy[index]! ^ 0x04
  return copy
}

// ---- sockets, cleaned up after every test ----

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

/** Destroys the channel after the test, without caring how it ended. */
function keep(channel: SecretChannel): SecretChannel {
  cleanups.push(() => {
    channel.stream.on('error', () => {})
    channel.stream.destroy()
  })
  return channel
}

/** A connected pair of TCP sockets on 127.0.0.1. */
async function tcpPair(
  options: { allowHalfOpen?: boolean } = {},
): Promise<{ client: net.Socket; server: net.Socket }> {
  const listener = net.createServer({ allowHalfOpen: options.allowHalfOpen ?? false })
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  const { port } = listener.address() as net.AddressInfo
  const accepted = once(listener, 'connection')
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen })
  const [server] = (await accepted) as [net.Socket]
  if (client.connecting) await once(client, 'connect')
  listener.close()
  cleanups.push(() => {
    client.destroy()
    server.destroy()
  })
  return { client, server }
}

/** A socket we drive by hand: exact reads, and everything it received. */
class Raw {
  readonly socket: net.Socket
  readonly closed: Promise<unknown>
  #chunks: Buffer[] = []
  #total = 0
  #consumed = 0
  #waiters: (() => void)[] = []
  isClosed = false

  constructor(socket: net.Socket) {
    this.socket = socket
    socket.on('error', () => {})
    this.closed = once(socket, 'close').then(() => {
      this.isClosed = true
      for (const w of this.#waiters.splice(0)) w()
    })
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk)
      this.#total += chunk.length
      for (const w of this.#waiters.splice(0)) w()
    })
  }

  /** Every byte received so far. */
  get received(): Buffer {
    return Buffer.concat(this.#chunks)
  }

  /** The bytes received but not taken by {@link read} yet. */
  get unread(): Buffer {
    return this.received.subarray(this.#consumed)
  }

  /** The next `n` bytes; rejects if the socket closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.#total - this.#consumed < n) {
      if (this.isClosed) throw new Error(`closed after ${this.#total - this.#consumed} bytes`)
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
    const out = this.received.subarray(this.#consumed, this.#consumed + n)
    this.#consumed += n
    return out
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes)
  }
}

/** Our server on one end, a raw socket on the other. */
async function ourServer(
  options: Partial<ServerHandshakeOptions> = {},
): Promise<{ raw: Raw; result: Promise<SecretChannel> }> {
  const { client, server } = await tcpPair()
  const result = serverHandshake(server, { keys: bob, appKey, ...options }).then(keep)
  result.catch(() => {})
  return { raw: new Raw(client), result }
}

/** Our client (calling bob) on one end, a raw socket on the other. */
async function ourClient(
  options: { timeoutMs?: number; serverKey?: Buffer } = {},
): Promise<{ raw: Raw; result: Promise<SecretChannel>; socket: net.Socket }> {
  const { client, server } = await tcpPair()
  const result = clientHandshake(client, {
    keys: alice,
    appKey,
    serverKey: bob.publicKey,
    ...options,
  }).then(keep)
  result.catch(() => {})
  return { raw: new Raw(server), result, socket: client }
}

async function rejectsWith(promise: Promise<unknown>, reason: string): Promise<HandshakeError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof HandshakeError, `expected a HandshakeError, got ${String(error)}`)
    assert.equal(error.reason, reason, error.message)
    return error
  }
  assert.fail('expected the handshake to fail')
}

/** Runs the client side by hand over `raw` (optionally tampering with msg3); the session keys. */
async function rawClient(
  raw: Raw,
  options: { msg3?: (msg3: Buffer) => Buffer; serverKey?: Buffer } = {},
): Promise<{ core: ClientHandshakeCore; msg1: Buffer; msg3: Buffer }> {
  const core = new ClientHandshakeCore({
    keys: alice,
    appKey,
    serverKey: options.serverKey ?? bob.publicKey,
  })
  const msg1 = core.createMsg1()
  raw.write(msg1)
  core.verifyMsg2(await raw.read(64))
  let msg3 = core.createMsg3()
  if (options.msg3) msg3 = options.msg3(msg3)
  raw.write(msg3)
  return { core, msg1, msg3 }
}

/** A full handshake run by hand as the client; our server's channel and the raw session. */
async function rawClientSession(): Promise<{
  raw: Raw
  channel: SecretChannel
  keys: SessionKeys
}> {
  const { raw, result } = await ourServer()
  const { core } = await rawClient(raw)
  const keys = core.verifyMsg4(await raw.read(80))
  return { raw, channel: await result, keys }
}

/**
 * Reads a plaintext stream to its end. (Not `for await`: that destroys the whole Duplex when
 * the readable side ends, which would cut our writable side short.)
 */
async function readAll(stream: BoxStreamDuplex): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) parts.push(chunk as Buffer)
  return Buffer.concat(parts)
}

/** How a stream finished: undefined for a clean close, else the error. */
function outcome(stream: BoxStreamDuplex): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let error: Error | undefined
    stream.on('error', (e) => {
      error = e
    })
    stream.on('close', () => resolve(error))
  })
}

async function ourPair(
  options: { allowHalfOpen?: boolean; authorize?: ServerHandshakeOptions['authorize'] } = {},
): Promise<{ c: SecretChannel; s: SecretChannel; client: net.Socket; server: net.Socket }> {
  const { client, server } = await tcpPair(options)
  const [c, s] = await Promise.all([
    clientHandshake(client, { keys: alice, appKey, serverKey: bob.publicKey }),
    serverHandshake(server, {
      keys: bob,
      appKey,
      ...(options.authorize ? { authorize: options.authorize } : {}),
    }),
  ])
  return { c: keep(c), s: keep(s), client, server }
}

/** 100 KB at once and then 1000 small writes. */
function traffic(seed: number): Buffer[] {
  const chunks = [data(100 * 1024, seed)]
  for (let i = 0; i < 1000; i++) chunks.push(data(1 + ((i * 7) % 300), seed + i))
  return chunks
}

// ---- happy paths ----

test('our client and server exchange data both ways and close cleanly (half-open sockets)', async () => {
  const { c, s } = await ourPair({ allowHalfOpen: true })
  assert.equal(c.remoteId, bobId)
  assert.deepEqual(c.remoteKey, bob.publicKey)
  assert.equal(c.auth, undefined)
  assert.equal(s.remoteId, aliceId)
  assert.equal(s.auth, true)
  const up = traffic(1)
  const down = traffic(2)
  const cDone = outcome(c.stream)
  const sDone = outcome(s.stream)
  const atServer = readAll(s.stream)
  const atClient = readAll(c.stream)
  for (const chunk of up) c.stream.write(chunk)
  c.stream.end()
  // the server keeps writing after the client's goodbye: half-open works
  assert.deepEqual(await atServer, Buffer.concat(up))
  for (const chunk of down) s.stream.write(chunk)
  s.stream.end()
  assert.deepEqual(await atClient, Buffer.concat(down))
  assert.equal(await cDone, undefined)
  assert.equal(await sDone, undefined)
})

test('on plain net sockets the goodbye of one side ends both, cleanly, either way round', async () => {
  for (const first of ['client', 'server'] as const) {
    const { c, s, client, server } = await ourPair()
    const [a, b] = first === 'client' ? [c, s] : [s, c]
    const aDone = outcome(a.stream)
    const bDone = outcome(b.stream)
    const atB = readAll(b.stream)
    const atA = readAll(a.stream)
    // b answers every chunk it gets; its own end follows a's goodbye on its own
    b.stream.on('data', (chunk: Buffer) => {
      b.stream.write(chunk.subarray(0, 10))
    })
    const sent = traffic(3)
    for (const chunk of sent) a.stream.write(chunk)
    a.stream.end()
    assert.deepEqual(await atB, Buffer.concat(sent))
    assert.ok((await atA).length > 0)
    assert.equal(await aDone, undefined)
    assert.equal(await bDone, undefined)
    await Promise.all([
      client.destroyed ? undefined : once(client, 'close'),
      server.destroyed ? undefined : once(server, 'close'),
    ])
  }
})

test('a net-socket peer that reads late still answers the goodbye with its own', async () => {
  const { c, s } = await ourPair()
  const cDone = outcome(c.stream)
  const sDone = outcome(s.stream)
  const atClient = readAll(c.stream)
  c.stream.end('short and sweet')
  // the goodbye and the FIN reach the server long before anyone reads there: its socket must
  // not act on the FIN (ending its sending side) before the server has said goodbye too
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal((await readAll(s.stream)).toString(), 'short and sweet')
  assert.equal((await atClient).length, 0)
  assert.equal(await cDone, undefined)
  assert.equal(await sDone, undefined)
})

test('any byte Duplex will do as transport (an in-memory pair)', async () => {
  const [a, b] = memoryPair()
  const [c, s] = await Promise.all([
    clientHandshake(a, { keys: alice, appKey, serverKey: bob.publicKey }),
    serverHandshake(b, { keys: bob, appKey }),
  ])
  const sent = traffic(6)
  const atServer = readAll(s.stream)
  const atClient = readAll(c.stream)
  for (const chunk of sent) c.stream.write(chunk)
  c.stream.end()
  assert.deepEqual(await atServer, Buffer.concat(sent))
  s.stream.end('ok')
  assert.equal((await atClient).toString(), 'ok')
})

/** Two Duplex streams wired to each other, like the two ends of a socket. */
function memoryPair(): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const make = (other: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk, _encoding, callback) {
        other().push(chunk)
        callback()
      },
      final(callback) {
        other().push(null)
        callback()
      },
    })
  ends.push(
    make(() => ends[1]!),
    make(() => ends[0]!),
  )
  return [ends[0]!, ends[1]!]
}

test('keys may be ssb-keys objects, the app key base64 and the server key a feed id', async () => {
  const { client, server } = await tcpPair()
  const a = generateKeys()
  const b = generateKeys()
  const [c, s] = await Promise.all([
    clientHandshake(client, { keys: a, appKey: caps.shs, serverKey: b.id }),
    serverHandshake(server, { keys: b, appKey: caps.shs, authorize: async (id) => ({ id }) }),
  ])
  assert.equal(c.remoteId, b.id)
  assert.equal(s.remoteId, a.id)
  assert.deepEqual(s.auth, { id: a.id })
  c.stream.destroy()
  s.stream.destroy()
})

test('interop: our client with npm secret-handshake + pull-box-stream as server', async () => {
  const listener = net.createServer((socket) => {
    const wire = toPull.duplex(socket)
    const handshake = shs.createServer(
      bob,
      (_pub, cb) => cb(null, true),
      appKey,
      5000,
    )((err, channel) => {
      if (err) return
      pull(channel, channel) // echo until our goodbye, then say goodbye
    })
    pull(wire, handshake, wire)
  })
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  cleanups.push(() => listener.close())
  const socket = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1')
  cleanups.push(() => socket.destroy())
  await once(socket, 'connect')
  const c = await clientHandshake(socket, { keys: alice, appKey, serverKey: bob.publicKey })
  assert.equal(c.remoteId, bobId)
  const done = outcome(c.stream)
  const echoed = readAll(c.stream)
  const sent = traffic(4)
  for (const chunk of sent) c.stream.write(chunk)
  c.stream.end()
  assert.deepEqual(await echoed, Buffer.concat(sent))
  assert.equal(await done, undefined)
})

test('interop: npm secret-handshake + pull-box-stream as client with our server', async () => {
  for (const halfOpen of [false, true]) {
    const { client, server } = await tcpPair({ allowHalfOpen: halfOpen })
    const sent = traffic(5)
    const refResult = new Promise<{ err: unknown; out: Buffer; remote: Buffer }>((resolve) => {
      const wire = toPull.duplex(client)
      const handshake = shs.createClient(
        alice,
        appKey,
        5000,
      )(bob.publicKey, (err, channel) => {
        if (err) return resolve({ err, out: Buffer.alloc(0), remote: Buffer.alloc(0) })
        pull(
          pull.values(sent),
          channel,
          pull.collect((e, out) =>
            resolve({ err: e, out: Buffer.concat(out), remote: channel.remote }),
          ),
        )
      })
      pull(wire, handshake, wire)
    })
    const s = await serverHandshake(server, { keys: bob, appKey })
    assert.equal(s.remoteId, aliceId)
    const done = outcome(s.stream)
    // echo; with half-open sockets we end explicitly when the client's goodbye arrives
    s.stream.on('data', (chunk: Buffer) => s.stream.write(chunk))
    if (halfOpen) s.stream.on('end', () => s.stream.end())
    const r = await refResult
    assert.equal(r.err, null, 'the reference saw our goodbye, not a hang-up')
    assert.deepEqual(r.remote, bob.publicKey)
    assert.deepEqual(r.out, Buffer.concat(sent))
    assert.equal(await done, undefined)
  }
})

// ---- hostile clients against our server (bad-inputs.md §4) ----

test('server: a bad msg1 gets no reply at all, the socket is closed', async () => {
  const msg1 = hello(data(32, 9))
  const cases: [string, Buffer][] = [
    ['random', data(64, 10)],
    ['hmac bit flip', flip(msg1, 5)],
    ['key bit flip', flip(msg1, 40)],
    ['another cap', hello(data(32, 9), otherAppKey)],
    ['all zeros', Buffer.alloc(64)],
  ]
  for (const [what, bad] of cases) {
    const { raw, result } = await ourServer()
    raw.write(bad)
    await rejectsWith(result, 'invalid-hello')
    await raw.closed
    assert.equal(raw.received.length, 0, what)
  }
})

test('server: a low-order ephemeral key with a valid HMAC is refused cleanly', async () => {
  const { raw, result } = await ourServer()
  raw.write(hello(Buffer.alloc(32)))
  const error = await rejectsWith(result, 'low-order-key')
  assert.doesNotMatch(error.message, /status/)
  await raw.closed
  assert.equal(raw.received.length, 0)
})

test('server: 63 bytes then silence, or nothing, times out and closes', async () => {
  for (const sent of [hello(data(32, 3)).subarray(0, 63), Buffer.alloc(0)]) {
    const { raw, result } = await ourServer({ timeoutMs: 150 })
    raw.write(sent)
    const started = Date.now()
    await assert.rejects(result, (e: unknown) => {
      assert.ok(e instanceof HandshakeTimeoutError)
      assert.ok(e instanceof HandshakeError)
      assert.equal(e.reason, 'timeout')
      assert.equal(e.timeoutMs, 150)
      return true
    })
    assert.ok(Date.now() - started >= 100)
    await raw.closed
    assert.equal(raw.received.length, 0)
  }
})

test('server: a client hanging up mid-handshake is a hangup', async () => {
  const { raw, result } = await ourServer()
  raw.socket.end(hello(data(32, 3)).subarray(0, 10))
  await rejectsWith(result, 'hangup')
})

test('server: a bad msg3 is answered with nothing (no msg4), then close', async () => {
  const cases: [string, (m: Buffer) => Buffer][] = [
    ['bit flip', (m) => flip(m, 60)],
    ['all zeros', () => Buffer.alloc(112)],
  ]
  for (const [what, mutate] of cases) {
    const { raw, result } = await ourServer()
    await rawClient(raw, { msg3: mutate })
    await rejectsWith(result, 'invalid-client-auth')
    await raw.closed
    assert.equal(raw.received.length, 64, what)
  }
  // a client that believes it calls carol
  {
    const { raw, result } = await ourServer()
    await rawClient(raw, { serverKey: carol.publicKey })
    await rejectsWith(result, 'invalid-client-auth')
    await raw.closed
    assert.equal(raw.received.length, 64)
  }
  // a replay of msg1 and msg3 of an earlier session
  {
    const first = await ourServer()
    const recorded = await rawClient(first.raw)
    await first.result
    const { raw, result } = await ourServer()
    raw.write(recorded.msg1)
    await raw.read(64)
    raw.write(recorded.msg3)
    await rejectsWith(result, 'invalid-client-auth')
    await raw.closed
    assert.equal(raw.received.length, 64)
  }
})

test('server: authorize denying or throwing means no msg4; its value becomes auth', async () => {
  const denials: [string, ServerHandshakeOptions['authorize']][] = [
    ['false', () => false],
    ['null', async () => null],
    ['undefined', () => undefined],
    [
      'throws',
      () => {
        throw new Error('blocked')
      },
    ],
    ['rejects', () => Promise.reject(new Error('db down'))],
  ]
  for (const [what, authorize] of denials) {
    const seen: string[] = []
    const { raw, result } = await ourServer({
      authorize: (id) => {
        seen.push(id)
        return authorize!(id)
      },
    })
    await rawClient(raw)
    const error = await rejectsWith(result, 'unauthorized')
    if (what === 'throws' || what === 'rejects') assert.ok(error.cause instanceof Error)
    assert.deepEqual(seen, [aliceId])
    await raw.closed
    assert.equal(raw.received.length, 64, what)
  }
  const { s, c } = await ourPair({ authorize: async (id) => ({ id, level: 'friend' }) })
  assert.deepEqual(s.auth, { id: aliceId, level: 'friend' })
  c.stream.destroy()
  s.stream.destroy()
})

test('server: a slow authorize is cut off by the timeout and sends no msg4', async () => {
  const { raw, result } = await ourServer({
    timeoutMs: 150,
    authorize: () => new Promise((resolve) => setTimeout(() => resolve(true), 400)),
  })
  await rawClient(raw)
  await assert.rejects(result, HandshakeTimeoutError)
  await raw.closed
  assert.equal(raw.received.length, 64)
})

/** The client's session keys as §3.4 derives them, computable right after msg2. */
function clientKeysAfterMsg2(ephSecret: Buffer, msg2: Buffer): SessionKeys {
  const y = msg2.subarray(32)
  const mult = (sk: Uint8Array, pk: Uint8Array): Buffer => {
    const out = Buffer.alloc(32)
    sodium.crypto_scalarmult(out, sk, pk)
    return out
  }
  const sha = (b: Buffer): Buffer => {
    const out = Buffer.alloc(32)
    sodium.crypto_hash_sha256(out, b)
    return out
  }
  const bobCurve = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_pk_to_curve25519(bobCurve, bob.publicKey)
  const aliceCurveSk = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(aliceCurveSk, alice.secretKey)
  const secret3 = sha(
    Buffer.concat([appKey, mult(ephSecret, y), mult(ephSecret, bobCurve), mult(aliceCurveSk, y)]),
  )
  const shared = sha(secret3)
  return {
    encryptKey: sha(Buffer.concat([shared, bob.publicKey])),
    encryptNonce: Buffer.from(msg2.subarray(0, 24)),
    decryptKey: sha(Buffer.concat([shared, alice.publicKey])),
    decryptNonce: Buffer.alloc(24),
    remotePublicKey: bob.publicKey,
  }
}

test('server: bytes pipelined after msg1 and msg3 are kept, in order', async () => {
  // msg1 in 1-byte pieces; then msg3 and the first boxes of the stream in a single write,
  // before msg4 (the client can derive its keys after msg2; msg4 only authenticates the server)
  const { raw, result } = await ourServer()
  const ephemeral = { publicKey: Buffer.alloc(32), secretKey: Buffer.alloc(32) }
  sodium.crypto_box_keypair(ephemeral.publicKey, ephemeral.secretKey)
  const core = new ClientHandshakeCore({
    keys: alice,
    appKey,
    serverKey: bob.publicKey,
    ephemeral,
  })
  for (const byte of core.createMsg1()) raw.write(Buffer.from([byte]))
  const msg2 = await raw.read(64)
  core.verifyMsg2(msg2)
  const early = clientKeysAfterMsg2(ephemeral.secretKey, msg2)
  const enc = new BoxStreamEncoder(early.encryptKey, early.encryptNonce)
  raw.write(
    Buffer.concat([core.createMsg3(), enc.encrypt(Buffer.from('early ')), enc.encrypt(data(9000))]),
  )
  const keys = core.verifyMsg4(await raw.read(80))
  assert.deepEqual(keys.encryptKey, early.encryptKey)
  const channel = await result
  const all = readAll(channel.stream)
  raw.write(Buffer.concat([enc.encrypt(Buffer.from('late')), enc.goodbye()]))
  assert.deepEqual(
    await all,
    Buffer.concat([Buffer.from('early '), data(9000), Buffer.from('late')]),
  )

  // one garbage byte right after msg1 is taken as the start of msg3: nothing is dropped, so
  // the shifted msg3 fails
  const second = await ourServer()
  const c2 = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
  second.raw.write(Buffer.concat([c2.createMsg1(), Buffer.from([0x99])]))
  c2.verifyMsg2(await second.raw.read(64))
  second.raw.write(c2.createMsg3())
  await rejectsWith(second.result, 'invalid-client-auth')
  await second.raw.closed
  assert.equal(second.raw.received.length, 64)
})

// ---- hostile servers against our client ----

test('client: a bad msg2 fails the handshake and the client sends nothing after msg1', async () => {
  const server = new ServerHandshakeCore({ keys: bob, appKey })
  const goodMsg2 = (() => {
    server.verifyMsg1(
      new ClientHandshakeCore({ keys: carol, appKey, serverKey: bob.publicKey }).createMsg1(),
    )
    return server.createMsg2()
  })()
  const cases: [string, Buffer, string][] = [
    ['bit flip', flip(goodMsg2, 7), 'invalid-hello'],
    ['another cap', hello(goodMsg2.subarray(32), otherAppKey), 'invalid-hello'],
    ['low order', hello(Buffer.alloc(32)), 'low-order-key'],
  ]
  for (const [what, msg2, reason] of cases) {
    const { raw, result } = await ourClient()
    await raw.read(64)
    raw.write(msg2)
    await rejectsWith(result, reason)
    await raw.closed
    assert.equal(raw.received.length, 64, what)
  }
})

test('client: a bad or replayed msg4, or an impostor, means the server is not authenticated', async () => {
  /** Plays bob (or `keys`) by hand up to msg3; returns the server core ready for msg4. */
  async function serveUntilMsg3(raw: Raw, keys = bob): Promise<ServerHandshakeCore | undefined> {
    const core = new ServerHandshakeCore({ keys, appKey })
    core.verifyMsg1(await raw.read(64))
    raw.write(core.createMsg2())
    const msg3 = await raw.read(112)
    try {
      core.verifyMsg3(msg3)
      return core
    } catch {
      return undefined
    }
  }
  const earlier = await ourClient()
  const earlierCore = (await serveUntilMsg3(earlier.raw))!
  const recordedMsg4 = earlierCore.createMsg4()
  earlier.raw.write(recordedMsg4)
  await earlier.result

  const cases: [string, (msg4: Buffer) => Buffer][] = [
    ['bit flip', (m) => flip(m, 20)],
    ['all zeros', () => Buffer.alloc(80)],
    ['replay', () => recordedMsg4],
  ]
  for (const [what, mutate] of cases) {
    const { raw, result } = await ourClient()
    const core = (await serveUntilMsg3(raw))!
    raw.write(mutate(core.createMsg4()))
    await rejectsWith(result, 'server-not-authenticated')
    await raw.closed
    assert.equal(raw.received.length, 64 + 112, what)
  }
  // carol answers a call meant for bob: she cannot open msg3; if she sends some msg4 anyway
  // (here: bob's recorded one), the client refuses it
  {
    const { raw, result } = await ourClient()
    assert.equal(await serveUntilMsg3(raw, carol), undefined)
    raw.write(recordedMsg4)
    await rejectsWith(result, 'server-not-authenticated')
  }
  // if she hangs up instead, the client sees a hang-up
  {
    const { raw, result } = await ourClient()
    await serveUntilMsg3(raw, carol)
    raw.socket.end()
    await rejectsWith(result, 'hangup')
  }
})

test('client: a silent server times out; an unusable server key fails before sending', async () => {
  const { raw, result } = await ourClient({ timeoutMs: 100 })
  await assert.rejects(result, HandshakeTimeoutError)
  await raw.closed
  assert.equal(raw.received.length, 64)

  const bad = await ourClient({ serverKey: Buffer.alloc(32) })
  await rejectsWith(bad.result, 'invalid-server-key')
  await bad.raw.closed
  assert.equal(bad.raw.received.length, 0)
})

test('client: aborting the signal destroys the socket and rejects with its reason', async () => {
  const { client, server } = await tcpPair()
  const raw = new Raw(server)
  const controller = new AbortController()
  const result = clientHandshake(client, {
    keys: alice,
    appKey,
    serverKey: bob.publicKey,
    signal: controller.signal,
  })
  await raw.read(64)
  const reason = new Error('stop')
  controller.abort(reason)
  await assert.rejects(result, (e) => e === reason)
  await raw.closed
  assert.ok(client.destroyed)
})

test('client: boxes the server sends glued to msg4 are kept', async () => {
  const { raw, result } = await ourClient()
  const core = new ServerHandshakeCore({ keys: bob, appKey })
  core.verifyMsg1(await raw.read(64))
  raw.write(Buffer.concat([core.createMsg2(), Buffer.alloc(0)]))
  core.verifyMsg3(await raw.read(112))
  const msg4 = core.createMsg4()
  const keys = core.sessionKeys()
  const enc = new BoxStreamEncoder(keys.encryptKey, keys.encryptNonce)
  raw.write(Buffer.concat([msg4, enc.encrypt(Buffer.from('hello ')), enc.encrypt(data(5000))]))
  const channel = await result
  const all = readAll(channel.stream)
  raw.write(Buffer.concat([enc.encrypt(Buffer.from('!')), enc.goodbye()]))
  assert.deepEqual(await all, Buffer.concat([Buffer.from('hello '), data(5000), Buffer.from('!')]))
})

// ---- box-stream over TCP (bad-inputs.md §5) ----

test('a bit flip in a box header or body destroys the stream at that box', async () => {
  for (const [offset, Expected] of [
    [3, InvalidBoxHeaderError],
    [40, InvalidBoxBodyError],
  ] as const) {
    const { raw, channel, keys } = await rawClientSession()
    const enc = new BoxStreamEncoder(keys.encryptKey, keys.encryptNonce)
    const good = enc.encrypt(Buffer.from('first'))
    const bad = flip(enc.encrypt(data(100)), offset)
    const after = enc.encrypt(Buffer.from('never'))
    const received: Buffer[] = []
    channel.stream.on('data', (chunk: Buffer) => received.push(chunk))
    const done = outcome(channel.stream)
    raw.write(good)
    await new Promise((resolve) => setTimeout(resolve, 20))
    raw.write(Buffer.concat([bad, after]))
    const error = await done
    assert.ok(error instanceof Expected, String(error))
    assert.equal(Buffer.concat(received).toString(), 'first')
    await raw.closed
  }
})

test('swapped, replayed and dropped boxes destroy the stream', async () => {
  for (const order of [
    [1, 0],
    [0, 0],
    [1, 2],
  ]) {
    const { raw, channel, keys } = await rawClientSession()
    const enc = new BoxStreamEncoder(keys.encryptKey, keys.encryptNonce)
    const boxes = [enc.encrypt(data(10, 1)), enc.encrypt(data(10, 2)), enc.encrypt(data(10, 3))]
    const done = outcome(channel.stream)
    channel.stream.resume()
    raw.write(Buffer.concat(order.map((i) => boxes[i]!)))
    assert.ok((await done) instanceof InvalidBoxHeaderError)
  }
})

test('EOF without goodbye is an unexpected hangup; goodbye then garbage is a clean end', async () => {
  {
    const { raw, channel, keys } = await rawClientSession()
    const enc = new BoxStreamEncoder(keys.encryptKey, keys.encryptNonce)
    const received: Buffer[] = []
    channel.stream.on('data', (chunk: Buffer) => received.push(chunk))
    const done = outcome(channel.stream)
    raw.socket.end(enc.encrypt(Buffer.from('cut short')))
    const error = await done
    assert.ok(error instanceof UnexpectedHangupError, String(error))
    assert.equal(error.message, 'unexpected hangup')
    assert.equal(Buffer.concat(received).toString(), 'cut short')
  }
  {
    const { raw, channel, keys } = await rawClientSession()
    const enc = new BoxStreamEncoder(keys.encryptKey, keys.encryptNonce)
    const done = outcome(channel.stream)
    const all = readAll(channel.stream)
    raw.write(Buffer.concat([enc.encrypt(Buffer.from('bye')), enc.goodbye(), data(500)]))
    assert.equal((await all).toString(), 'bye')
    // on a net socket (not half-open) our side answers with its own goodbye, then closes
    assert.equal(await done, undefined)
    await raw.closed
    const dec = new BoxStreamDecoder(keys.decryptKey, keys.decryptNonce)
    const wire = raw.unread
    assert.equal(wire.length, 34)
    assert.equal(dec.push(wire).length, 0)
    assert.ok(dec.ended)
  }
})

test('what we send: empty writes skipped, 4096 one box, 4097 two, goodbye on end', async () => {
  const { raw, channel, keys } = await rawClientSession()
  const s = channel.stream
  s.write(Buffer.alloc(0))
  s.write(data(4096))
  await new Promise((resolve) => setTimeout(resolve, 10))
  s.write(data(4097, 2))
  await new Promise((resolve) => setTimeout(resolve, 10))
  s.end()
  await raw.closed
  const wire = raw.unread
  // read the box lengths by opening each header
  const lengths: number[] = []
  const nonce = Buffer.from(keys.decryptNonce)
  const header = Buffer.alloc(18)
  let at = 0
  while (at < wire.length) {
    assert.ok(
      sodium.crypto_secretbox_open_easy(header, wire.subarray(at, at + 34), nonce, keys.decryptKey),
    )
    const len = header.readUInt16BE(0)
    lengths.push(len)
    at += 34 + len
    incrementNonce(nonce)
    incrementNonce(nonce)
  }
  assert.deepEqual(lengths, [4096, 4096, 1, 0]) // the last one is the goodbye
  assert.ok(header.every((b) => b === 0))
  const dec = new BoxStreamDecoder(keys.decryptKey, keys.decryptNonce)
  assert.deepEqual(dec.push(wire), Buffer.concat([data(4096), data(4097, 2)]))
})

test('a box of 65535 bytes is accepted', async () => {
  const { raw, channel, keys } = await rawClientSession()
  const body = data(65535)
  const headerNonce = Buffer.from(keys.encryptNonce)
  const bodyNonce = Buffer.from(headerNonce)
  incrementNonce(bodyNonce)
  const cipher = Buffer.alloc(65535)
  const header = Buffer.alloc(18)
  header.writeUInt16BE(65535, 0)
  sodium.crypto_secretbox_detached(cipher, header.subarray(2), body, bodyNonce, keys.encryptKey)
  const boxedHeader = Buffer.alloc(34)
  sodium.crypto_secretbox_easy(boxedHeader, header, headerNonce, keys.encryptKey)
  incrementNonce(headerNonce)
  incrementNonce(headerNonce)
  const bye = Buffer.alloc(34)
  sodium.crypto_secretbox_easy(bye, Buffer.alloc(18), headerNonce, keys.encryptKey)
  const all = readAll(channel.stream)
  raw.write(Buffer.concat([boxedHeader, cipher, bye]))
  assert.deepEqual(await all, body)
})

test('backpressure: a reader that does not read pauses the socket, and writers wait', async () => {
  const { c, s, server } = await ourPair({ allowHalfOpen: true })
  const chunk = data(64 * 1024)
  let written = 0
  // the server reads the first chunk, then its reader stops
  const first: Buffer[] = []
  const takeOne = (piece: Buffer): void => {
    first.push(piece)
    s.stream.off('data', takeOne)
    s.stream.pause()
  }
  s.stream.on('data', takeOne)
  // write as fast as the stream allows, until it asks us to wait and then never says 'drain':
  // that only happens if the server stops reading from TCP
  for (;;) {
    written += chunk.length
    if (!c.stream.write(chunk)) {
      const drained = await Promise.race([
        once(c.stream, 'drain').then(() => true),
        new Promise((resolve) => setTimeout(resolve, 150, false)),
      ])
      if (!drained) break
    }
    assert.ok(written < 128 * 1024 * 1024, 'the writer was never held back')
  }
  assert.ok(server.isPaused(), 'the server socket is paused while nobody reads')
  assert.ok(c.stream.writableLength > 0, 'our writes wait for drain')
  assert.ok(s.stream.readableLength < 1024 * 1024, 'the reader side buffers little')
  const all = readAll(s.stream)
  await once(c.stream, 'drain')
  c.stream.end()
  const got = Buffer.concat([...first, await all])
  assert.equal(first.length, 1)
  assert.equal(got.length, written)
  assert.deepEqual(got.subarray(0, chunk.length), chunk)
  assert.deepEqual(got.subarray(got.length - chunk.length), chunk)
  s.stream.end()
})

test('destroy() destroys the socket; the peer sees an unexpected hangup', async () => {
  const { c, s, client } = await ourPair()
  const peer = outcome(s.stream)
  s.stream.resume()
  c.stream.destroy()
  await once(client, 'close')
  assert.ok(client.destroyed)
  assert.ok((await peer) instanceof UnexpectedHangupError)
})
