import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import sodium from 'sodium-native'
import { HandshakeError } from '../src/errors-shs.js'
import {
  ClientHandshakeCore,
  type Curve25519KeyPair,
  type Ed25519KeyPair,
  MSG1_BYTES,
  MSG2_BYTES,
  MSG3_BYTES,
  MSG4_BYTES,
  ServerHandshakeCore,
  type SessionKeys,
} from '../src/handshake.js'

const require = createRequire(import.meta.url)
const caps = require('ssb-caps') as { shs: string }

interface RefState {
  local: { app_mac: Buffer }
  remote: { app_mac: Buffer; publicKey: Buffer }
  encryptKey: Buffer
  decryptKey: Buffer
}
/** The stateless crypto of npm secret-handshake 1.1.21 (the reference). */
const ref = require('secret-handshake/crypto.js') as {
  initialize(state: object): RefState
  createChallenge(state: RefState): Buffer
  verifyChallenge(state: RefState, msg: Buffer): RefState | null
  clientVerifyChallenge(state: RefState, msg: Buffer): RefState | null
  clientCreateAuth(state: RefState): Buffer
  serverVerifyAuth(state: RefState, msg: Buffer): RefState | null
  serverCreateAccept(state: RefState): Buffer
  clientVerifyAccept(state: RefState, msg: Buffer): RefState | null
  clean(state: RefState): RefState
}

const appKey = Buffer.from(caps.shs, 'base64')
const otherAppKey = Buffer.alloc(32, 0x42)

/** Curve25519 points whose product with any scalar is zero (libsodium refuses them). */
const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000080',
].map((hex) => Buffer.from(hex, 'hex'))

function seeded(seed: number): Ed25519KeyPair {
  const publicKey = Buffer.alloc(32)
  const secretKey = Buffer.alloc(64)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.alloc(32, seed))
  return { publicKey, secretKey }
}

/** The ephemeral key npm secret-handshake derives from a 32-byte random seed. */
function ephemeralFromSeed(seed: Buffer): Curve25519KeyPair {
  const { publicKey: edPk, secretKey: edSk } = (() => {
    const pk = Buffer.alloc(32)
    const sk = Buffer.alloc(64)
    sodium.crypto_sign_seed_keypair(pk, sk, seed)
    return { publicKey: pk, secretKey: sk }
  })()
  const publicKey = Buffer.alloc(32)
  const secretKey = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_pk_to_curve25519(publicKey, edPk)
  sodium.crypto_sign_ed25519_sk_to_curve25519(secretKey, edSk)
  return { publicKey, secretKey }
}

function hello(pk: Buffer, key: Buffer = appKey): Buffer {
  const mac = Buffer.alloc(32)
  sodium.crypto_auth(mac, pk, key)
  return Buffer.concat([mac, pk])
}

function flip(bytes: Buffer, index: number, bit = 0): Buffer {
  const copy = Buffer.from(bytes)
  copy[index] = copy[index]! ^ (1 << bit)
  return copy
}

const alice = seeded(1)
const bob = seeded(2)
const carol = seeded(3)

interface Run {
  msgs: Buffer[]
  client: SessionKeys
  server: SessionKeys
  clientKeyOnServer: Buffer
}

function runCores(): Run {
  const client = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
  const server = new ServerHandshakeCore({ keys: bob, appKey })
  const msg1 = client.createMsg1()
  server.verifyMsg1(msg1)
  const msg2 = server.createMsg2()
  client.verifyMsg2(msg2)
  const msg3 = client.createMsg3()
  const clientKeyOnServer = server.verifyMsg3(msg3)
  const msg4 = server.createMsg4()
  const clientKeys = client.verifyMsg4(msg4)
  return {
    msgs: [msg1, msg2, msg3, msg4],
    client: clientKeys,
    server: server.sessionKeys(),
    clientKeyOnServer,
  }
}

/** Expects a HandshakeError with `reason`, and no raw sodium error text. */
function rejects(fn: () => unknown, reason: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HandshakeError, `expected HandshakeError, got ${String(error)}`)
    assert.equal(error.name, 'HandshakeError')
    assert.equal(error.reason, reason)
    assert.doesNotMatch(error.message, /status/)
    return true
  })
}

/** A server that has verified `msg1` and sent its msg2, plus that msg2. */
function serverAfterMsg2(msg1: Buffer): { server: ServerHandshakeCore; msg2: Buffer } {
  const server = new ServerHandshakeCore({ keys: bob, appKey })
  server.verifyMsg1(msg1)
  return { server, msg2: server.createMsg2() }
}

test('a client and a server agree on mirrored session keys', () => {
  const run = runCores()
  assert.deepEqual(
    run.msgs.map((m) => m.length),
    [MSG1_BYTES, MSG2_BYTES, MSG3_BYTES, MSG4_BYTES],
  )
  assert.deepEqual(run.client.encryptKey, run.server.decryptKey)
  assert.deepEqual(run.client.encryptNonce, run.server.decryptNonce)
  assert.deepEqual(run.client.decryptKey, run.server.encryptKey)
  assert.deepEqual(run.client.decryptNonce, run.server.encryptNonce)
  assert.notDeepEqual(run.client.encryptKey, run.client.decryptKey)
  assert.deepEqual(run.client.remotePublicKey, bob.publicKey)
  assert.deepEqual(run.server.remotePublicKey, alice.publicKey)
  assert.deepEqual(run.clientKeyOnServer, alice.publicKey)
  // §3.4: the nonce we send with starts from the peer's hello MAC, the one we receive with
  // from our own
  assert.deepEqual(run.client.encryptNonce, run.msgs[1]!.subarray(0, 24))
  assert.deepEqual(run.client.decryptNonce, run.msgs[0]!.subarray(0, 24))
})

test('every message and session key matches npm secret-handshake byte for byte', () => {
  for (let i = 0; i < 5; i++) {
    const clientSeed = Buffer.alloc(32, 0x10 + i)
    const serverSeed = Buffer.alloc(32, 0x80 + i)
    let cs = ref.initialize({
      app_key: appKey,
      local: { publicKey: alice.publicKey, secretKey: alice.secretKey },
      remote: { publicKey: bob.publicKey },
      random: clientSeed,
    })
    let ss = ref.initialize({
      app_key: appKey,
      local: { publicKey: bob.publicKey, secretKey: bob.secretKey },
      random: serverSeed,
    })
    const refMsg1 = ref.createChallenge(cs)
    ss = ref.verifyChallenge(ss, refMsg1)!
    const refMsg2 = ref.createChallenge(ss)
    cs = ref.clientVerifyChallenge(cs, refMsg2)!
    const refMsg3 = ref.clientCreateAuth(cs)
    ss = ref.serverVerifyAuth(ss, refMsg3)!
    const refMsg4 = ref.serverCreateAccept(ss)
    cs = ref.clientVerifyAccept(cs, refMsg4)!
    assert.ok(cs && ss)
    cs = ref.clean(cs)
    ss = ref.clean(ss)

    const client = new ClientHandshakeCore({
      keys: alice,
      appKey,
      serverKey: bob.publicKey,
      ephemeral: ephemeralFromSeed(clientSeed),
    })
    const server = new ServerHandshakeCore({
      keys: bob,
      appKey,
      ephemeral: ephemeralFromSeed(serverSeed),
    })
    const msg1 = client.createMsg1()
    assert.deepEqual(msg1, refMsg1)
    server.verifyMsg1(msg1)
    const msg2 = server.createMsg2()
    assert.deepEqual(msg2, refMsg2)
    client.verifyMsg2(msg2)
    const msg3 = client.createMsg3()
    assert.deepEqual(msg3, refMsg3)
    server.verifyMsg3(msg3)
    const msg4 = server.createMsg4()
    assert.deepEqual(msg4, refMsg4)
    const ck = client.verifyMsg4(msg4)
    const sk = server.sessionKeys()

    assert.deepEqual(ck.encryptKey, cs.encryptKey)
    assert.deepEqual(ck.decryptKey, cs.decryptKey)
    assert.deepEqual(ck.encryptNonce, cs.remote.app_mac.subarray(0, 24))
    assert.deepEqual(ck.decryptNonce, cs.local.app_mac.subarray(0, 24))
    assert.deepEqual(sk.encryptKey, ss.encryptKey)
    assert.deepEqual(sk.decryptKey, ss.decryptKey)
    assert.deepEqual(sk.encryptNonce, ss.remote.app_mac.subarray(0, 24))
    assert.deepEqual(sk.decryptNonce, ss.local.app_mac.subarray(0, 24))
    assert.deepEqual(sk.remotePublicKey, ss.remote.publicKey)
  }
})

test('our cores interoperate with the reference in mixed pairs', () => {
  // our client, reference server
  const client = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
  let ss = ref.initialize({ app_key: appKey, local: bob, random: Buffer.alloc(32, 7) })
  ss = ref.verifyChallenge(ss, client.createMsg1())!
  assert.ok(ss)
  client.verifyMsg2(ref.createChallenge(ss))
  ss = ref.serverVerifyAuth(ss, client.createMsg3())!
  assert.ok(ss)
  const ck = client.verifyMsg4(ref.serverCreateAccept(ss))
  ss = ref.clean(ss)
  assert.deepEqual(ck.encryptKey, ss.decryptKey)
  assert.deepEqual(ck.decryptKey, ss.encryptKey)

  // reference client, our server
  const server = new ServerHandshakeCore({ keys: bob, appKey })
  let cs = ref.initialize({
    app_key: appKey,
    local: alice,
    remote: { publicKey: bob.publicKey },
    random: Buffer.alloc(32, 8),
  })
  server.verifyMsg1(ref.createChallenge(cs))
  cs = ref.clientVerifyChallenge(cs, server.createMsg2())!
  assert.ok(cs)
  assert.deepEqual(server.verifyMsg3(ref.clientCreateAuth(cs)), alice.publicKey)
  cs = ref.clientVerifyAccept(cs, server.createMsg4())!
  assert.ok(cs)
  cs = ref.clean(cs)
  assert.deepEqual(server.sessionKeys().encryptKey, cs.decryptKey)
  assert.deepEqual(server.sessionKeys().decryptKey, cs.encryptKey)
})

test('server: a bad msg1 is refused as invalid-hello', () => {
  const msg1 = new ClientHandshakeCore({
    keys: alice,
    appKey,
    serverKey: bob.publicKey,
  }).createMsg1()
  const bad: [string, Buffer][] = [
    ['random', Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff))],
    ['all zeros', Buffer.alloc(64)],
    ['another cap', hello(msg1.subarray(32), otherAppKey)],
    ['short', msg1.subarray(0, 63)],
  ]
  for (let i = 0; i < 64; i++) bad.push([`bit flip at ${i}`, flip(msg1, i, i % 8)])
  for (const [what, msg] of bad) {
    const server = new ServerHandshakeCore({ keys: bob, appKey })
    rejects(() => server.verifyMsg1(msg), 'invalid-hello')
    assert.throws(() => server.createMsg2(), /state failed/, what)
  }
})

test('server: a low-order ephemeral key with a valid HMAC is refused, no crash', () => {
  for (const point of LOW_ORDER_POINTS) {
    assert.throws(() => sodium.crypto_scalarmult(Buffer.alloc(32), Buffer.alloc(32, 9), point))
    const server = new ServerHandshakeCore({ keys: bob, appKey })
    rejects(() => server.verifyMsg1(hello(point)), 'low-order-key')
  }
})

test('server: a bad msg3 is refused as invalid-client-auth', () => {
  const cases: [string, (m: Buffer) => Buffer][] = [
    ['all zeros', () => Buffer.alloc(112)],
    ['short', (m) => m.subarray(0, 111)],
    ['MAC bit flip', (m) => flip(m, 3)],
    ['signature bit flip', (m) => flip(m, 40)],
    ['client key bit flip', (m) => flip(m, 100)],
    ['last bit flip', (m) => flip(m, 111, 7)],
  ]
  for (const [what, mutate] of cases) {
    const c = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
    const m1 = c.createMsg1()
    const { server, msg2: m2 } = serverAfterMsg2(m1)
    c.verifyMsg2(m2)
    const m3 = mutate(c.createMsg3())
    assert.throws(
      () => server.verifyMsg3(m3),
      (e: unknown) => e instanceof HandshakeError && e.reason === 'invalid-client-auth',
      what,
    )
    assert.throws(() => server.createMsg4(), /state failed/)
  }
})

test('server: msg3 for another server key, or replayed from another session, is refused', () => {
  // the client thinks it talks to carol
  const c = new ClientHandshakeCore({ keys: alice, appKey, serverKey: carol.publicKey })
  const { server, msg2 } = serverAfterMsg2(c.createMsg1())
  c.verifyMsg2(msg2)
  rejects(() => server.verifyMsg3(c.createMsg3()), 'invalid-client-auth')

  // an eavesdropper replays msg1 and msg3 of a finished session to a fresh server
  const first = runCores()
  const { server: fresh } = serverAfterMsg2(first.msgs[0]!)
  rejects(() => fresh.verifyMsg3(first.msgs[2]!), 'invalid-client-auth')
})

test('client: a bad msg2 is refused (invalid-hello or low-order-key)', () => {
  const { msgs } = runCores()
  const msg2 = msgs[1]!
  const cases: [string, Buffer, string][] = [
    ['all zeros', Buffer.alloc(64), 'invalid-hello'],
    ['another cap', hello(msg2.subarray(32), otherAppKey), 'invalid-hello'],
    ['mac bit flip', flip(msg2, 0), 'invalid-hello'],
    ['key bit flip', flip(msg2, 63, 6), 'invalid-hello'],
    ['long', Buffer.concat([msg2, Buffer.alloc(1)]), 'invalid-hello'],
  ]
  for (const point of LOW_ORDER_POINTS) cases.push(['low order', hello(point), 'low-order-key'])
  for (const [, msg, reason] of cases) {
    const client = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
    client.createMsg1()
    rejects(() => client.verifyMsg2(msg), reason)
    assert.throws(() => client.createMsg3(), /state failed/)
  }
})

test('client: a bad, replayed or foreign msg4 means the server is not authenticated', () => {
  const earlier = runCores()
  const build = () => {
    const client = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
    const msg1 = client.createMsg1()
    const { server, msg2 } = serverAfterMsg2(msg1)
    client.verifyMsg2(msg2)
    const msg3 = client.createMsg3()
    server.verifyMsg3(msg3)
    return { client, msg4: server.createMsg4() }
  }
  const cases: [string, (m: Buffer) => Buffer][] = [
    ['bit flip in MAC', (m) => flip(m, 0)],
    ['bit flip in body', (m) => flip(m, 50, 3)],
    ['all zeros', () => Buffer.alloc(80)],
    ['replay from an earlier session', () => earlier.msgs[3]!],
    ['truncated', (m) => m.subarray(0, 79)],
  ]
  for (const [what, mutate] of cases) {
    const { client, msg4 } = build()
    assert.throws(
      () => client.verifyMsg4(mutate(msg4)),
      (e: unknown) => e instanceof HandshakeError && e.reason === 'server-not-authenticated',
      what,
    )
    assert.throws(() => client.sessionKeys(), /state failed/)
  }

  // msg4 signed by carol, who is not the server alice called: carol can open msg3 only if the
  // client believed it called carol, so a msg4 from carol's own session is all she has
  const client = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
  const msg1 = client.createMsg1()
  const impostor = new ServerHandshakeCore({ keys: carol, appKey })
  impostor.verifyMsg1(msg1)
  client.verifyMsg2(impostor.createMsg2())
  rejects(() => impostor.verifyMsg3(client.createMsg3()), 'invalid-client-auth')
  const carolClient = new ClientHandshakeCore({ keys: alice, appKey, serverKey: carol.publicKey })
  const carolServer = new ServerHandshakeCore({ keys: carol, appKey })
  carolServer.verifyMsg1(carolClient.createMsg1())
  carolClient.verifyMsg2(carolServer.createMsg2())
  carolServer.verifyMsg3(carolClient.createMsg3())
  rejects(() => client.verifyMsg4(carolServer.createMsg4()), 'server-not-authenticated')
})

test('a server key that is no usable ed25519 point is refused before anything is sent', () => {
  rejects(
    () => new ClientHandshakeCore({ keys: alice, appKey, serverKey: Buffer.alloc(32) }),
    'invalid-server-key',
  )
  assert.throws(
    () => new ClientHandshakeCore({ keys: alice, appKey, serverKey: Buffer.alloc(31) }),
    RangeError,
  )
  assert.throws(
    () =>
      new ServerHandshakeCore({
        keys: { publicKey: bob.publicKey, secretKey: bob.publicKey },
        appKey,
      }),
    RangeError,
  )
})

test('steps out of order are a caller bug and throw', () => {
  const client = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
  assert.throws(() => client.createMsg3(), /called in state start/)
  const server = new ServerHandshakeCore({ keys: bob, appKey })
  assert.throws(() => server.createMsg2(), /called in state start/)
  assert.throws(() => server.sessionKeys(), /called in state start/)
  client.destroy()
  client.destroy()
  assert.throws(() => client.createMsg1(), /state failed/)
})

test('the caller-supplied keys are never wiped by the handshake', () => {
  const keys = seeded(9)
  const before = Buffer.from(keys.secretKey)
  const eph = ephemeralFromSeed(Buffer.alloc(32, 1))
  const ephBefore = Buffer.from(eph.secretKey)
  const client = new ClientHandshakeCore({
    keys,
    appKey,
    serverKey: bob.publicKey,
    ephemeral: eph,
  })
  const { server, msg2 } = serverAfterMsg2(client.createMsg1())
  client.verifyMsg2(msg2)
  server.verifyMsg3(client.createMsg3())
  client.verifyMsg4(server.createMsg4())
  assert.deepEqual(keys.secretKey, before)
  assert.deepEqual(eph.secretKey, ephBefore)
})
