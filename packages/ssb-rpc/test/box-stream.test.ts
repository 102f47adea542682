import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import sodium from 'sodium-native'
import {
  BOX_HEADER_BYTES,
  BoxStreamDecoder,
  BoxStreamEncoder,
  incrementNonce,
  MAX_BOX_BODY_BYTES,
} from '../src/box-stream.js'
import {
  BoxStreamEndedError,
  BoxStreamError,
  InvalidBoxBodyError,
  InvalidBoxHeaderError,
} from '../src/errors-shs.js'

const require = createRequire(import.meta.url)
type PullSource = (end: unknown, cb: (end: unknown, data?: Buffer) => void) => void
const pull = require('pull-stream') as {
  (...streams: unknown[]): unknown
  values(values: unknown[]): PullSource
  collect(cb: (err: unknown, values: Buffer[]) => void): unknown
}
const refBoxes = require('pull-box-stream') as {
  createBoxStream(key: Buffer, nonce: Buffer): unknown
  createUnboxStream(key: Buffer, nonce: Buffer): unknown
}

/** A deterministic pseudo-random generator, so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

function bytes(n: number, seed = n): Buffer {
  const out = Buffer.alloc(n)
  const rnd = prng(seed)
  for (let i = 0; i < n; i++) out[i] = (rnd() * 256) | 0
  return out
}

const key = bytes(32, 1)
const nonce = bytes(24, 2)

/** npm pull-box-stream's output for `chunks` (its goodbye comes last). */
function refEncrypt(k: Buffer, n: Buffer, chunks: Buffer[]): Buffer {
  let out: Buffer | undefined
  pull(
    pull.values(chunks),
    refBoxes.createBoxStream(k, n),
    pull.collect((err, parts) => {
      assert.ifError(err)
      out = Buffer.concat(parts)
    }),
  )
  assert.ok(out, 'pull-box-stream is synchronous here')
  return out
}

/** npm pull-box-stream's decoding of `pieces`: the plaintext and how it ended. */
function refDecrypt(k: Buffer, n: Buffer, pieces: Buffer[]): { plain: Buffer; error: unknown } {
  let result: { plain: Buffer; error: unknown } | undefined
  pull(
    pull.values(pieces),
    refBoxes.createUnboxStream(k, n),
    pull.collect((error, parts) => {
      result = { plain: Buffer.concat(parts), error }
    }),
  )
  assert.ok(result)
  return result
}

/** Cuts `data` at random places (pieces of 1 byte up to a few boxes). */
function cut(data: Buffer, rnd: () => number): Buffer[] {
  const pieces: Buffer[] = []
  for (let at = 0; at < data.length; ) {
    const size = rnd() < 0.3 ? 1 + ((rnd() * 40) | 0) : 1 + ((rnd() * 9000) | 0)
    pieces.push(data.subarray(at, at + size))
    at += size
  }
  return pieces
}

/** The body lengths of the boxes in `data`, read by opening their headers. */
function boxLengths(k: Buffer, n: Buffer, data: Buffer): number[] {
  const lengths: number[] = []
  const headerNonce = Buffer.from(n)
  const plain = Buffer.alloc(18)
  for (let at = 0; at < data.length; ) {
    assert.ok(
      sodium.crypto_secretbox_open_easy(plain, data.subarray(at, at + 34), headerNonce, k),
      'header opens',
    )
    const len = plain.readUInt16BE(0)
    lengths.push(len)
    at += 34 + len
    incrementNonce(headerNonce)
    incrementNonce(headerNonce)
  }
  return lengths
}

/** Splits the output of one encoder into its boxes. */
function splitBoxes(k: Buffer, n: Buffer, data: Buffer): Buffer[] {
  const lengths = boxLengths(k, n, data)
  const boxes: Buffer[] = []
  let at = 0
  for (const len of lengths) {
    boxes.push(data.subarray(at, at + 34 + len))
    at += 34 + len
  }
  return boxes
}

test('incrementNonce counts big-endian and wraps around', () => {
  const a = Buffer.from(`${'00'.repeat(22)}00ff`, 'hex')
  incrementNonce(a)
  assert.equal(a.toString('hex'), `${'00'.repeat(22)}0100`)
  const b = Buffer.alloc(24, 0xff)
  incrementNonce(b)
  assert.deepEqual(b, Buffer.alloc(24))
})

test('our boxes are byte for byte those of pull-box-stream, one box list per write', () => {
  const rnd = prng(7)
  const chunks: Buffer[] = []
  for (let i = 0; i < 60; i++) chunks.push(bytes((rnd() * 10000) | 0, i))
  chunks.push(Buffer.alloc(0), bytes(4096), bytes(4097), bytes(1), bytes(65536))
  const encoder = new BoxStreamEncoder(key, nonce)
  const ours = Buffer.concat([...chunks.map((c) => encoder.encrypt(c)), encoder.goodbye()])
  assert.deepEqual(ours, refEncrypt(key, nonce, chunks))
})

test('round trip through our decoder and pull-box-stream, cut at random places', () => {
  for (let round = 0; round < 20; round++) {
    const rnd = prng(100 + round)
    const chunks: Buffer[] = []
    for (let i = 0, n = 1 + ((rnd() * 30) | 0); i < n; i++)
      chunks.push(bytes((rnd() * 12000) | 0, round * 100 + i))
    const plain = Buffer.concat(chunks)
    const encoder = new BoxStreamEncoder(key, nonce)
    const wire = Buffer.concat([
      ...(round % 2 ? [encoder.encryptMany(chunks)] : chunks.map((c) => encoder.encrypt(c))),
      encoder.goodbye(),
    ])
    const decoder = new BoxStreamDecoder(key, nonce)
    const out: Buffer[] = []
    const pieces = cut(wire, rnd)
    for (const piece of pieces) out.push(decoder.push(piece))
    assert.equal(decoder.error, undefined)
    assert.equal(decoder.ended, true)
    assert.equal(decoder.bufferedBytes, 0)
    assert.deepEqual(Buffer.concat(out), plain)
    const r = refDecrypt(key, nonce, pieces)
    assert.equal(r.error, null)
    assert.deepEqual(r.plain, plain)
  }
  // and the reference's boxes through our decoder
  const chunks = [bytes(5000), bytes(3), bytes(4096), bytes(70000)]
  const decoder = new BoxStreamDecoder(key, nonce)
  const out = cut(refEncrypt(key, nonce, chunks), prng(3)).map((p) => decoder.push(p))
  assert.ok(decoder.ended)
  assert.deepEqual(Buffer.concat(out), Buffer.concat(chunks))
})

test('empty writes send nothing; 4096 is one box, 4097 is 4096 + 1', () => {
  const encoder = new BoxStreamEncoder(key, nonce)
  assert.equal(encoder.encrypt(Buffer.alloc(0)).length, 0)
  assert.equal(encoder.encryptMany([Buffer.alloc(0), Buffer.alloc(0)]).length, 0)
  const one = encoder.encrypt(bytes(4096))
  assert.equal(one.length, BOX_HEADER_BYTES + MAX_BOX_BODY_BYTES)
  const two = encoder.encrypt(bytes(4097))
  assert.equal(two.length, 2 * BOX_HEADER_BYTES + 4097)
  assert.deepEqual(boxLengths(key, nonce, Buffer.concat([one, two])), [4096, 4096, 1])
})

test('encryptMany packs many small writes into few boxes', () => {
  const chunks = Array.from({ length: 100 }, (_, i) => bytes(300, i))
  const encoder = new BoxStreamEncoder(key, nonce)
  const wire = encoder.encryptMany(chunks)
  const boxes = Math.ceil(30000 / 4096)
  assert.equal(wire.length, 30000 + boxes * BOX_HEADER_BYTES)
  assert.deepEqual(boxLengths(key, nonce, wire), [
    ...Array(boxes - 1).fill(4096),
    30000 - (boxes - 1) * 4096,
  ])
  const decoder = new BoxStreamDecoder(key, nonce)
  assert.deepEqual(decoder.push(wire), Buffer.concat(chunks))
  // the input buffers are left as they were
  assert.deepEqual(chunks[5], bytes(300, 5))
})

test('goodbye: 34 bytes, ends the decoder cleanly; bytes after it are ignored', () => {
  const encoder = new BoxStreamEncoder(key, nonce)
  const data = encoder.encrypt(bytes(10))
  const bye = encoder.goodbye()
  assert.equal(bye.length, 34)
  assert.equal(encoder.ended, true)
  assert.throws(() => encoder.encrypt(bytes(1)), BoxStreamEndedError)
  assert.throws(() => encoder.goodbye(), BoxStreamEndedError)

  const decoder = new BoxStreamDecoder(key, nonce)
  assert.deepEqual(decoder.push(Buffer.concat([data, bye, bytes(100, 9)])), bytes(10))
  assert.equal(decoder.ended, true)
  assert.equal(decoder.error, undefined)
  assert.equal(decoder.push(bytes(50)).length, 0)
  assert.equal(decoder.error, undefined)

  // an empty session is just the goodbye
  const empty = new BoxStreamDecoder(key, nonce)
  assert.equal(empty.push(new BoxStreamEncoder(key, nonce).goodbye()).length, 0)
  assert.ok(empty.ended)
})

test('a bit flip in a header or a body breaks the stream at that box, nothing after it', () => {
  const parts = [bytes(100, 1), bytes(200, 2), bytes(300, 3)]
  const encoder = new BoxStreamEncoder(key, nonce)
  const wire = Buffer.concat([...parts.map((p) => encoder.encrypt(p)), encoder.goodbye()])
  const second = BOX_HEADER_BYTES + 100
  const cases: [number, typeof InvalidBoxHeaderError | typeof InvalidBoxBodyError][] = [
    [second, InvalidBoxHeaderError], // header MAC
    [second + 17, InvalidBoxHeaderError], // encrypted length
    [second + 33, InvalidBoxHeaderError], // encrypted body MAC
    [second + 34, InvalidBoxBodyError], // first body byte
    [second + 34 + 199, InvalidBoxBodyError], // last body byte
  ]
  for (const [at, Expected] of cases) {
    const bad = Buffer.from(wire)
    bad[at] = bad[at]! ^ 0x10
    for (const pieces of [[bad], cut(bad, prng(at))]) {
      const decoder = new BoxStreamDecoder(key, nonce)
      const out = Buffer.concat(pieces.map((p) => decoder.push(p)))
      assert.deepEqual(out, parts[0], `only the first box is delivered (flip at ${at})`)
      assert.ok(decoder.error instanceof Expected)
      assert.ok(decoder.error instanceof BoxStreamError)
      assert.equal(decoder.error.name, Expected.name)
      assert.equal(decoder.ended, false)
      // the decoder is dead: even good bytes give nothing
      assert.equal(decoder.push(wire).length, 0)
    }
    // the reference agrees that the stream is broken
    const r = refDecrypt(key, nonce, [bad])
    assert.ok(r.error instanceof Error)
  }
})

test('swapped, replayed or dropped boxes are refused', () => {
  const encoder = new BoxStreamEncoder(key, nonce)
  const wire = Buffer.concat([
    encoder.encrypt(bytes(10, 1)),
    encoder.encrypt(bytes(20, 2)),
    encoder.encrypt(bytes(30, 3)),
  ])
  const [a, b, c] = splitBoxes(key, nonce, wire) as [Buffer, Buffer, Buffer]
  const cases: [string, Buffer[], number][] = [
    ['swapped', [a, c, b], 10],
    ['replayed', [a, a, b], 10],
    ['dropped', [a, c], 10],
    ['first dropped', [b, c], 0],
  ]
  for (const [what, boxes, delivered] of cases) {
    const decoder = new BoxStreamDecoder(key, nonce)
    const out = decoder.push(Buffer.concat(boxes))
    assert.equal(out.length, delivered, what)
    assert.ok(decoder.error instanceof InvalidBoxHeaderError, what)
  }
})

test('a header claiming 65535 bytes is accepted when the body follows', () => {
  const body = bytes(65535)
  const headerNonce = Buffer.from(nonce)
  const bodyNonce = Buffer.from(nonce)
  incrementNonce(bodyNonce)
  const cipher = Buffer.alloc(65535)
  const header = Buffer.alloc(18)
  header.writeUInt16BE(65535, 0)
  sodium.crypto_secretbox_detached(cipher, header.subarray(2), body, bodyNonce, key)
  const boxedHeader = Buffer.alloc(34)
  sodium.crypto_secretbox_easy(boxedHeader, header, headerNonce, key)
  const decoder = new BoxStreamDecoder(key, nonce)
  const rnd = prng(5)
  const out = cut(Buffer.concat([boxedHeader, cipher]), rnd).map((p) => decoder.push(p))
  assert.equal(decoder.error, undefined)
  assert.deepEqual(Buffer.concat(out), body)
  // the next box uses n + 2, as usual
  incrementNonce(headerNonce)
  incrementNonce(headerNonce)
  const bye = Buffer.alloc(34)
  sodium.crypto_secretbox_easy(bye, Buffer.alloc(18), headerNonce, key)
  decoder.push(bye)
  assert.ok(decoder.ended)
})

test('the nonce counter wraps around at 2^192 - 1 exactly like pull-box-stream', () => {
  const top = Buffer.alloc(24, 0xff)
  const chunks = [bytes(10, 1), bytes(5000, 2), bytes(7, 3)]
  const encoder = new BoxStreamEncoder(key, top)
  const ours = Buffer.concat([...chunks.map((c) => encoder.encrypt(c)), encoder.goodbye()])
  assert.deepEqual(ours, refEncrypt(key, top, chunks))
  const decoder = new BoxStreamDecoder(key, top)
  assert.deepEqual(decoder.push(ours), Buffer.concat(chunks))
  assert.ok(decoder.ended)
  // one below the top: the header nonce is 2^192 - 2, the body nonce 2^192 - 1
  const belowTop = Buffer.alloc(24, 0xff)
  belowTop[23] = 0xfe
  const enc2 = new BoxStreamEncoder(key, belowTop)
  const wire2 = Buffer.concat([enc2.encryptMany(chunks), enc2.goodbye()])
  assert.deepEqual(refDecrypt(key, belowTop, [wire2]).plain, Buffer.concat(chunks))
})

test('the decoder holds only an incomplete box between pushes', () => {
  const encoder = new BoxStreamEncoder(key, nonce)
  const wire = encoder.encrypt(bytes(1000))
  const decoder = new BoxStreamDecoder(key, nonce)
  assert.equal(decoder.push(wire.subarray(0, 20)).length, 0)
  assert.equal(decoder.bufferedBytes, 20)
  assert.equal(decoder.push(wire.subarray(20, 500)).length, 0)
  assert.equal(decoder.bufferedBytes, 500 - 34)
  assert.deepEqual(decoder.push(wire.subarray(500)), bytes(1000))
  assert.equal(decoder.bufferedBytes, 0)
})

test('keys and nonces of the wrong size are refused', () => {
  assert.throws(() => new BoxStreamEncoder(Buffer.alloc(31), nonce), RangeError)
  assert.throws(() => new BoxStreamDecoder(key, Buffer.alloc(23)), RangeError)
})
