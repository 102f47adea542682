/**
 * The I/O driver of the secret-handshake layer: runs SHS v1 over a connected socket (any
 * byte-mode `stream.Duplex`, e.g. a `net.Socket`) and then wraps the socket in a box-stream
 * encrypted `Duplex` of plaintext (`ssb-protocol.md` §3).
 *
 * ```ts
 * import net from 'node:net'
 * const socket = net.connect(8008, 'localhost')
 * await once(socket, 'connect')
 * const { stream, remoteId } = await clientHandshake(socket, { keys, appKey: caps.shs, serverKey })
 * stream.write('hello')       // boxed and sent
 * stream.on('data', (plain) => {})
 * stream.end()                // sends the goodbye box, then ends the socket
 * ```
 *
 * The crypto lives in the pure cores (`handshake.ts`, `box-stream.ts`); this file only moves
 * bytes: exact-length reads under one timeout, nothing written after a failure, bytes the peer
 * pipelines behind the handshake kept for the box stream, and backpressure in both directions.
 */
import { Duplex } from 'node:stream'
import { secretKeyOf } from '@scuttlekit/ssb-keys'
import { type FeedId, feedIdFromBytes } from '@scuttlekit/ssb-ref'
import { BoxStreamDecoder, BoxStreamEncoder } from './box-stream.js'
import { HandshakeError, HandshakeTimeoutError, UnexpectedHangupError } from './errors-shs.js'
import {
  ClientHandshakeCore,
  type Ed25519KeyPair,
  MSG1_BYTES,
  MSG2_BYTES,
  MSG3_BYTES,
  MSG4_BYTES,
  ServerHandshakeCore,
  type SessionKeys,
} from './handshake.js'

/**
 * A long-term identity: raw ed25519 bytes, or a key object as `ssb-keys` (npm or
 * `@scuttlekit/ssb-keys`) makes it (only `private` is read).
 */
export type ShsKeys = Ed25519KeyPair | { readonly private: string }

/** Options both roles share. */
export interface HandshakeOptions {
  /** Our long-term identity. */
  readonly keys: ShsKeys
  /** The network key `N` (`caps.shs`, §3.1): 32 bytes or their base64. */
  readonly appKey: Uint8Array | string
  /**
   * Limit on the whole handshake, in ms (default 5000, ssb-config's `timers.handshake`, §3.3).
   * 0 or `Infinity` means no limit.
   */
  readonly timeoutMs?: number
  /** Aborting destroys the socket and rejects with `signal.reason`. */
  readonly signal?: AbortSignal
}

/** Options of {@link clientHandshake}. */
export interface ClientHandshakeOptions extends HandshakeOptions {
  /**
   * The server's long-term public key `B`, known in advance from its address (§3.2): 32 bytes,
   * a feed id (`@….ed25519`) or its base64.
   */
  readonly serverKey: Uint8Array | string
}

/** Options of {@link serverHandshake}. */
export interface ServerHandshakeOptions extends HandshakeOptions {
  /**
   * Decides whether the authenticated client may connect (§3.3; ssb-friends refuses blocked
   * feeds here). Its (awaited) value becomes {@link SecretChannel.auth}. A falsy value, a throw
   * or a rejection refuses the client: msg4 is not sent and the handshake fails with reason
   * `unauthorized`. Leave it out to accept everyone (`auth` is then `true`).
   */
  readonly authorize?: (remoteId: FeedId) => unknown
}

/** A connection after a successful handshake. */
export interface SecretChannel {
  /** The plaintext stream: writes are boxed, reads are unboxed (see {@link BoxStreamDuplex}). */
  readonly stream: BoxStreamDuplex
  /** The peer's 32-byte long-term ed25519 public key. */
  readonly remoteKey: Buffer
  /** The same key as a feed id. */
  readonly remoteId: FeedId
  /** On the server: what `authorize` returned. On the client: `undefined`. */
  readonly auth: unknown
}

const DEFAULT_TIMEOUT_MS = 5000

function toKeyPair(keys: ShsKeys): Ed25519KeyPair {
  if ('secretKey' in keys) return keys
  if (typeof keys?.private !== 'string') throw new TypeError('keys must be an ed25519 key pair')
  const secretKey = secretKeyOf(keys)
  return { publicKey: secretKey.subarray(32), secretKey }
}

function toBytes32(value: Uint8Array | string, what: string): Uint8Array {
  let bytes: Uint8Array
  if (typeof value === 'string') {
    const text = value.replace(/^@/, '').replace(/\.ed25519$/, '')
    bytes = Buffer.from(text, 'base64')
  } else bytes = value
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32)
    throw new RangeError(`${what} must be 32 bytes (or their base64)`)
  return bytes
}

interface PendingRead {
  readonly length: number
  readonly resolve: (bytes: Buffer) => void
  readonly reject: (error: unknown) => void
}

/**
 * The socket during a handshake: exact-length reads, writes that stop after a failure, and one
 * failure (the first) that rejects everything and destroys the socket. The socket is paused
 * whenever no read is waiting, so a peer cannot make us buffer more than one socket chunk.
 */
class HandshakeTransport {
  readonly #socket: Duplex
  #chunks: Buffer[] = []
  #length = 0
  #pending: PendingRead | undefined
  #error: unknown
  #failed = false
  readonly #failure: Promise<never>
  #rejectFailure!: (error: unknown) => void

  constructor(socket: Duplex) {
    this.#socket = socket
    this.#failure = new Promise<never>((_, reject) => {
      this.#rejectFailure = reject
    })
    this.#failure.catch(() => {})
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('error', this.#onError)
    socket.on('close', this.#onClose)
    socket.pause()
    if (socket.destroyed) this.fail(new HandshakeError('hangup'))
  }

  /** The first failure, once there is one. */
  get error(): unknown {
    return this.#error
  }

  get failed(): boolean {
    return this.#failed
  }

  #onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.#chunks.push(bytes)
    this.#length += bytes.length
    this.#settle()
  }

  #onEnd = (): void => this.fail(new HandshakeError('hangup'))
  #onError = (error: unknown): void => this.fail(new HandshakeError('hangup', { cause: error }))
  #onClose = (): void => this.fail(new HandshakeError('hangup'))

  #settle(): void {
    const pending = this.#pending
    if (pending === undefined || this.#length < pending.length) return
    this.#pending = undefined
    this.#socket.pause()
    pending.resolve(this.#take(pending.length))
  }

  #take(length: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks)
    const rest = all.subarray(length)
    this.#chunks = rest.length > 0 ? [rest] : []
    this.#length = rest.length
    return Buffer.from(all.subarray(0, length))
  }

  /** Exactly `length` bytes, or the failure. */
  read(length: number): Promise<Buffer> {
    if (this.#failed) return Promise.reject(this.#error)
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending = { length, resolve, reject }
      this.#settle()
      if (this.#pending !== undefined) this.#socket.resume()
    })
  }

  /** Sends `bytes` unless the handshake has failed. */
  write(bytes: Uint8Array): void {
    if (!this.#failed) this.#socket.write(bytes)
  }

  /** `promise`, or the failure if it comes first. */
  guard<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.#failure])
  }

  /** Records the first failure, rejects the waiting read and destroys the socket. */
  fail(error: unknown): void {
    if (this.#failed) return
    this.#failed = true
    this.#error = error
    const pending = this.#pending
    this.#pending = undefined
    this.#chunks = []
    this.#length = 0
    this.#rejectFailure(error)
    pending?.reject(error)
    this.#socket.destroy()
  }

  /** Stops listening (the socket stays paused) and returns the bytes read past the handshake. */
  detach(): Buffer | undefined {
    const socket = this.#socket
    socket.pause()
    socket.off('data', this.#onData)
    socket.off('end', this.#onEnd)
    socket.off('error', this.#onError)
    socket.off('close', this.#onClose)
    const rest = this.#length === 0 ? undefined : Buffer.concat(this.#chunks)
    this.#chunks = []
    this.#length = 0
    return rest
  }
}

type HandshakeSteps = (io: HandshakeTransport) => Promise<{ session: SessionKeys; auth: unknown }>

async function runHandshake(
  socket: Duplex,
  options: HandshakeOptions,
  destroyCore: () => void,
  steps: HandshakeSteps,
): Promise<SecretChannel> {
  const { signal } = options
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (signal?.aborted) {
    destroyCore()
    socket.destroy()
    throw signal.reason
  }
  const tcp = socket as Duplex & { setNoDelay?: (noDelay: boolean) => unknown }
  if (typeof tcp.setNoDelay === 'function') tcp.setNoDelay(true)
  const io = new HandshakeTransport(socket)
  const timer =
    timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? setTimeout(() => io.fail(new HandshakeTimeoutError(timeoutMs)), timeoutMs)
      : undefined
  const onAbort = (): void => io.fail(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const { session, auth } = await steps(io)
    if (io.failed) throw io.error
    const buffered = io.detach()
    const stream = new BoxStreamDuplex(socket, session, { buffered })
    return {
      stream,
      remoteKey: session.remotePublicKey,
      remoteId: feedIdFromBytes(session.remotePublicKey),
      auth,
    }
  } catch (error) {
    destroyCore()
    io.fail(error)
    throw io.error
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Runs the client side of SHS v1 (§3.3) on a connected socket and resolves to the encrypted
 * channel. On any failure the socket is destroyed and the promise rejects with a
 * {@link HandshakeError} (`invalid-hello`, `low-order-key`, `server-not-authenticated`,
 * `hangup`, … or {@link HandshakeTimeoutError}), or with `signal.reason` when aborted.
 * Bytes the server sends right after msg4 are kept for the box stream.
 */
export async function clientHandshake(
  socket: Duplex,
  options: ClientHandshakeOptions,
): Promise<SecretChannel> {
  let core: ClientHandshakeCore
  try {
    core = new ClientHandshakeCore({
      keys: toKeyPair(options.keys),
      appKey: toBytes32(options.appKey, 'appKey'),
      serverKey: toBytes32(options.serverKey, 'serverKey'),
    })
  } catch (error) {
    socket.destroy()
    throw error
  }
  return runHandshake(
    socket,
    options,
    () => core.destroy(),
    async (io) => {
      io.write(core.createMsg1())
      core.verifyMsg2(await io.read(MSG2_BYTES))
      io.write(core.createMsg3())
      const session = core.verifyMsg4(await io.read(MSG4_BYTES))
      return { session, auth: undefined }
    },
  )
}

/**
 * Runs the server side of SHS v1 (§3.3) on an accepted socket and resolves to the encrypted
 * channel. A client that fails a check gets nothing more from us (a bad msg1 gets no reply at
 * all); a client refused by `authorize` gets no msg4. The promise then rejects with a
 * {@link HandshakeError} (`invalid-hello`, `low-order-key`, `invalid-client-auth`,
 * `unauthorized`, `hangup`, … or {@link HandshakeTimeoutError}) and the socket is destroyed.
 * Bytes the client pipelines after msg1 or msg3 are kept (msg3's start, then box-stream data).
 */
export async function serverHandshake(
  socket: Duplex,
  options: ServerHandshakeOptions,
): Promise<SecretChannel> {
  let core: ServerHandshakeCore
  try {
    core = new ServerHandshakeCore({
      keys: toKeyPair(options.keys),
      appKey: toBytes32(options.appKey, 'appKey'),
    })
  } catch (error) {
    socket.destroy()
    throw error
  }
  const { authorize } = options
  return runHandshake(
    socket,
    options,
    () => core.destroy(),
    async (io) => {
      core.verifyMsg1(await io.read(MSG1_BYTES))
      io.write(core.createMsg2())
      const clientKey = core.verifyMsg3(await io.read(MSG3_BYTES))
      let auth: unknown = true
      if (authorize !== undefined) {
        const remoteId = feedIdFromBytes(clientKey)
        try {
          auth = await io.guard(Promise.resolve().then(() => authorize(remoteId)))
        } catch (error) {
          if (io.failed) throw io.error
          throw new HandshakeError('unauthorized', { cause: error })
        }
        if (!auth) throw new HandshakeError('unauthorized')
      }
      if (io.failed) throw io.error
      io.write(core.createMsg4())
      return { session: core.sessionKeys(), auth }
    },
  )
}

/** Options of {@link BoxStreamDuplex}. */
export interface BoxStreamDuplexOptions {
  /** Bytes already read from the socket that belong to the box stream (read first). */
  readonly buffered?: Uint8Array | undefined
  /**
   * Whether our writable side stays open after the peer's goodbye (Node's `Duplex` option).
   * Defaults to the socket's own `allowHalfOpen` (false for `net` sockets, which end their
   * writable side on the peer's FIN): when false, once our reader has consumed everything up to
   * the peer's goodbye we end too (flush, our goodbye, FIN), so both sides close cleanly. The
   * socket itself is switched to half-open, so that a FIN it reads early cannot cut off the
   * goodbye we still owe.
   */
  readonly allowHalfOpen?: boolean
}

/** Plaintext gathered within one tick is boxed together; at this size it is sent at once. */
const FLUSH_BYTES = 64 * 1024

/**
 * A box-stream encrypted connection as a plaintext byte `Duplex` (§3.5), over a socket on which
 * a handshake has finished.
 *
 * - Writes are boxed (at most 4096 bytes per box; small writes made in the same tick share boxes
 *   and one socket write). Empty writes send nothing.
 * - `end()` flushes, sends the goodbye box, then ends the socket's writable side.
 * - The peer's goodbye ends the readable side (`'end'`); bytes after it are ignored. Unless the
 *   stream is half-open (see {@link BoxStreamDuplexOptions.allowHalfOpen}; not for `net`
 *   sockets by default), we then end as well, like a `net` socket does on a FIN.
 * - Once both sides are done the stream closes and destroys the socket. Note that `for await`
 *   over the stream destroys it when the readable side ends: use
 *   `stream.iterator({ destroyOnReturn: false })` to keep writing after that.
 * - The socket ending or failing before the peer's goodbye destroys the stream with
 *   {@link UnexpectedHangupError}; a box that does not open destroys it with
 *   `InvalidBoxHeaderError` / `InvalidBoxBodyError`, and nothing after that box is delivered.
 * - Backpressure both ways: when the socket's buffer is full our write callbacks wait for its
 *   `'drain'`; when our reader stops reading, the socket is paused (so TCP pushes back).
 * - `destroy()` destroys the socket.
 */
export class BoxStreamDuplex extends Duplex {
  readonly #socket: Duplex
  readonly #encoder: BoxStreamEncoder
  readonly #decoder: BoxStreamDecoder
  #buffered: Uint8Array | undefined
  /** True once the peer's goodbye has been read. */
  #readEnded = false
  #batch: Uint8Array[] = []
  #batchBytes = 0
  #flushScheduled = false
  /** The socket's `write` returned false: wait for `'drain'`. */
  #blocked = false
  #waiting: ((error?: Error | null) => void) | undefined

  constructor(socket: Duplex, keys: SessionKeys, options: BoxStreamDuplexOptions = {}) {
    const allowHalfOpen = options.allowHalfOpen ?? socket.allowHalfOpen ?? true
    super({ allowHalfOpen, decodeStrings: true })
    this.#socket = socket
    // The half-open policy is ours to apply now, at the goodbye. A socket that ended its own
    // writable side when the peer's FIN arrives (which it may read before our reader has seen
    // the data before the goodbye) would cut off the goodbye we still owe the peer.
    socket.allowHalfOpen = true
    const tcp = socket as Duplex & { setNoDelay?: (noDelay: boolean) => unknown }
    if (typeof tcp.setNoDelay === 'function') tcp.setNoDelay(true)
    this.#encoder = new BoxStreamEncoder(keys.encryptKey, keys.encryptNonce)
    this.#decoder = new BoxStreamDecoder(keys.decryptKey, keys.decryptNonce)
    this.#buffered = options.buffered?.length ? options.buffered : undefined
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('error', this.#onError)
    socket.on('close', this.#onClose)
    socket.on('drain', this.#onDrain)
    socket.pause()
  }

  /** The socket (or other Duplex) the boxes travel on. */
  get socket(): Duplex {
    return this.#socket
  }

  override _read(): void {
    const buffered = this.#buffered
    if (buffered !== undefined) {
      this.#buffered = undefined
      this.#onData(buffered)
    }
    if (!this.#readEnded && !this.destroyed) this.#socket.resume()
  }

  #onData = (chunk: Uint8Array | string): void => {
    if (this.destroyed || this.#readEnded) return
    const decoder = this.#decoder
    const plain = decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    if (plain.length > 0 && !this.push(plain)) this.#socket.pause()
    if (decoder.error !== undefined) {
      this.destroy(decoder.error)
    } else if (decoder.ended) {
      this.#readEnded = true
      // Nothing after the goodbye matters: stop reading. The stream is destroyed (and the
      // socket with it) once both of our sides are done.
      this.#socket.pause()
      this.push(null)
    }
  }

  #onEnd = (): void => {
    if (!this.#readEnded && !this.destroyed) this.destroy(new UnexpectedHangupError())
  }

  #onError = (error: unknown): void => {
    if (this.destroyed) return
    if (this.#readEnded && this.writableFinished) this.destroy()
    else this.destroy(new UnexpectedHangupError({ cause: error }))
  }

  #onClose = (): void => {
    if (this.destroyed) return
    if (!this.#readEnded) this.destroy(new UnexpectedHangupError())
    else this.destroy() // the peer said goodbye and the transport is gone: nothing more to send
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (chunk.length > 0) {
      this.#batch.push(chunk)
      this.#batchBytes += chunk.length
    }
    this.#afterQueue(callback)
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    for (const { chunk } of chunks) {
      if (chunk.length > 0) {
        this.#batch.push(chunk)
        this.#batchBytes += chunk.length
      }
    }
    this.#afterQueue(callback)
  }

  #afterQueue(callback: (error?: Error | null) => void): void {
    if (this.#blocked) {
      this.#waiting = callback
      return
    }
    if (this.#batchBytes >= FLUSH_BYTES) {
      if (this.#flush()) callback()
      else this.#waiting = callback
      return
    }
    if (this.#batchBytes > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true
      process.nextTick(this.#tickFlush)
    }
    callback()
  }

  /** Boxes and sends what is queued; false when the socket asks us to wait for `'drain'`. */
  #flush(): boolean {
    if (this.#batchBytes === 0) return !this.#blocked
    const boxes = this.#encoder.encryptMany(this.#batch)
    this.#batch = []
    this.#batchBytes = 0
    const socket = this.#socket
    if (socket.destroyed || socket.writableEnded) {
      this.destroy(new UnexpectedHangupError())
      return false
    }
    if (!socket.write(boxes)) this.#blocked = true
    return !this.#blocked
  }

  #tickFlush = (): void => {
    this.#flushScheduled = false
    if (!this.#blocked && !this.destroyed) this.#flush()
  }

  #onDrain = (): void => {
    if (!this.#blocked || this.destroyed) return
    this.#blocked = false
    if (!this.#flush()) return
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.()
  }

  override _final(callback: (error?: Error | null) => void): void {
    const socket = this.#socket
    if (socket.destroyed || socket.writableEnded) {
      // The transport already closed its sending side: no goodbye can be said.
      this.#batch = []
      this.#batchBytes = 0
      callback()
      return
    }
    if (this.#batchBytes > 0) {
      socket.write(this.#encoder.encryptMany(this.#batch))
      this.#batch = []
      this.#batchBytes = 0
    }
    socket.write(this.#encoder.goodbye())
    socket.end(() => callback())
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#batch = []
    this.#batchBytes = 0
    this.#buffered = undefined
    const waiting = this.#waiting
    this.#waiting = undefined
    if (!this.#socket.destroyed) this.#socket.destroy()
    // a write still waiting for 'drain' fails with the stream (a plain destroy() leaves it be)
    if (error) waiting?.(error)
    callback(error)
  }
}
