/**
 * The packet-stream-codec frame format of muxrpc, as pure functions over bytes
 * (`ssb-protocol.md` §4.1–4.3). No sockets here: {@link FrameDecoder} takes chunks and yields
 * frames, {@link FrameBatcher} turns values into frames packed into few large chunks.
 */

import { isUtf8 } from 'node:buffer'
import { FrameTooLargeError, InvalidFrameBodyError, UnknownFrameTypeError } from './errors-rpc.js'

/** How a frame body is to be read (flag bits 1–0, §4.1). */
export type BodyType = 'binary' | 'string' | 'json'

/** One decoded or to-be-encoded frame. */
export interface Frame {
  /** Request number: positive from the requester, negative in replies (§4.4); 0 = ignored emit. */
  readonly req: number
  /** Flag bit 3: the frame belongs to a source, sink or duplex stream. */
  readonly stream: boolean
  /** Flag bit 2: the last frame of a stream, or an error reply. */
  readonly end: boolean
  readonly type: BodyType
  /** The body bytes; in decoded frames a Buffer view into the received chunk where possible. */
  readonly body: Uint8Array
}

/** Size of a frame header: flags, u32 BE body length, i32 BE request number (§4.1). */
export const HEADER_BYTES = 9

/** Default cap on a frame body, the same as `RpcLimits.maxFrameBytes` defaults to. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024

/**
 * The goodbye frame: a header of nine zero bytes (§4.3). Each side sends it once before ending
 * the connection. Shared; do not modify it.
 */
export const GOODBYE: Buffer = Buffer.alloc(HEADER_BYTES)

const EMPTY_BODY: Buffer = Buffer.alloc(0)

const TYPE_BITS: Readonly<Record<BodyType, number>> = { binary: 0, string: 1, json: 2 }
const TYPE_NAMES: readonly BodyType[] = ['binary', 'string', 'json']

/**
 * The body an empty string or empty byte array is sent as: JSON `""`. A zero-length body would
 * make the peer's decoder see a goodbye and tear down the connection (§4.3), so neither may go out
 * as is. The peer (npm muxrpc included) receives the empty string `''`, which is what an empty
 * string should be; an empty Buffer arrives as `''` too, which JS code treats like an empty Buffer
 * for `length`, `toString()` and `Buffer.from`. (The session skips empty binary stream chunks
 * altogether; see `RpcSession`.)
 */
const EMPTY_JSON_STRING = Buffer.from('""')
const JSON_TRUE = Buffer.from('true')
const JSON_FALSE = Buffer.from('false')

/** The flags byte for a frame (§4.1). Reserved bits 7–4 are written as 0. */
export function frameFlags(stream: boolean, end: boolean, type: BodyType): number {
  return (stream ? 8 : 0) | (end ? 4 : 0) | TYPE_BITS[type]
}

function writeHeader(
  target: Uint8Array,
  at: number,
  flags: number,
  length: number,
  req: number,
): void {
  target[at] = flags
  target[at + 1] = length >>> 24
  target[at + 2] = (length >>> 16) & 0xff
  target[at + 3] = (length >>> 8) & 0xff
  target[at + 4] = length & 0xff
  target[at + 5] = (req >>> 24) & 0xff
  target[at + 6] = (req >>> 16) & 0xff
  target[at + 7] = (req >>> 8) & 0xff
  target[at + 8] = req & 0xff
}

function checkReq(req: number): void {
  if (!Number.isInteger(req) || req < -0x80000000 || req > 0x7fffffff) {
    throw new RangeError(`request number out of int32 range: ${req}`)
  }
}

/**
 * Encodes one frame with the body bytes given. Throws a RangeError for an empty body, which the
 * peer would read as a goodbye (§4.3); use {@link encodeValue} to get the JSON `""` substitute.
 */
export function encodeFrame(frame: Frame): Buffer {
  checkReq(frame.req)
  const length = frame.body.length
  if (length === 0)
    throw new RangeError('a frame body must not be empty (it would read as goodbye)')
  const out = Buffer.allocUnsafe(HEADER_BYTES + length)
  writeHeader(out, 0, frameFlags(frame.stream, frame.end, frame.type), length, frame.req)
  out.set(frame.body, HEADER_BYTES)
  return out
}

/**
 * The body type and bytes a value is sent as (§4.2): a string as UTF-8 text, a Uint8Array as
 * binary, anything else as `JSON.stringify`. `undefined` becomes JSON `end` (so `false` for an
 * async reply, `true` for a stream end), as in packet-stream-codec. A value JSON cannot express
 * (a function, a symbol) goes out as `null`. Empty strings and byte arrays become JSON `""`.
 * Throws what `JSON.stringify` throws (BigInt, cycles).
 */
export function valueBody(value: unknown, end: boolean): { type: BodyType; body: Uint8Array } {
  if (value === undefined) return { type: 'json', body: end ? JSON_TRUE : JSON_FALSE }
  if (typeof value === 'string') {
    if (value.length === 0) return { type: 'json', body: EMPTY_JSON_STRING }
    return { type: 'string', body: Buffer.from(value, 'utf8') }
  }
  if (value instanceof Uint8Array) {
    if (value.length === 0) return { type: 'json', body: EMPTY_JSON_STRING }
    return { type: 'binary', body: value }
  }
  return { type: 'json', body: Buffer.from(JSON.stringify(value) ?? 'null', 'utf8') }
}

/** Encodes a value as one frame, choosing its body type as JS muxrpc does ({@link valueBody}). */
export function encodeValue(req: number, stream: boolean, end: boolean, value: unknown): Buffer {
  const { type, body } = valueBody(value, end)
  return encodeFrame({ req, stream, end, type, body })
}

/**
 * Reads a frame body as the value it carries (§4.2): binary → a Buffer viewing the same memory,
 * string → text, JSON → the parsed value. Throws {@link InvalidFrameBodyError} for invalid UTF-8
 * or JSON that does not parse (JS peers never send either).
 */
export function decodeBody(frame: Frame): unknown {
  const body = frame.body
  if (frame.type === 'binary') {
    return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length)
  }
  if (!isUtf8(body)) throw new InvalidFrameBodyError(`invalid UTF-8 in a ${frame.type} body`)
  const text = Buffer.isBuffer(body)
    ? body.toString('utf8')
    : Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8')
  if (frame.type === 'string') return text
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new InvalidFrameBodyError('JSON body does not parse', { cause: err })
  }
}

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest body accepted; a longer declared length throws {@link FrameTooLargeError}. */
  readonly maxFrameBytes?: number
}

/**
 * Incremental frame decoder: `push()` received chunks, then `read()` frames until it returns
 * `null`. Handles frames split across chunks and many frames per chunk. A body inside one chunk is
 * returned as a view of that chunk (no copy); only a body split across chunks is copied.
 *
 * - A header with length 0 and request number 0 is a goodbye (§4.3): `goodbye` becomes true and
 *   everything after it is ignored. A length-0 header with another request number is a frame with
 *   an empty body: JS decoders read it as a goodbye too, but ssb-server 16 sends one inside a
 *   `blobs.get` stream and goes on sending, so reading it as a goodbye drops a good connection.
 * - A declared length above `maxFrameBytes` throws {@link FrameTooLargeError} as soon as the header
 *   is complete, without waiting for (or buffering) the body.
 * - Body type 3 throws {@link UnknownFrameTypeError}; reserved flag bits 7–4 are ignored.
 * After a throw the decoder stays failed and `read()` throws the same error again.
 */
export class FrameDecoder {
  /** Whether a goodbye header has been read. */
  goodbye = false
  private readonly maxFrameBytes: number
  private readonly chunks: Buffer[] = []
  private offset = 0
  private available = 0
  private haveHeader = false
  private flags = 0
  private length = 0
  private req = 0
  private failure: Error | undefined
  private readonly scratch = Buffer.alloc(HEADER_BYTES)

  constructor(options: FrameDecoderOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.available
  }

  /** Adds received bytes. Ignored after a goodbye or a failure. */
  push(chunk: Uint8Array): void {
    if (this.goodbye || this.failure !== undefined || chunk.length === 0) return
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
    this.chunks.push(buf)
    this.available += buf.length
  }

  /** The next complete frame, or `null` if more bytes are needed (or after a goodbye). */
  read(): Frame | null {
    if (this.failure !== undefined) throw this.failure
    if (this.goodbye) return null
    if (!this.haveHeader) {
      if (this.available < HEADER_BYTES) return null
      let head = this.chunks[0]!
      let at = this.offset
      if (head.length - at > HEADER_BYTES) {
        // the common case: read the header in place, no view or copy
        this.offset += HEADER_BYTES
        this.available -= HEADER_BYTES
      } else {
        head = this.take(HEADER_BYTES, true)
        at = 0
      }
      const length = head.readUInt32BE(at + 1)
      const req = head.readInt32BE(at + 5)
      if (length === 0 && req !== 0) {
        // ssb-server 16 sends an empty Buffer as a zero-length binary body (pull-file ends a
        // blob whose size is a multiple of 64 KiB with one). JS decoders take that for a goodbye
        // and drop the connection; a goodbye is nine zero bytes, so we read it as what it is.
        const flags = head[at]!
        if ((flags & 3) === 3) return this.fail(new UnknownFrameTypeError(flags))
        return {
          req,
          stream: (flags & 8) !== 0,
          end: (flags & 4) !== 0,
          type: TYPE_NAMES[flags & 3]!,
          body: EMPTY_BODY,
        }
      }
      if (length === 0) {
        this.goodbye = true
        this.chunks.length = 0
        this.available = 0
        this.offset = 0
        return null
      }
      const flags = head[at]!
      if ((flags & 3) === 3) return this.fail(new UnknownFrameTypeError(flags))
      if (length > this.maxFrameBytes) {
        return this.fail(new FrameTooLargeError(length, this.maxFrameBytes))
      }
      this.flags = flags
      this.length = length
      this.req = req
      this.haveHeader = true
    }
    if (this.available < this.length) return null
    this.haveHeader = false
    const flags = this.flags
    return {
      req: this.req,
      stream: (flags & 8) !== 0,
      end: (flags & 4) !== 0,
      type: TYPE_NAMES[flags & 3]!,
      body: this.take(this.length, false),
    }
  }

  private fail(err: Error): never {
    this.failure = err
    this.chunks.length = 0
    this.available = 0
    throw err
  }

  /** Removes `n` bytes from the front; a view when they lie in one chunk, else a copy. */
  private take(n: number, header: boolean): Buffer {
    this.available -= n
    const first = this.chunks[0]!
    const end = this.offset + n
    if (end <= first.length) {
      const view = first.subarray(this.offset, end)
      if (end === first.length) {
        this.chunks.shift()
        this.offset = 0
      } else {
        this.offset = end
      }
      return view
    }
    const out = header ? this.scratch : Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0]!
      const want = n - filled
      const have = chunk.length - this.offset
      if (have <= want) {
        chunk.copy(out, filled, this.offset)
        filled += have
        this.chunks.shift()
        this.offset = 0
      } else {
        chunk.copy(out, filled, this.offset, this.offset + want)
        filled += want
        this.offset += want
      }
    }
    return out
  }
}

/** Chunk size of {@link FrameBatcher}'s output buffers, and the size at which it asks to flush. */
export const BATCH_BYTES = 64 * 1024

/** Binary bodies at least this large are passed through by reference instead of copied. */
const COPY_LIMIT = 16 * 1024

/**
 * Packs outgoing frames into few large chunks, so that many small frames (a history stream's
 * messages, each a header plus a short JSON body) cost one socket write, and one box-stream box
 * per 4 KiB instead of two per frame. Values are encoded straight into a shared output buffer
 * (strings are written without an intermediate Buffer); `take()` hands out views of the part
 * written so far, which are never written again. Pure: the caller decides when to write.
 */
export class FrameBatcher {
  private out: Buffer = Buffer.allocUnsafeSlow(BATCH_BYTES)
  private start = 0
  private pos = 0
  private readonly sealed: Buffer[] = []
  private sealedBytes = 0

  /** Bytes appended and not yet taken. */
  get pendingBytes(): number {
    return this.sealedBytes + this.pos - this.start
  }

  /**
   * Appends a frame carrying `value`, encoded as {@link valueBody} describes. Throws (appending
   * nothing) when `JSON.stringify` throws.
   */
  appendValue(req: number, stream: boolean, end: boolean, value: unknown): void {
    if (typeof value === 'string' && value.length > 0) {
      this.appendText(req, frameFlags(stream, end, 'string'), value)
    } else if (value !== undefined && typeof value !== 'string' && !(value instanceof Uint8Array)) {
      this.appendText(req, frameFlags(stream, end, 'json'), JSON.stringify(value) ?? 'null')
    } else {
      const { type, body } = valueBody(value, end)
      this.appendBytes(req, frameFlags(stream, end, type), body)
    }
  }

  /** Appends a frame with the given body bytes (which must not be empty). */
  appendFrame(frame: Frame): void {
    if (frame.body.length === 0) throw new RangeError('a frame body must not be empty')
    this.appendBytes(frame.req, frameFlags(frame.stream, frame.end, frame.type), frame.body)
  }

  /** Appends the goodbye header (§4.3). */
  appendGoodbye(): void {
    this.reserve(HEADER_BYTES)
    this.out.fill(0, this.pos, this.pos + HEADER_BYTES)
    this.pos += HEADER_BYTES
  }

  /** Everything appended since the last call, as chunks to write in order; `[]` when none. */
  take(): Buffer[] {
    if (this.pos > this.start) {
      this.sealed.push(this.out.subarray(this.start, this.pos))
      this.start = this.pos
    }
    if (this.sealed.length === 0) return []
    const chunks = this.sealed.splice(0)
    this.sealedBytes = 0
    return chunks
  }

  private appendText(req: number, flags: number, text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit; measure exactly only when that may not fit.
    if (this.out.length - this.pos < HEADER_BYTES + text.length * 3) {
      this.reserve(HEADER_BYTES + Buffer.byteLength(text, 'utf8'))
    }
    const at = this.pos
    const length = this.out.write(text, at + HEADER_BYTES, 'utf8')
    writeHeader(this.out, at, flags, length, req)
    this.pos = at + HEADER_BYTES + length
  }

  private appendBytes(req: number, flags: number, body: Uint8Array): void {
    if (body.length >= COPY_LIMIT) {
      this.reserve(HEADER_BYTES)
      writeHeader(this.out, this.pos, flags, body.length, req)
      this.pos += HEADER_BYTES
      this.seal()
      const ref = Buffer.isBuffer(body)
        ? body
        : Buffer.from(body.buffer, body.byteOffset, body.length)
      this.sealed.push(ref)
      this.sealedBytes += ref.length
      return
    }
    this.reserve(HEADER_BYTES + body.length)
    writeHeader(this.out, this.pos, flags, body.length, req)
    this.out.set(body, this.pos + HEADER_BYTES)
    this.pos += HEADER_BYTES + body.length
  }

  /** Moves the bytes written so far to the sealed list. */
  private seal(): void {
    if (this.pos > this.start) {
      const view = this.out.subarray(this.start, this.pos)
      this.sealed.push(view)
      this.sealedBytes += view.length
      this.start = this.pos
    }
  }

  /** Makes room for `n` contiguous bytes at `pos`, starting a new output buffer if needed. */
  private reserve(n: number): void {
    if (this.out.length - this.pos >= n) return
    this.seal()
    this.out = Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, n))
    this.start = 0
    this.pos = 0
  }
}
