/**
 * Secret handshake (SHS v1) as two pure state machines over bytes, `ssb-protocol.md` §3.2–3.4.
 *
 * No I/O here: the caller moves the four messages (64, 64, 112 and 80 bytes) over whatever
 * transport it has (see `secret-channel.ts` for sockets). Every check the peer can fail throws a
 * {@link HandshakeError} with a precise `reason`; sodium's own exceptions never escape. Secrets
 * that are no longer needed are zeroed as the handshake advances, and all of them on failure or
 * {@link ClientHandshakeCore.destroy}.
 *
 * ```ts
 * const client = new ClientHandshakeCore({ keys: alice, appKey, serverKey: bob.publicKey })
 * const server = new ServerHandshakeCore({ keys: bob, appKey })
 * server.verifyMsg1(client.createMsg1())
 * client.verifyMsg2(server.createMsg2())
 * const aliceKey = server.verifyMsg3(client.createMsg3()) // then ask your authorize hook
 * const clientKeys = client.verifyMsg4(server.createMsg4())
 * const serverKeys = server.sessionKeys()
 * ```
 */
import sodium from 'sodium-native'
import { HandshakeError, type HandshakeFailureReason } from './errors-shs.js'

/** Bytes of msg1, the client hello: `hmac(x, N) ‖ x` (§3.3). */
export const MSG1_BYTES = 64
/** Bytes of msg2, the server hello: `hmac(y, N) ‖ y` (§3.3). */
export const MSG2_BYTES = 64
/** Bytes of msg3, the client authentication: a secretbox of `sigA ‖ A` (§3.3). */
export const MSG3_BYTES = 112
/** Bytes of msg4, the server accept: a secretbox of `sigB` (§3.3). */
export const MSG4_BYTES = 80

/** An ed25519 long-term key pair as libsodium lays it out (`secretKey` = seed ‖ public key). */
export interface Ed25519KeyPair {
  /** 32 bytes. */
  readonly publicKey: Uint8Array
  /** 64 bytes. */
  readonly secretKey: Uint8Array
}

/** An X25519 key pair, for the ephemeral keys `x` / `y` of §3.2. */
export interface Curve25519KeyPair {
  /** 32 bytes. */
  readonly publicKey: Uint8Array
  /** 32 bytes. */
  readonly secretKey: Uint8Array
}

/**
 * What a finished handshake yields (§3.4): one box-stream key and starting nonce per direction,
 * and the peer's long-term public key. Feed `encryptKey`/`encryptNonce` to a box-stream encoder
 * and `decryptKey`/`decryptNonce` to a decoder.
 */
export interface SessionKeys {
  /** 32 bytes: the key of what we send, `sha256(shared ‖ remote long-term pk)`. */
  readonly encryptKey: Buffer
  /** 24 bytes: the first nonce of what we send, `hmac(remote ephemeral, N)[0:24]`. */
  readonly encryptNonce: Buffer
  /** 32 bytes: the key of what we receive, `sha256(shared ‖ local long-term pk)`. */
  readonly decryptKey: Buffer
  /** 24 bytes: the first nonce of what we receive, `hmac(local ephemeral, N)[0:24]`. */
  readonly decryptNonce: Buffer
  /** 32 bytes: the peer's long-term ed25519 public key. */
  readonly remotePublicKey: Buffer
}

/** Options shared by both roles. */
export interface HandshakeCoreOptions {
  /** Our long-term ed25519 key pair. */
  readonly keys: Ed25519KeyPair
  /** The 32-byte network key `N` (`caps.shs`, §3.1). */
  readonly appKey: Uint8Array
  /**
   * The ephemeral X25519 key pair to use. Leave it out: a fresh random pair is made. Tests pass
   * one to compare our bytes with another implementation's. The handshake zeroes its secret key.
   */
  readonly ephemeral?: Curve25519KeyPair
}

/** Options of the client role. */
export interface ClientHandshakeCoreOptions extends HandshakeCoreOptions {
  /** The server's 32-byte long-term ed25519 public key (`B`), known in advance (§3.2). */
  readonly serverKey: Uint8Array
}

const ZERO_NONCE = Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES)
const MAC_BYTES = sodium.crypto_secretbox_MACBYTES

function checkLength(value: Uint8Array, length: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length)
    throw new RangeError(`${what} must be a Uint8Array of ${length} bytes`)
}

function checkKeys(keys: Ed25519KeyPair): void {
  checkLength(keys.publicKey, 32, 'keys.publicKey')
  checkLength(keys.secretKey, 64, 'keys.secretKey')
}

/** A copy we own (so wiping it never touches the caller's memory). */
function own(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes)
}

function sha256(...parts: Uint8Array[]): Buffer {
  const input = Buffer.concat(parts)
  const out = Buffer.allocUnsafe(32)
  sodium.crypto_hash_sha256(out, input)
  sodium.sodium_memzero(input)
  return out
}

/** `crypto_scalarmult`, or `undefined` when libsodium refuses (an all-zero, low-order result). */
function scalarmult(secretKey: Uint8Array, publicKey: Uint8Array): Buffer | undefined {
  const out = Buffer.alloc(32)
  try {
    sodium.crypto_scalarmult(out, secretKey, publicKey)
  } catch {
    return undefined
  }
  return out
}

function edPublicToCurve(publicKey: Uint8Array): Buffer | undefined {
  const out = Buffer.alloc(32)
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(out, publicKey)
  } catch {
    return undefined
  }
  return out
}

function edSecretToCurve(secretKey: Uint8Array): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(out, secretKey)
  return out
}

function hmac(message: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(sodium.crypto_auth_BYTES)
  sodium.crypto_auth(out, message, key)
  return out
}

function sign(message: Uint8Array, secretKey: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(sodium.crypto_sign_BYTES)
  sodium.crypto_sign_detached(out, message, secretKey)
  return out
}

function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey)
  } catch {
    return false
  }
}

function box(message: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(message.length + MAC_BYTES)
  sodium.crypto_secretbox_easy(out, message, ZERO_NONCE, key)
  return out
}

function unbox(cipher: Uint8Array, key: Uint8Array): Buffer | undefined {
  const out = Buffer.alloc(cipher.length - MAC_BYTES)
  return sodium.crypto_secretbox_open_easy(out, cipher, ZERO_NONCE, key) ? out : undefined
}

function makeEphemeral(given: Curve25519KeyPair | undefined): { pk: Buffer; sk: Buffer } {
  if (given) {
    checkLength(given.publicKey, 32, 'ephemeral.publicKey')
    checkLength(given.secretKey, 32, 'ephemeral.secretKey')
    return { pk: own(given.publicKey), sk: own(given.secretKey) }
  }
  const pk = Buffer.allocUnsafe(sodium.crypto_box_PUBLICKEYBYTES)
  const sk = Buffer.alloc(sodium.crypto_box_SECRETKEYBYTES)
  sodium.crypto_box_keypair(pk, sk)
  return { pk, sk }
}

function wipe(...buffers: (Buffer | undefined)[]): void {
  for (const b of buffers) if (b) sodium.sodium_memzero(b)
}

/** Splits a hello (msg1/msg2) and checks its HMAC under `N`; returns `[mac, ephemeralPk]`. */
function openHello(msg: Uint8Array, appKey: Uint8Array, bytes: number): [Buffer, Buffer] {
  if (!(msg instanceof Uint8Array) || msg.length !== bytes)
    throw new HandshakeError('invalid-hello', { detail: 'wrong length' })
  const mac = own(msg.subarray(0, 32))
  const pk = own(msg.subarray(32, 64))
  if (!sodium.crypto_auth_verify(mac, pk, appKey)) throw new HandshakeError('invalid-hello')
  return [mac, pk]
}

/** `shared = sha256(secret3)`, then the per-direction keys of §3.4. */
function deriveSession(
  secret3: Buffer,
  localPk: Uint8Array,
  remotePk: Buffer,
  localHelloMac: Buffer,
  remoteHelloMac: Buffer,
): SessionKeys {
  const shared = sha256(secret3)
  const keys: SessionKeys = {
    encryptKey: sha256(shared, remotePk),
    encryptNonce: Buffer.from(remoteHelloMac.subarray(0, 24)),
    decryptKey: sha256(shared, localPk),
    decryptNonce: Buffer.from(localHelloMac.subarray(0, 24)),
    remotePublicKey: own(remotePk),
  }
  wipe(shared)
  return keys
}

type Step = 'start' | 'msg1' | 'msg2' | 'msg3' | 'done' | 'failed'

/**
 * The client ("Alice") side of SHS v1 (§3.3). Call, in order: {@link createMsg1},
 * {@link verifyMsg2}, {@link createMsg3}, {@link verifyMsg4}. A failed check throws a
 * {@link HandshakeError} and leaves the object failed and wiped; calling out of order throws a
 * plain `Error` (a bug in the caller).
 */
export class ClientHandshakeCore {
  #step: Step = 'start'
  readonly #appKey: Buffer
  readonly #publicKey: Buffer
  readonly #secretKey: Buffer
  readonly #serverKey: Buffer
  readonly #serverCurve: Buffer
  readonly #ephPk: Buffer
  readonly #ephSk: Buffer
  #localMac: Buffer | undefined
  #remoteMac: Buffer | undefined
  #remoteEph: Buffer | undefined
  #ab: Buffer | undefined
  #abHash: Buffer | undefined
  #aB: Buffer | undefined
  #hello: Buffer | undefined
  #session: SessionKeys | undefined

  /**
   * @throws RangeError for keys of the wrong size; {@link HandshakeError} `invalid-server-key`
   * when `serverKey` is not a usable ed25519 point (nothing has been sent yet).
   */
  constructor(options: ClientHandshakeCoreOptions) {
    checkKeys(options.keys)
    checkLength(options.appKey, 32, 'appKey')
    checkLength(options.serverKey, 32, 'serverKey')
    const serverCurve = edPublicToCurve(options.serverKey)
    if (!serverCurve) throw new HandshakeError('invalid-server-key')
    this.#serverCurve = serverCurve
    this.#appKey = own(options.appKey)
    this.#publicKey = own(options.keys.publicKey)
    this.#secretKey = own(options.keys.secretKey)
    this.#serverKey = own(options.serverKey)
    const eph = makeEphemeral(options.ephemeral)
    this.#ephPk = eph.pk
    this.#ephSk = eph.sk
  }

  #expect(step: Step, call: string): void {
    if (this.#step !== step)
      throw new Error(`ClientHandshakeCore.${call}() called in state ${this.#step}`)
  }

  #fail(reason: HandshakeFailureReason, detail?: string): never {
    this.destroy()
    throw new HandshakeError(reason, detail === undefined ? undefined : { detail })
  }

  /** msg1 (64 bytes): our hello, `hmac(x, N) ‖ x`. */
  createMsg1(): Buffer {
    this.#expect('start', 'createMsg1')
    this.#localMac = hmac(this.#ephPk, this.#appKey)
    this.#step = 'msg1'
    return Buffer.concat([this.#localMac, this.#ephPk])
  }

  /**
   * Checks msg2 (64 bytes), the server's hello, and computes `ab` and `aB`.
   * @throws HandshakeError `invalid-hello` (wrong HMAC, i.e. another network key) or
   * `low-order-key`.
   */
  verifyMsg2(msg2: Uint8Array): void {
    this.#expect('msg1', 'verifyMsg2')
    let mac: Buffer
    let y: Buffer
    try {
      ;[mac, y] = openHello(msg2, this.#appKey, MSG2_BYTES)
    } catch (err) {
      this.destroy()
      throw err
    }
    const ab = scalarmult(this.#ephSk, y)
    if (!ab) this.#fail('low-order-key')
    const aB = scalarmult(this.#ephSk, this.#serverCurve)
    if (!aB) {
      wipe(ab)
      this.#fail('invalid-server-key')
    }
    wipe(this.#ephSk) // x_sk is not needed any more
    this.#remoteMac = mac
    this.#remoteEph = y
    this.#ab = ab
    this.#aB = aB
    this.#abHash = sha256(ab)
    this.#step = 'msg2'
  }

  /** msg3 (112 bytes): `box(sigA ‖ A)` under `sha256(N ‖ ab ‖ aB)`, proving who we are. */
  createMsg3(): Buffer {
    this.#expect('msg2', 'createMsg3')
    const sigA = sign(
      Buffer.concat([this.#appKey, this.#serverKey, this.#abHash!]),
      this.#secretKey,
    )
    this.#hello = Buffer.concat([sigA, this.#publicKey])
    const key3 = sha256(this.#appKey, this.#ab!, this.#aB!)
    const msg3 = box(this.#hello, key3)
    wipe(key3)
    this.#step = 'msg3'
    return msg3
  }

  /**
   * Checks msg4 (80 bytes), the server's signed accept, and returns the session keys.
   * @throws HandshakeError `server-not-authenticated` when it does not open or its signature
   * does not verify with the server key we called.
   */
  verifyMsg4(msg4: Uint8Array): SessionKeys {
    this.#expect('msg3', 'verifyMsg4')
    if (!(msg4 instanceof Uint8Array) || msg4.length !== MSG4_BYTES)
      this.#fail('server-not-authenticated', 'wrong length')
    const curveSk = edSecretToCurve(this.#secretKey)
    const Ab = scalarmult(curveSk, this.#remoteEph!)
    wipe(curveSk)
    if (!Ab) this.#fail('low-order-key')
    const secret3 = sha256(this.#appKey, this.#ab!, this.#aB!, Ab)
    wipe(Ab)
    const sigB = unbox(msg4, secret3)
    const ok =
      sigB !== undefined &&
      verify(sigB, Buffer.concat([this.#appKey, this.#hello!, this.#abHash!]), this.#serverKey)
    if (!ok) {
      wipe(secret3)
      this.#fail('server-not-authenticated')
    }
    this.#session = deriveSession(
      secret3,
      this.#publicKey,
      this.#serverKey,
      this.#localMac!,
      this.#remoteMac!,
    )
    wipe(secret3)
    this.#wipeIntermediates()
    this.#step = 'done'
    return this.#session
  }

  /** The session keys, once {@link verifyMsg4} has succeeded. */
  sessionKeys(): SessionKeys {
    this.#expect('done', 'sessionKeys')
    return this.#session!
  }

  #wipeIntermediates(): void {
    wipe(this.#ephSk, this.#ab, this.#aB, this.#abHash, this.#secretKey)
    this.#ab = this.#aB = this.#abHash = undefined
  }

  /** Zeroes every secret this handshake still holds and makes it unusable (idempotent). */
  destroy(): void {
    if (this.#step === 'failed') return
    this.#wipeIntermediates()
    this.#step = 'failed'
  }
}

/**
 * The server ("Bob") side of SHS v1 (§3.3). Call, in order: {@link verifyMsg1},
 * {@link createMsg2}, {@link verifyMsg3} (which tells you who the client is: ask your authorize
 * hook now, and call {@link destroy} instead of going on if it says no), {@link createMsg4},
 * then {@link sessionKeys}.
 */
export class ServerHandshakeCore {
  #step: Step = 'start'
  readonly #appKey: Buffer
  readonly #publicKey: Buffer
  readonly #secretKey: Buffer
  readonly #curveSk: Buffer
  readonly #ephPk: Buffer
  readonly #ephSk: Buffer
  #localMac: Buffer | undefined
  #remoteMac: Buffer | undefined
  #ab: Buffer | undefined
  #abHash: Buffer | undefined
  #aB: Buffer | undefined
  #hello: Buffer | undefined
  #secret3: Buffer | undefined
  #remoteKey: Buffer | undefined
  #session: SessionKeys | undefined

  /** @throws RangeError for keys of the wrong size. */
  constructor(options: HandshakeCoreOptions) {
    checkKeys(options.keys)
    checkLength(options.appKey, 32, 'appKey')
    this.#appKey = own(options.appKey)
    this.#publicKey = own(options.keys.publicKey)
    this.#secretKey = own(options.keys.secretKey)
    this.#curveSk = edSecretToCurve(this.#secretKey)
    const eph = makeEphemeral(options.ephemeral)
    this.#ephPk = eph.pk
    this.#ephSk = eph.sk
  }

  #expect(step: Step, call: string): void {
    if (this.#step !== step)
      throw new Error(`ServerHandshakeCore.${call}() called in state ${this.#step}`)
  }

  #fail(reason: HandshakeFailureReason, detail?: string): never {
    this.destroy()
    throw new HandshakeError(reason, detail === undefined ? undefined : { detail })
  }

  /**
   * Checks msg1 (64 bytes), the client's hello, and computes `ab` and `aB`. On failure send
   * nothing back (§3.3).
   * @throws HandshakeError `invalid-hello` or `low-order-key`.
   */
  verifyMsg1(msg1: Uint8Array): void {
    this.#expect('start', 'verifyMsg1')
    let mac: Buffer
    let x: Buffer
    try {
      ;[mac, x] = openHello(msg1, this.#appKey, MSG1_BYTES)
    } catch (err) {
      this.destroy()
      throw err
    }
    const ab = scalarmult(this.#ephSk, x)
    if (!ab) this.#fail('low-order-key')
    const aB = scalarmult(this.#curveSk, x)
    if (!aB) {
      wipe(ab)
      this.#fail('low-order-key')
    }
    this.#remoteMac = mac
    this.#ab = ab
    this.#aB = aB
    this.#abHash = sha256(ab)
    this.#step = 'msg1'
  }

  /** msg2 (64 bytes): our hello, `hmac(y, N) ‖ y`. */
  createMsg2(): Buffer {
    this.#expect('msg1', 'createMsg2')
    this.#localMac = hmac(this.#ephPk, this.#appKey)
    this.#step = 'msg2'
    return Buffer.concat([this.#localMac, this.#ephPk])
  }

  /**
   * Checks msg3 (112 bytes) and returns the client's long-term public key `A`. The caller
   * decides whether to accept `A` before calling {@link createMsg4}.
   * @throws HandshakeError `invalid-client-auth` (does not open, bad signature, unusable key).
   */
  verifyMsg3(msg3: Uint8Array): Buffer {
    this.#expect('msg2', 'verifyMsg3')
    if (!(msg3 instanceof Uint8Array) || msg3.length !== MSG3_BYTES)
      this.#fail('invalid-client-auth', 'wrong length')
    const key3 = sha256(this.#appKey, this.#ab!, this.#aB!)
    const hello = unbox(msg3, key3)
    wipe(key3)
    if (!hello) this.#fail('invalid-client-auth')
    const sigA = hello.subarray(0, 64)
    const A = own(hello.subarray(64, 96))
    const signed = Buffer.concat([this.#appKey, this.#publicKey, this.#abHash!])
    if (!verify(sigA, signed, A)) this.#fail('invalid-client-auth')
    const curveA = edPublicToCurve(A)
    if (!curveA) this.#fail('invalid-client-auth', 'unusable client key')
    const Ab = scalarmult(this.#ephSk, curveA)
    if (!Ab) this.#fail('low-order-key')
    wipe(this.#ephSk) // y_sk is not needed any more
    this.#secret3 = sha256(this.#appKey, this.#ab!, this.#aB!, Ab)
    wipe(Ab)
    this.#hello = hello
    this.#remoteKey = A
    this.#step = 'msg3'
    return own(A)
  }

  /** msg4 (80 bytes): `box(sigB)` accepting the client. Then {@link sessionKeys} is available. */
  createMsg4(): Buffer {
    this.#expect('msg3', 'createMsg4')
    const signed = Buffer.concat([this.#appKey, this.#hello!, this.#abHash!])
    const msg4 = box(sign(signed, this.#secretKey), this.#secret3!)
    this.#session = deriveSession(
      this.#secret3!,
      this.#publicKey,
      this.#remoteKey!,
      this.#localMac!,
      this.#remoteMac!,
    )
    this.#wipeIntermediates()
    this.#step = 'done'
    return msg4
  }

  /** The session keys, once {@link createMsg4} has been called. */
  sessionKeys(): SessionKeys {
    this.#expect('done', 'sessionKeys')
    return this.#session!
  }

  #wipeIntermediates(): void {
    wipe(this.#ephSk, this.#curveSk, this.#ab, this.#aB, this.#abHash, this.#secret3)
    wipe(this.#secretKey)
    this.#ab = this.#aB = this.#abHash = this.#secret3 = undefined
  }

  /** Zeroes every secret this handshake still holds and makes it unusable (idempotent). */
  destroy(): void {
    if (this.#step === 'failed') return
    this.#wipeIntermediates()
    this.#step = 'failed'
  }
}
