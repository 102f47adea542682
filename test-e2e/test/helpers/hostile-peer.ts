// Hostile peers for end-to-end attack tests: raw TCP sockets that write arbitrary handshake bytes,
// and a peer that completes secret-handshake with the pure cores and then sends box-stream boxes
// and muxrpc frames of its own making (valid, malformed or corrupted), decoding what comes back.
// Also the checks every attack ends with: a legitimate client is still served.
import { once } from 'node:events'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateKeys, type Keys, publicKeyOf, secretKeyOf } from '@scuttlekit/ssb-keys'
import {
  BoxStreamDecoder,
  BoxStreamEncoder,
  ClientHandshakeCore,
  connect,
  decodeBody,
  encodeFrame,
  FrameDecoder,
  MSG2_BYTES,
  MSG4_BYTES,
  type RpcSession,
  type SessionKeys,
} from '@scuttlekit/ssb-rpc'
import sodium from 'sodium-native'
import { MAIN_NET_SHS } from './our-server.js'

/** The main network's key `N` (caps.shs, ssb-protocol.md §3.1) as bytes. */
export const NETWORK_KEY = Buffer.from(MAIN_NET_SHS, 'base64')

/**
 * Curve25519 points of small order (and non-canonical encodings of them): X25519 with any of them
 * gives an all-zero shared secret, which libsodium refuses (bad-inputs.md §4).
 */
export const LOW_ORDER_POINTS: readonly Buffer[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000080',
].map((hex) => Buffer.from(hex, 'hex'))

/** A msg1 (client hello, §3.3) for the ephemeral key `x`, with a valid HMAC: `hmac(x, N) ‖ x`. */
export function hello(x: Uint8Array, appKey: Uint8Array = NETWORK_KEY): Buffer {
  const mac = Buffer.alloc(sodium.crypto_auth_BYTES)
  sodium.crypto_auth(mac, x, appKey)
  return Buffer.concat([mac, x])
}

/** Resolves once `cond()` holds; rejects with `what` after `timeoutMs`. */
export async function until(
  cond: () => boolean,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** A plain TCP connection that records what the server writes and when it closes. */
export interface RawTcp {
  readonly socket: net.Socket
  /** Every byte received so far. */
  received(): Buffer
  /** Whether the connection has closed, and when (ms since epoch). */
  readonly state: { closed: boolean; closedAt: number }
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>
}

/** Opens a TCP connection to 127.0.0.1:`port`, resolving once connected. */
export async function rawTcp(port: number): Promise<RawTcp> {
  const socket = net.connect({ host: '127.0.0.1', port })
  const chunks: Buffer[] = []
  const state = { closed: false, closedAt: 0 }
  socket.on('data', (d: Buffer) => chunks.push(d))
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      state.closed = true
      state.closedAt = Date.now()
      resolve()
    }),
  )
  await Promise.race([once(socket, 'connect'), closed])
  return { socket, received: () => Buffer.concat(chunks), state, closed }
}

/** A frame the hostile peer received, with its body decoded (or the decoding error). */
export interface ReceivedFrame {
  readonly req: number
  readonly stream: boolean
  readonly end: boolean
  readonly type: 'binary' | 'string' | 'json'
  readonly body: Buffer
  readonly value: unknown
}

/** A peer that finished secret-handshake and now speaks box-stream and muxrpc by hand. */
export interface BoxPeer {
  readonly socket: net.Socket
  readonly session: SessionKeys
  /** Our long-term identity. */
  readonly keys: Keys
  /** Encrypts what we send; `boxes()` uses it, or use it directly to forge boxes. */
  readonly encoder: BoxStreamEncoder
  /** Every frame received so far (when reading). */
  readonly frames: ReceivedFrame[]
  readonly state: {
    /** The server's muxrpc goodbye (a zero-length frame header, §4.3) arrived. */
    goodbye: boolean
    /** The server's box-stream goodbye (§3.5) arrived. */
    boxEnded: boolean
    /** The socket closed. */
    closed: boolean
    /** Plaintext bytes received. */
    plainBytes: number
    /** A box from the server did not open, or a frame did not decode. */
    error: Error | undefined
  }
  readonly closed: Promise<void>
  /** Boxes plaintext (split into boxes of at most 4096 bytes) and writes it. */
  send(plain: Uint8Array): void
  /** Sends one frame with the given flags and raw body (any body, even an empty one). */
  sendFrame(req: number, flags: number, body: Uint8Array | string): void
  /** Sends a JSON value as a request or stream frame. */
  sendJson(req: number, value: unknown, opts?: { stream?: boolean; end?: boolean }): void
  /** Waits for the first frame with this request number. */
  reply(req: number, timeoutMs?: number): Promise<ReceivedFrame>
  /** Starts reading (for a peer opened with `read: false`). */
  startReading(): void
  destroy(): void
}

/**
 * Dials 127.0.0.1:`port`, runs the client side of SHS v1 with the pure handshake core (§3.3) and
 * wraps the socket in our own box-stream encoder and decoder (§3.5). With `read: false` the
 * socket is left paused after the handshake, so that TCP pushes back on the server (a slow
 * reader) until {@link BoxPeer.startReading}.
 */
export async function boxPeer(
  port: number,
  serverId: string,
  options: { keys?: Keys; read?: boolean } = {},
): Promise<BoxPeer> {
  const keys = options.keys ?? generateKeys()
  const serverKey = Buffer.from(serverId.slice(1, -'.ed25519'.length), 'base64')
  const core = new ClientHandshakeCore({
    keys: { publicKey: publicKeyOf(keys), secretKey: secretKeyOf(keys) },
    appKey: NETWORK_KEY,
    serverKey,
  })
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true })
  socket.on('error', () => {})
  await once(socket, 'connect')
  let held = Buffer.alloc(0)
  let wake: (() => void) | undefined
  let gone = false
  const onHandshakeData = (chunk: Buffer): void => {
    held = Buffer.concat([held, chunk])
    wake?.()
  }
  const onHandshakeClose = (): void => {
    gone = true
    wake?.()
  }
  socket.on('data', onHandshakeData)
  socket.once('close', onHandshakeClose)
  const readExactly = async (n: number): Promise<Buffer> => {
    while (held.length < n) {
      if (gone) throw new Error('the server closed during the handshake')
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      wake = undefined
    }
    const out = held.subarray(0, n)
    held = held.subarray(n)
    return out
  }
  let session: SessionKeys
  try {
    socket.write(core.createMsg1())
    core.verifyMsg2(await readExactly(MSG2_BYTES))
    socket.write(core.createMsg3())
    session = core.verifyMsg4(await readExactly(MSG4_BYTES))
  } catch (err) {
    socket.destroy()
    throw err
  }
  socket.pause()
  socket.off('data', onHandshakeData)
  socket.off('close', onHandshakeClose)

  const encoder = new BoxStreamEncoder(session.encryptKey, session.encryptNonce)
  const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
  const frameDecoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 * 1024 })
  const frames: ReceivedFrame[] = []
  const state: BoxPeer['state'] = {
    goodbye: false,
    boxEnded: false,
    closed: false,
    plainBytes: 0,
    error: undefined,
  }
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      state.closed = true
      resolve()
    }),
  )
  const onData = (chunk: Buffer): void => {
    if (state.error) return
    const plain = decoder.push(chunk)
    if (decoder.error) state.error = decoder.error
    if (decoder.ended) state.boxEnded = true
    state.plainBytes += plain.length
    if (plain.length === 0) return
    frameDecoder.push(Buffer.from(plain))
    try {
      for (let f = frameDecoder.read(); f !== null; f = frameDecoder.read()) {
        let value: unknown
        try {
          value = decodeBody(f)
        } catch (err) {
          value = err
        }
        frames.push({ ...f, body: Buffer.from(f.body), value })
      }
      if (frameDecoder.goodbye) state.goodbye = true
    } catch (err) {
      state.error = err as Error
    }
  }
  let reading = false
  const startReading = (): void => {
    if (reading) return
    reading = true
    if (held.length > 0) onData(held)
    held = Buffer.alloc(0)
    socket.on('data', onData)
    socket.resume()
  }
  if (options.read !== false) startReading()

  const send = (plain: Uint8Array): void => {
    if (!socket.destroyed) socket.write(encoder.encrypt(plain))
  }
  return {
    socket,
    session,
    keys,
    encoder,
    frames,
    state,
    closed,
    send,
    sendFrame(req, flags, body) {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body)
      const header = Buffer.alloc(9)
      header[0] = flags
      header.writeUInt32BE(bytes.length, 1)
      header.writeInt32BE(req, 5)
      send(Buffer.concat([header, bytes]))
    },
    sendJson(req, value, opts = {}) {
      send(
        encodeFrame({
          req,
          stream: opts.stream ?? false,
          end: opts.end ?? false,
          type: 'json',
          body: Buffer.from(JSON.stringify(value), 'utf8'),
        }),
      )
    },
    async reply(req, timeoutMs = 3000) {
      await until(() => frames.some((f) => f.req === req), timeoutMs, `a frame for req ${req}`)
      return frames.find((f) => f.req === req)!
    },
    startReading,
    destroy: () => socket.destroy(),
  }
}

/** Anything thrown into the event loop or rejected unhandled while a test ran. */
export interface CrashWatch {
  readonly errors: unknown[]
  stop(): void
}

/**
 * Records uncaught exceptions and unhandled rejections. The server runs in this process, so one
 * of these is what would have crashed a server process.
 */
export function watchCrashes(): CrashWatch {
  const errors: unknown[] = []
  const onError = (err: unknown): void => {
    errors.push(err)
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)
  return {
    errors,
    stop() {
      process.off('uncaughtException', onError)
      process.off('unhandledRejection', onError)
    },
  }
}

/** Runs a full garbage collection, so that memory readings are not mostly garbage. */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** The server a legitimate client is checked against. */
export interface Target {
  address: string
  id: string
  keys: Keys
}

/**
 * Proves a server still serves: our own client with the server's keys calls `whoami` (master
 * rights), and an anonymous peer reads `createHistoryStream` of the server's feed (which must
 * hold at least `historyAtLeast` messages; `limit` keeps it short).
 */
export async function assertServed(target: Target, historyAtLeast = 1): Promise<void> {
  const master = await connect(target.address, {
    keys: target.keys,
    appKey: NETWORK_KEY,
    handshakeTimeoutMs: 4000,
  })
  try {
    const who = (await master.request('whoami', [])) as { id: string }
    if (who.id !== target.id) throw new Error(`whoami answered ${JSON.stringify(who)}`)
  } finally {
    await master.close()
  }
  const anon = await connect(target.address, {
    keys: generateKeys(),
    appKey: NETWORK_KEY,
    handshakeTimeoutMs: 4000,
  })
  try {
    const msgs = await toArray(anon.source('createHistoryStream', [{ id: target.id, limit: 3 }]))
    if (msgs.length < Math.min(historyAtLeast, 3)) {
      throw new Error(`createHistoryStream gave ${msgs.length} messages`)
    }
  } finally {
    await anon.close()
  }
}

/**
 * Bytes a server-side session has accepted for sending but not yet handed to the kernel: frames
 * batched in the session, plaintext queued in the box stream and ciphertext queued in the socket.
 * This reaches into `RpcSession`'s private `stream` and `batch` (no public accessor exists); it
 * throws when that shape changes, so that a refactor cannot make the check pass vacuously.
 */
export function outboundQueueBytes(session: RpcSession): number {
  const inner = session as unknown as {
    stream?: Duplex & { socket?: Duplex }
    batch?: { pendingBytes?: number }
  }
  const stream = inner.stream
  const socket = stream?.socket
  const batched = inner.batch?.pendingBytes
  if (!stream || !socket || typeof batched !== 'number') {
    throw new Error('RpcSession internals changed: cannot read its outbound queue')
  }
  return batched + stream.writableLength + socket.writableLength
}
