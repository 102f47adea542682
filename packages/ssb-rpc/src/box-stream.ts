/**
 * Box-stream framing (pull-box-stream 1.0.13, `ssb-protocol.md` §3.5) as a pure encoder and
 * decoder over bytes: no streams, no sockets, no timers.
 *
 * Each direction of a connection has its own key and a 24-byte big-endian nonce counter. A box
 * is a 34-byte encrypted header (`len_be16 ‖ body MAC`, nonce `n`) followed by the body
 * ciphertext without its MAC (nonce `n+1`); then `n += 2`. Bodies hold 1–4096 plaintext bytes
 * when we send, any u16 length when we receive. A header whose plaintext is 18 zero bytes is the
 * goodbye that ends the stream.
 *
 * Both classes avoid copies on the hot path: the encoder writes every box of one call into a
 * single output buffer with `crypto_secretbox_detached`, and the decoder opens boxes straight
 * out of the bytes it is given, into one output buffer per {@link BoxStreamDecoder.push}.
 */
import sodium from 'sodium-native'
import {
  BoxStreamEndedError,
  type BoxStreamError,
  InvalidBoxBodyError,
  InvalidBoxHeaderError,
} from './errors-shs.js'

/** Bytes of an encrypted box header (and of the goodbye): 16-byte MAC + 18 bytes (§3.5). */
export const BOX_HEADER_BYTES = 34
/** Largest body we put in one box; longer writes are split (pull-box-stream's `max`, §3.5). */
export const MAX_BOX_BODY_BYTES = 4096

const HEADER_PLAIN_BYTES = 18
const EMPTY = Buffer.alloc(0)
const GOODBYE_PLAIN = Buffer.alloc(HEADER_PLAIN_BYTES)

function checkKeyNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32)
    throw new RangeError('a box-stream key must be a Uint8Array of 32 bytes')
  if (!(nonce instanceof Uint8Array) || nonce.length !== 24)
    throw new RangeError('a box-stream nonce must be a Uint8Array of 24 bytes')
}

/** Adds one to a big-endian counter in place, wrapping around from all-ones to zero (§3.5). */
export function incrementNonce(nonce: Uint8Array): void {
  for (let i = nonce.length - 1; i >= 0; i--) {
    const v = (nonce[i]! + 1) & 0xff
    nonce[i] = v
    if (v !== 0) return
  }
}

/** A copy of `nonce` plus one. */
function nextNonce(nonce: Uint8Array): Buffer {
  const next = Buffer.from(nonce)
  incrementNonce(next)
  return next
}

/**
 * Encrypts one direction of a box stream. Keeps the nonce counter, so use one encoder per
 * connection direction and send its output in order.
 */
export class BoxStreamEncoder {
  readonly #key: Buffer
  /** `n`, the nonce of the next header. */
  readonly #headerNonce: Buffer
  /** `n + 1`, the nonce of the next body. */
  readonly #bodyNonce: Buffer
  /** The plaintext of a header; its bytes 2–18 receive the body MAC directly. */
  readonly #header = Buffer.alloc(HEADER_PLAIN_BYTES)
  readonly #mac = this.#header.subarray(2)
  #ended = false

  /** `key` (32 bytes) and `nonce` (24 bytes) are copied: a handshake's `encryptKey` and `encryptNonce`. */
  constructor(key: Uint8Array, nonce: Uint8Array) {
    checkKeyNonce(key, nonce)
    this.#key = Buffer.from(key)
    this.#headerNonce = Buffer.from(nonce)
    this.#bodyNonce = nextNonce(nonce)
  }

  /** True once {@link goodbye} has been produced. */
  get ended(): boolean {
    return this.#ended
  }

  /**
   * The boxes of `plaintext`, ready to send, in one buffer: one box per 4096 bytes, none for an
   * empty input (§3.5: a body is never empty).
   * @throws BoxStreamEndedError after {@link goodbye}.
   */
  encrypt(plaintext: Uint8Array): Buffer {
    if (this.#ended) throw new BoxStreamEndedError()
    const n = plaintext.length
    if (n === 0) return EMPTY
    const out = Buffer.allocUnsafe(n + Math.ceil(n / MAX_BOX_BODY_BYTES) * BOX_HEADER_BYTES)
    let o = 0
    for (let p = 0; p < n; p += MAX_BOX_BODY_BYTES) {
      const len = Math.min(MAX_BOX_BODY_BYTES, n - p)
      const body = out.subarray(o + BOX_HEADER_BYTES, o + BOX_HEADER_BYTES + len)
      sodium.crypto_secretbox_detached(
        body,
        this.#mac,
        plaintext.subarray(p, p + len),
        this.#bodyNonce,
        this.#key,
      )
      this.#sealHeader(out, o, len)
      o += BOX_HEADER_BYTES + len
    }
    return out
  }

  /**
   * The boxes of several writes, concatenated as one plaintext and packed into as few boxes as
   * possible (box boundaries carry no meaning, §3.5), in one buffer. This is how a stream
   * sends many small writes cheaply: fewer boxes, fewer sodium calls, one socket write.
   * @throws BoxStreamEndedError after {@link goodbye}.
   */
  encryptMany(chunks: readonly Uint8Array[]): Buffer {
    if (chunks.length === 1) return this.encrypt(chunks[0]!)
    if (this.#ended) throw new BoxStreamEndedError()
    let total = 0
    for (const c of chunks) total += c.length
    if (total === 0) return EMPTY
    const out = Buffer.allocUnsafe(total + Math.ceil(total / MAX_BOX_BODY_BYTES) * BOX_HEADER_BYTES)
    // Copy the plaintext into the body slots, then encrypt each body in place (libsodium allows
    // the message and the ciphertext to be the same memory).
    let boxAt = 0
    let fill = 0
    for (const chunk of chunks) {
      let p = 0
      while (p < chunk.length) {
        const take = Math.min(MAX_BOX_BODY_BYTES - fill, chunk.length - p)
        out.set(chunk.subarray(p, p + take), boxAt + BOX_HEADER_BYTES + fill)
        fill += take
        p += take
        if (fill === MAX_BOX_BODY_BYTES) {
          this.#sealInPlace(out, boxAt, fill)
          boxAt += BOX_HEADER_BYTES + fill
          fill = 0
        }
      }
    }
    if (fill > 0) this.#sealInPlace(out, boxAt, fill)
    return out
  }

  /**
   * The 34-byte goodbye box (18 zero bytes boxed with the current header nonce, §3.5). The
   * encoder is finished afterwards and forgets its key.
   * @throws BoxStreamEndedError when called twice.
   */
  goodbye(): Buffer {
    if (this.#ended) throw new BoxStreamEndedError()
    this.#ended = true
    const out = Buffer.allocUnsafe(BOX_HEADER_BYTES)
    sodium.crypto_secretbox_easy(out, GOODBYE_PLAIN, this.#headerNonce, this.#key)
    sodium.sodium_memzero(this.#key)
    return out
  }

  #sealInPlace(out: Buffer, at: number, len: number): void {
    const body = out.subarray(at + BOX_HEADER_BYTES, at + BOX_HEADER_BYTES + len)
    sodium.crypto_secretbox_detached(body, this.#mac, body, this.#bodyNonce, this.#key)
    this.#sealHeader(out, at, len)
  }

  /** Boxes the header (whose MAC part is already filled) at `out[at]`, then advances `n` by 2. */
  #sealHeader(out: Buffer, at: number, len: number): void {
    this.#header[0] = len >>> 8
    this.#header[1] = len & 0xff
    sodium.crypto_secretbox_easy(
      out.subarray(at, at + BOX_HEADER_BYTES),
      this.#header,
      this.#headerNonce,
      this.#key,
    )
    incrementNonce(this.#headerNonce)
    incrementNonce(this.#headerNonce)
    incrementNonce(this.#bodyNonce)
    incrementNonce(this.#bodyNonce)
  }
}

const HEADER = 0
const BODY = 1

/**
 * Decrypts one direction of a box stream from bytes cut anywhere (a socket's chunks).
 *
 * {@link push} returns the plaintext of every box the new bytes complete. A box that does not
 * open (corrupted, forged, replayed, reordered or dropped data) makes the decoder failed:
 * `push` returns the plaintext of the boxes before it, {@link error} holds the reason, and every
 * later `push` returns nothing, so nothing after a bad box is ever delivered. After the goodbye,
 * {@link ended} is true and further bytes are ignored (§3.5).
 */
export class BoxStreamDecoder {
  readonly #key: Buffer
  readonly #headerNonce: Buffer
  readonly #bodyNonce: Buffer
  readonly #headerPlain = Buffer.alloc(HEADER_PLAIN_BYTES)
  readonly #mac = this.#headerPlain.subarray(2)
  /** Holds a header cut between two pushes. */
  readonly #headerHeld = Buffer.alloc(BOX_HEADER_BYTES)
  /** Holds a body cut between two pushes; grows to the largest such body seen. */
  #bodyHeld = EMPTY
  #held = 0
  #phase: typeof HEADER | typeof BODY = HEADER
  #bodyLength = 0
  #ended = false
  #error: BoxStreamError | undefined

  /** `key` (32 bytes) and `nonce` (24 bytes) are copied: a handshake's `decryptKey` and `decryptNonce`. */
  constructor(key: Uint8Array, nonce: Uint8Array) {
    checkKeyNonce(key, nonce)
    this.#key = Buffer.from(key)
    this.#headerNonce = Buffer.from(nonce)
    this.#bodyNonce = nextNonce(nonce)
  }

  /** True once the peer's goodbye has been read: the stream ended cleanly. */
  get ended(): boolean {
    return this.#ended
  }

  /** Why the stream broke ({@link InvalidBoxHeaderError} or {@link InvalidBoxBodyError}), if it did. */
  get error(): BoxStreamError | undefined {
    return this.#error
  }

  /** Bytes of an incomplete box held until more arrive (0 between boxes). */
  get bufferedBytes(): number {
    return this.#held
  }

  /**
   * Feeds received bytes; returns the plaintext of the boxes they complete, in order, as one
   * buffer (empty when none completed). Check {@link error} and {@link ended} afterwards.
   * `bytes` is only read, never kept: the decoder copies what it must hold.
   */
  push(bytes: Uint8Array): Buffer {
    if (this.#ended || this.#error) return EMPTY
    const n = bytes.length
    // Plaintext can never exceed the body bytes held plus the new bytes.
    const bound = (this.#phase === BODY ? this.#held : 0) + n
    let out: Buffer | undefined
    let outLength = 0
    let off = 0
    for (;;) {
      if (this.#phase === HEADER) {
        let header: Uint8Array
        if (this.#held === 0 && n - off >= BOX_HEADER_BYTES) {
          header = bytes.subarray(off, off + BOX_HEADER_BYTES)
          off += BOX_HEADER_BYTES
        } else {
          const take = Math.min(BOX_HEADER_BYTES - this.#held, n - off)
          this.#headerHeld.set(bytes.subarray(off, off + take), this.#held)
          this.#held += take
          off += take
          if (this.#held < BOX_HEADER_BYTES) break
          this.#held = 0
          header = this.#headerHeld
        }
        if (
          !sodium.crypto_secretbox_open_easy(
            this.#headerPlain,
            header,
            this.#headerNonce,
            this.#key,
          )
        ) {
          this.#fail(new InvalidBoxHeaderError())
          break
        }
        if (sodium.sodium_is_zero(this.#headerPlain)) {
          this.#ended = true
          this.#forget()
          break
        }
        this.#bodyLength = (this.#headerPlain[0]! << 8) | this.#headerPlain[1]!
        this.#phase = BODY
      }

      const len = this.#bodyLength
      let body: Uint8Array
      if (this.#held === 0 && n - off >= len) {
        body = bytes.subarray(off, off + len)
        off += len
      } else {
        if (this.#bodyHeld.length < len) this.#bodyHeld = Buffer.allocUnsafe(len)
        const take = Math.min(len - this.#held, n - off)
        this.#bodyHeld.set(bytes.subarray(off, off + take), this.#held)
        this.#held += take
        off += take
        if (this.#held < len) break
        this.#held = 0
        body = this.#bodyHeld.subarray(0, len)
      }
      out ??= Buffer.allocUnsafe(bound)
      if (
        !sodium.crypto_secretbox_open_detached(
          out.subarray(outLength, outLength + len),
          body,
          this.#mac,
          this.#bodyNonce,
          this.#key,
        )
      ) {
        this.#fail(new InvalidBoxBodyError())
        break
      }
      outLength += len
      incrementNonce(this.#headerNonce)
      incrementNonce(this.#headerNonce)
      incrementNonce(this.#bodyNonce)
      incrementNonce(this.#bodyNonce)
      this.#phase = HEADER
      if (off === n) break
    }
    return out === undefined || outLength === 0 ? EMPTY : out.subarray(0, outLength)
  }

  #fail(error: BoxStreamError): void {
    this.#error = error
    this.#forget()
  }

  #forget(): void {
    sodium.sodium_memzero(this.#key)
    this.#held = 0
    this.#bodyHeld = EMPTY
  }
}
