import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import {
  FrameTooLargeError,
  InvalidFrameBodyError,
  UnknownFrameTypeError,
} from '../src/errors-rpc.js'
import {
  decodeBody,
  encodeFrame,
  encodeValue,
  type Frame,
  FrameBatcher,
  FrameDecoder,
  frameFlags,
  GOODBYE,
} from '../src/packet-codec.js'

const require = createRequire(import.meta.url)
interface RefMsg {
  req: number
  stream: boolean
  end: boolean
  value: unknown
  length: number
  type: number
}
const psc = require('packet-stream-codec') as {
  encodePair(msg: unknown): [Buffer, Buffer | null]
  decodeHead(bytes: Buffer): RefMsg
  decodeBody(bytes: Buffer, msg: RefMsg): RefMsg
}

const refEncode = (msg: unknown): Buffer => {
  const [head, body] = psc.encodePair(msg)
  return body === null ? head : Buffer.concat([head, body])
}

/** Decodes every frame of `bytes`, pushed as the given chunks. */
function decodeAll(chunks: Uint8Array[], max?: number): { frames: Frame[]; goodbye: boolean } {
  const decoder = new FrameDecoder(max === undefined ? {} : { maxFrameBytes: max })
  const frames: Frame[] = []
  for (const chunk of chunks) {
    decoder.push(chunk)
    for (let f = decoder.read(); f !== null; f = decoder.read()) frames.push(f)
  }
  return { frames, goodbye: decoder.goodbye }
}

const view = (f: Frame) => ({
  req: f.req,
  stream: f.stream,
  end: f.end,
  type: ['binary', 'string', 'json'].indexOf(f.type),
  value: decodeBody(f),
})

test('every flags byte decodes like packet-stream-codec (reserved bits ignored, type 3 refused)', () => {
  const bodies = [
    Buffer.from([1, 2, 0xff]),
    Buffer.from('héllo 🐢'),
    Buffer.from('{"a":[1,"x",null]}'),
  ]
  let checked = 0
  for (let flags = 0; flags < 256; flags++) {
    for (const req of [1, -1, 7, 0x7fffffff, -0x80000000, 0]) {
      const body = bodies[flags & 3] ?? Buffer.from('x')
      const head = Buffer.alloc(9)
      head[0] = flags
      head.writeUInt32BE(body.length, 1)
      head.writeInt32BE(req, 5)
      const bytes = Buffer.concat([head, body])
      const ref = psc.decodeHead(head)
      if ((flags & 3) === 3) {
        assert.throws(() => psc.decodeBody(body, ref), /unknown message type/)
        assert.throws(() => decodeAll([bytes]), UnknownFrameTypeError)
        continue
      }
      psc.decodeBody(body, ref)
      const { frames } = decodeAll([bytes])
      assert.equal(frames.length, 1)
      const ours = view(frames[0]!)
      assert.deepEqual(ours, {
        req: ref.req,
        stream: ref.stream,
        end: ref.end,
        type: ref.type,
        value: ref.value,
      })
      // re-encoding writes the reserved bits as 0 and is otherwise byte-identical
      const again = encodeFrame(frames[0]!)
      assert.equal(again[0], flags & 0x0f)
      assert.deepEqual(again.subarray(1), bytes.subarray(1))
      checked++
    }
  }
  assert.equal(checked, 192 * 6)
})

const values: unknown[] = [
  'hi bob',
  'Grüße € 🐢',
  'lone \ud800 surrogate',
  Buffer.from([0, 1, 2, 250]),
  { name: ['blobs', 'has'], args: ['&x'] },
  [1, 'two', null, { three: 3 }],
  null,
  0,
  -1.5,
  true,
  false,
  { message: 'boom', name: 'Error' },
]

test('encodeValue and FrameBatcher produce the same bytes as packet-stream-codec', () => {
  for (const value of values) {
    for (const [req, stream, end] of [
      [1, false, false],
      [-1, false, false],
      [-3, false, true],
      [5, true, false],
      [-5, true, true],
      [0x7fffffff, true, false],
    ] as const) {
      const ref = refEncode({ req, stream, end, value })
      assert.deepEqual(encodeValue(req, stream, end, value), ref, `value ${String(value)}`)
      const batch = new FrameBatcher()
      batch.appendValue(req, stream, end, value)
      assert.deepEqual(Buffer.concat(batch.take()), ref)
    }
  }
})

test('undefined is sent as JSON end (false for a reply, true for an end), like the reference', () => {
  assert.deepEqual(
    encodeValue(-1, false, false, undefined),
    refEncode({ req: -1, stream: false, end: false, value: undefined }),
  )
  assert.deepEqual(encodeValue(-1, false, false, undefined).subarray(9).toString(), 'false')
  assert.deepEqual(encodeValue(2, true, true, undefined).subarray(9).toString(), 'true')
})

test('empty strings and Buffers are never sent with a zero-length body', () => {
  // the reference would send a zero-length body, which its own decoder reads as goodbye
  const ref = refEncode({ req: -1, stream: false, end: false, value: '' })
  assert.equal(ref.readUInt32BE(1), 0)
  for (const empty of ['', Buffer.alloc(0), new Uint8Array(0)]) {
    const bytes = encodeValue(-1, false, false, empty)
    assert.equal(bytes[0], frameFlags(false, false, 'json'))
    assert.equal(bytes.subarray(9).toString(), '""')
    const batch = new FrameBatcher()
    batch.appendValue(-1, false, false, empty)
    assert.deepEqual(Buffer.concat(batch.take()), bytes)
    // the reference decoder reads it as the empty string, not as goodbye
    const head = psc.decodeHead(bytes.subarray(0, 9))
    assert.equal(head.length, 2)
    assert.equal(psc.decodeBody(bytes.subarray(9), head).value, '')
    assert.equal(decodeBody(decodeAll([bytes]).frames[0]!), '')
  }
  assert.throws(
    () =>
      encodeFrame({ req: 1, stream: false, end: false, type: 'binary', body: new Uint8Array(0) }),
    RangeError,
  )
})

test('values JSON cannot express go out as null; BigInt and cycles throw without writing', () => {
  assert.equal(
    encodeValue(1, false, false, () => 1)
      .subarray(9)
      .toString(),
    'null',
  )
  const batch = new FrameBatcher()
  const cyclic: { self?: unknown } = {}
  cyclic.self = cyclic
  assert.throws(() => batch.appendValue(1, false, false, cyclic), TypeError)
  assert.throws(() => batch.appendValue(1, false, false, 10n), TypeError)
  assert.equal(batch.pendingBytes, 0)
  assert.throws(() => encodeValue(2 ** 31, false, false, 1), RangeError)
})

/** A stream of frames as JS would write them, for the chunking tests. */
function sampleStream(): { bytes: Buffer; expected: ReturnType<typeof view>[] } {
  const msgs = values.map((value, i) => ({
    req: i % 2 ? -(i + 1) : i + 1,
    stream: i % 3 === 0,
    end: i % 5 === 0,
    value,
  }))
  const bytes = Buffer.concat(msgs.map(refEncode))
  const expected = msgs.map((m) => {
    const head = psc.decodeHead(refEncode(m).subarray(0, 9))
    psc.decodeBody(refEncode(m).subarray(9), head)
    return { req: head.req, stream: head.stream, end: head.end, type: head.type, value: head.value }
  })
  return { bytes, expected }
}

test('frames split across pushes decode the same at every split point, and byte by byte', () => {
  const { bytes, expected } = sampleStream()
  assert.deepEqual(decodeAll([bytes]).frames.map(view), expected)
  for (let cut = 0; cut <= bytes.length; cut++) {
    const { frames } = decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)])
    assert.deepEqual(frames.map(view), expected, `cut at ${cut}`)
  }
  for (let cut = 1; cut < bytes.length - 1; cut += 7) {
    const third = Math.min(bytes.length, cut + 13)
    const { frames } = decodeAll([
      bytes.subarray(0, cut),
      bytes.subarray(cut, third),
      bytes.subarray(third),
    ])
    assert.deepEqual(frames.map(view), expected)
  }
  const single = [...bytes].map((b) => Uint8Array.of(b))
  assert.deepEqual(decodeAll(single).frames.map(view), expected)
})

test('bodies inside one chunk are views of it (zero copy)', () => {
  const bytes = Buffer.concat([
    encodeValue(1, true, false, Buffer.from('abcdef')),
    encodeValue(2, false, false, 'xy'),
  ])
  const { frames } = decodeAll([bytes])
  assert.equal(frames[0]!.body.buffer, bytes.buffer)
  assert.equal(frames[1]!.body.buffer, bytes.buffer)
  const value = decodeBody(frames[0]!) as Buffer
  assert.ok(Buffer.isBuffer(value))
  assert.equal(value.buffer, bytes.buffer)
  assert.equal(value.toString(), 'abcdef')
})

test('a length-0 header with request number 0 is a goodbye; bytes after it are ignored', () => {
  assert.deepEqual(GOODBYE, Buffer.alloc(9))
  for (const head of [Buffer.alloc(9), Buffer.from([0x0e, 0, 0, 0, 0, 0, 0, 0, 0])]) {
    const before = encodeValue(1, false, false, 'x')
    const after = encodeValue(2, false, false, 'y')
    const { frames, goodbye } = decodeAll([Buffer.concat([before, head, after])])
    assert.equal(goodbye, true)
    assert.deepEqual(frames.map(decodeBody), ['x'])
  }
  // split goodbye
  assert.equal(decodeAll([Buffer.alloc(4), Buffer.alloc(5)]).goodbye, true)
})

test('a length-0 header on a request is an empty body, not a goodbye (ssb-server 16 sends one)', () => {
  // a blobs.get stream of a 64 KiB blob as the reference sends it: the bytes, an empty Buffer,
  // then the end
  const data = encodeFrame({
    req: -3,
    stream: true,
    end: false,
    type: 'binary',
    body: Buffer.alloc(65536, 1),
  })
  const empty = Buffer.from([0x08, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfd])
  const end = encodeValue(-3, true, true, true)
  for (const chunks of [
    [Buffer.concat([data, empty, end])],
    [data, empty.subarray(0, 4), empty.subarray(4), end],
  ]) {
    const { frames, goodbye } = decodeAll(chunks)
    assert.equal(goodbye, false)
    assert.equal(frames.length, 3)
    assert.deepEqual(
      frames.map((f) => [f.req, f.stream, f.end, f.type, f.body.length]),
      [
        [-3, true, false, 'binary', 65536],
        [-3, true, false, 'binary', 0],
        [-3, true, true, 'json', 4],
      ],
    )
    assert.deepEqual(decodeBody(frames[1]!), Buffer.alloc(0))
  }
  // an empty string body is the empty string; type 3 still fails
  const str = decodeAll([Buffer.from([0x01, 0, 0, 0, 0, 0, 0, 0, 7])])
  assert.equal(decodeBody(str.frames[0]!), '')
  const bad = new FrameDecoder()
  bad.push(Buffer.from([0x03, 0, 0, 0, 0, 0, 0, 0, 7]))
  assert.throws(() => bad.read(), UnknownFrameTypeError)
})

test('a declared length over the cap fails as soon as the header is complete', () => {
  for (const length of [0xffffffff, 1025]) {
    const head = Buffer.from([0x0a, 0, 0, 0, 0, 0, 0, 0, 1])
    head.writeUInt32BE(length, 1)
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 })
    decoder.push(head.subarray(0, 5))
    assert.equal(decoder.read(), null)
    decoder.push(head.subarray(5))
    assert.throws(
      () => decoder.read(),
      (err: unknown) => {
        assert.ok(err instanceof FrameTooLargeError)
        assert.equal(err.name, 'FrameTooLargeError')
        assert.equal(err.length, length)
        return true
      },
    )
    // nothing is buffered and nothing more is accepted
    decoder.push(Buffer.alloc(4096))
    assert.equal(decoder.bufferedBytes, 0)
    assert.throws(() => decoder.read(), FrameTooLargeError)
  }
  // exactly the cap is fine
  const ok = encodeValue(1, false, false, Buffer.alloc(1024, 7))
  assert.equal(decodeAll([ok], 1024).frames[0]!.body.length, 1024)
  // the default cap is 4 MiB
  const big = Buffer.from([0, 0, 0x40, 0, 1, 0, 0, 0, 1])
  assert.throws(() => decodeAll([big]), FrameTooLargeError)
})

test('bodies that are not valid UTF-8 or JSON are refused', () => {
  const bad = Buffer.from([0xc3, 0x28])
  for (const type of ['string', 'json'] as const) {
    assert.throws(
      () => decodeBody({ req: 1, stream: false, end: false, type, body: bad }),
      InvalidFrameBodyError,
    )
  }
  assert.throws(
    () =>
      decodeBody({ req: 1, stream: false, end: false, type: 'json', body: Buffer.from('{nope') }),
    (err: unknown) => err instanceof InvalidFrameBodyError && err.name === 'InvalidFrameBodyError',
  )
  // binary bodies are taken as they are
  assert.deepEqual(
    decodeBody({ req: 1, stream: false, end: false, type: 'binary', body: bad }),
    bad,
  )
})

test('FrameBatcher packs many frames into few chunks and passes large binary bodies by reference', () => {
  const batch = new FrameBatcher()
  const refs: Buffer[] = []
  const blob = Buffer.alloc(100_000, 3)
  for (let i = 1; i <= 3000; i++) {
    const value = i % 1000 === 0 ? blob : { seq: i, text: 'x'.repeat(i % 50) }
    batch.appendValue(i, true, false, value)
    refs.push(refEncode({ req: i, stream: true, end: false, value }))
  }
  const bigText = 'ü'.repeat(70_000)
  batch.appendValue(-9, false, false, bigText)
  refs.push(refEncode({ req: -9, stream: false, end: false, value: bigText }))
  batch.appendGoodbye()
  refs.push(GOODBYE)
  const expected = Buffer.concat(refs)
  assert.equal(batch.pendingBytes, expected.length)
  const chunks = batch.take()
  assert.ok(chunks.length < 20, `${chunks.length} chunks`)
  assert.ok(chunks.includes(blob), 'the large body is not copied')
  assert.deepEqual(Buffer.concat(chunks), expected)
  assert.deepEqual(batch.take(), [])
  // chunks handed out are never written again
  const copy = Buffer.concat(chunks)
  batch.appendValue(1, false, false, 'more')
  batch.take()
  assert.deepEqual(Buffer.concat(chunks), copy)
  // and they decode back
  const { frames, goodbye } = decodeAll(chunks, 1 << 20)
  assert.equal(frames.length, 3001)
  assert.equal(goodbye, true)
})
