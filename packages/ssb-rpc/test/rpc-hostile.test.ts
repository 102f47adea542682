import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { test } from 'node:test'
import { ConnectionClosedError } from '../src/errors-rpc.js'
import { encodeValue, FrameDecoder, GOODBYE } from '../src/packet-codec.js'
import { RpcSession } from '../src/rpc-session.js'
import type { CallHandler, IncomingCall } from '../src/types.js'
import { BOB, collect, delay, until } from './helpers/rpc-pair.js'
import { header, type RawPeer, rawPeer } from './helpers/rpc-raw.js'

/** Serves `ping` (async) and `count` (source); records every call it is given. */
function handler(calls: IncomingCall[]): CallHandler {
  return (call) => {
    calls.push(call)
    if (call.name[0] === 'ping') return 'pong'
    if (call.name[0] === 'count') return [1, 2, 3]
    throw new Error('unexpected call')
  }
}

/** The peer's connection still works: a normal request gets its answer. */
async function stillServes(peer: RawPeer, req: number): Promise<void> {
  peer.sendValue(req, false, false, { name: ['ping'], args: [] })
  const reply = await peer.reply(-req)
  assert.equal(reply.value, 'pong')
  assert.equal(reply.end, false)
  assert.equal(peer.session.isClosed, false)
}

test('malformed request bodies get an error reply for that request and never reach the handler', async () => {
  const calls: IncomingCall[] = []
  const peer = await rawPeer(handler(calls))
  try {
    const bad: [unknown, boolean, string, RegExp | string][] = [
      [null, false, 'InvalidRequestError', /body should be an object, was: null/],
      ['just a string', false, 'InvalidRequestError', /body should be an object/],
      [42, false, 'InvalidRequestError', /body should be an object, was: 42/],
      [[1, 2], false, 'InvalidRequestError', /body should be an object/],
      [{ args: [] }, false, 'InvalidRequestError', /name should be a non-empty array of strings/],
      // a bare string names a top-level method (npm ssb-client asks for "manifest" so)
      [{ name: '__proto__', args: [] }, false, 'InvalidRequestError', /forbidden method name/],
      [{ name: '', args: [] }, false, 'InvalidRequestError', /name should be/],
      [{ name: [], args: [] }, false, 'InvalidRequestError', /name should be/],
      [{ name: ['ping', 1], args: [] }, false, 'InvalidRequestError', /name should be/],
      [
        { name: ['ping'] },
        false,
        'InvalidRequestError',
        'invalid request, args should be array, was: {"name":["ping"]}',
      ],
      [{ name: ['ping'], args: { 0: 1 } }, false, 'InvalidRequestError', /args should be array/],
      [
        { name: ['__proto__', 'constructor'], args: [] },
        false,
        'InvalidRequestError',
        /forbidden method name/,
      ],
      [{ name: ['constructor'], args: [] }, false, 'InvalidRequestError', /forbidden method name/],
      [
        { name: ['a', 'prototype'], args: [] },
        false,
        'InvalidRequestError',
        /forbidden method name/,
      ],
      [null, true, 'InvalidRequestError', /body should be an object, was: null/],
      [7, true, 'InvalidRequestError', /body should be an object/],
      [
        { name: ['count'], args: [] },
        true,
        'UnsupportedStreamTypeError',
        'unsupported stream type: undefined',
      ],
      [
        { name: ['count'], args: [], type: 'async' },
        true,
        'UnsupportedStreamTypeError',
        'unsupported stream type: async',
      ],
      [
        { name: ['count'], args: [], type: 'weird' },
        true,
        'UnsupportedStreamTypeError',
        'unsupported stream type: weird',
      ],
      [{ name: ['count'], type: 'source' }, true, 'InvalidRequestError', /args should be array/],
      [
        { name: ['__proto__', 'constructor'], args: [], type: 'source' },
        true,
        'InvalidRequestError',
        /forbidden/,
      ],
    ]
    let req = 1
    for (const [body, stream, name, message] of bad) {
      peer.sendValue(req, stream, false, body)
      const reply = await peer.reply(-req)
      assert.equal(reply.end, true, `end flag for ${JSON.stringify(body)}`)
      assert.equal(reply.stream, stream)
      assert.equal(reply.type, 'json')
      const value = reply.value as Record<string, unknown>
      // exactly name and message: no stack trace, no paths
      assert.deepEqual(Object.keys(value).sort(), ['message', 'name'])
      assert.equal(value.name, name, JSON.stringify(body))
      if (typeof message === 'string') assert.equal(value.message, message)
      else assert.match(value.message as string, message)
      req++
    }
    assert.equal(calls.length, 0)
    await stillServes(peer, req)
    // a request frame with number 0 (an "emit") is ignored
    peer.sendValue(0, false, false, { name: ['ping'], args: [] })
    await stillServes(peer, req + 1)
    assert.ok(!peer.frames.some((f) => f.req === 0))
    assert.equal(calls.length, 2)
  } finally {
    peer.destroy()
  }
})

test('frames that break the protocol close the connection (and only that one)', async () => {
  const cases: [string, Buffer, string][] = [
    [
      'invalid JSON',
      Buffer.concat([header(0x02, 5, 1), Buffer.from('{nope')]),
      'InvalidFrameBodyError',
    ],
    [
      'invalid UTF-8 text',
      Buffer.concat([header(0x09, 2, 1), Buffer.from([0xc3, 0x28])]),
      'InvalidFrameBodyError',
    ],
    [
      'body type 3',
      Buffer.concat([header(0x03, 2, 1), Buffer.from('{}')]),
      'UnknownFrameTypeError',
    ],
    [
      'type 3 with reserved bits',
      Buffer.concat([header(0xff, 2, 1), Buffer.from('{}')]),
      'UnknownFrameTypeError',
    ],
  ]
  const bystander = await rawPeer(handler([]))
  try {
    for (const [label, bytes, cause] of cases) {
      const peer = await rawPeer(handler([]))
      peer.send(bytes)
      await peer.session.closed
      assert.equal(peer.session.closeReason?.name, 'ConnectionClosedError', label)
      assert.equal((peer.session.closeReason?.cause as Error | undefined)?.name, cause, label)
      await until(() => peer.state.ended)
      assert.equal(peer.state.goodbye, true, label)
      peer.destroy()
    }
    // reserved flag bits on an otherwise valid frame are ignored
    bystander.send(
      Buffer.concat([
        Buffer.from([0xf2]),
        encodeValue(1, false, false, { name: ['ping'], args: [] }).subarray(1),
      ]),
    )
    assert.equal((await bystander.reply(-1)).value, 'pong')
    await stillServes(bystander, 2)
  } finally {
    bystander.destroy()
  }
})

test('a declared length of 4 GiB - 1 (or anything over the cap) closes at once, unbuffered', async () => {
  for (const [length, limits] of [
    [0xffffffff, undefined],
    [1024 * 1024 + 1, { maxFrameBytes: 1024 * 1024 }],
  ] as const) {
    const peer = await rawPeer(handler([]), limits)
    peer.send(header(0x0a, length, 1))
    await peer.session.closed
    const cause = peer.session.closeReason?.cause as { name: string; length: number }
    assert.equal(cause.name, 'FrameTooLargeError')
    assert.equal(cause.length, length)
    await until(() => peer.state.ended)
    assert.equal(peer.state.goodbye, true)
    peer.destroy()
  }
  // a frame of exactly the cap is served
  const peer = await rawPeer(handler([]), { maxFrameBytes: 4096 })
  try {
    const body = JSON.stringify({ name: ['ping'], args: ['x'.repeat(4096 - 30)] })
    const padded = body.length <= 4096 ? body : ''
    assert.ok(padded.length > 4000)
    peer.send(Buffer.concat([header(0x02, Buffer.byteLength(padded), 1), Buffer.from(padded)]))
    assert.equal((await peer.reply(-1)).value, 'pong')
  } finally {
    peer.destroy()
  }
})

test('10,000 concurrent requests: a bounded number run, the rest are refused, then all is well', async () => {
  const release: (() => void)[] = []
  let running = 0
  const peer = await rawPeer(
    (call) => {
      if (call.name[0] === 'ping') return 'pong'
      running++
      if (call.type === 'source') {
        return (async function* () {
          await new Promise<void>((resolve) => release.push(resolve))
          yield 'done'
        })()
      }
      return new Promise((resolve) => release.push(() => resolve('done')))
    },
    { maxOpenRequests: 100 },
  )
  try {
    const frames: Buffer[] = []
    for (let req = 1; req <= 10_000; req++) {
      const stream = req % 2 === 0
      frames.push(
        encodeValue(
          req,
          stream,
          false,
          stream ? { name: ['s'], args: [], type: 'source' } : { name: ['a'], args: [] },
        ),
      )
    }
    peer.send(Buffer.concat(frames))
    await until(() => peer.frames.length >= 9_900)
    assert.equal(running, 100)
    assert.equal(peer.session.openIncoming, 100)
    const refused = peer.frames.filter(
      (f) => (f.value as { name?: string }).name === 'TooManyRequestsError',
    )
    assert.equal(refused.length, 9_900)
    assert.ok(refused.every((f) => f.end && f.req < -100))
    for (const r of release.splice(0)) r()
    await until(() => peer.session.openIncoming === 0 && peer.frames.length >= 10_000 + 50)
    const done = peer.frames.filter((f) => f.value === 'done')
    assert.equal(done.length, 100)
    // the refused streams' late ends are swallowed
    peer.send(
      Buffer.concat(
        Array.from({ length: 50 }, (_, i) => encodeValue(200 + i * 2, true, true, true)),
      ),
    )
    await stillServes(peer, 20_001)
  } finally {
    peer.destroy()
  }
})

test('reusing a live request number is refused; the live call is not disturbed', async () => {
  let finish: ((v: string) => void) | undefined
  let calls = 0
  const peer = await rawPeer((call) => {
    calls++
    if (call.name[0] === 'ping') return 'pong'
    if (call.type === 'source')
      return (async function* () {
        yield 'a'
        await new Promise(() => {})
      })()
    return new Promise<string>((resolve) => {
      finish = resolve
    })
  })
  try {
    peer.sendValue(1, false, false, { name: ['slow'], args: [] })
    await until(() => calls === 1)
    peer.sendValue(1, false, false, { name: ['slow'], args: [] })
    const dup = await peer.reply(-1)
    assert.equal((dup.value as { name: string }).name, 'DuplicateRequestError')
    assert.equal(calls, 1)
    finish!('first')
    await until(() => peer.frames.filter((f) => f.req === -1).length === 2)
    assert.equal(peer.frames.filter((f) => f.req === -1)[1]!.value, 'first')
    // an async request on the number of an open stream
    peer.sendValue(5, true, false, { name: ['src'], args: [], type: 'source' })
    await until(() => peer.frames.some((f) => f.req === -5 && f.value === 'a'))
    peer.sendValue(5, false, false, { name: ['slow'], args: [] })
    await until(() => peer.frames.some((f) => f.req === -5 && !f.stream))
    const refusal = peer.frames.find((f) => f.req === -5 && !f.stream)!
    assert.equal((refusal.value as { name: string }).name, 'DuplicateRequestError')
    assert.equal(peer.session.openIncoming, 1)
    await stillServes(peer, 7)
  } finally {
    peer.destroy()
  }
})

test('responses and stream frames for unknown requests are ignored', async () => {
  const peer = await rawPeer(handler([]))
  try {
    peer.sendValue(-77, false, false, 'stray reply')
    peer.sendValue(-78, false, true, { message: 'stray error', name: 'Error' })
    peer.sendValue(-79, true, false, 'stray data')
    peer.sendValue(-79, true, true, true)
    // an end for a stream that never existed is ignored too
    peer.sendValue(80, true, true, true)
    await stillServes(peer, 1)
    assert.deepEqual(
      peer.frames.map((f) => f.req),
      [-1],
    )
  } finally {
    peer.destroy()
  }
})

test('late data for a refused stream is dropped, not taken as a new request', async () => {
  const peer = await rawPeer(handler([]))
  try {
    peer.sendValue(9, true, false, { name: ['count'], args: [], type: 'bogus' })
    await peer.reply(-9)
    peer.sendValue(9, true, false, { more: 'data' })
    peer.sendValue(9, true, false, { name: ['count'], args: [], type: 'source' })
    peer.sendValue(9, true, true, true)
    await stillServes(peer, 10)
    assert.equal(peer.frames.filter((f) => f.req === -9).length, 1)
  } finally {
    peer.destroy()
  }
})

test('a peer that never reads a 100k-item source: the producer stops, memory stays bounded', async () => {
  let pulled = 0
  let returned = false
  let aborted = false
  const pad = 'y'.repeat(1000)
  const peer = await rawPeer((call) => {
    call.signal.addEventListener('abort', () => {
      aborted = true
    })
    return (async function* () {
      try {
        for (let i = 0; i < 100_000; i++) {
          pulled++
          yield { i, pad }
        }
      } finally {
        returned = true
      }
    })()
  })
  try {
    peer.socket.pause()
    peer.sendValue(1, true, false, { name: ['createHistoryStream'], args: [{}], type: 'source' })
    await until(() => pulled > 100)
    await delay(200)
    const stalled = pulled
    await delay(100)
    assert.equal(pulled, stalled, 'the producer is not pulled while the socket is full')
    assert.ok(pulled < 30_000, `pulled ${pulled} of 100000`)
    peer.socket.destroy()
    await peer.session.closed
    await until(() => returned && aborted)
  } finally {
    peer.destroy()
  }
})

test('the peer disconnecting mid-stream: every call on both sides errors exactly once', async () => {
  // our session calls a raw server that accepts the calls and then vanishes
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(socket, 'connect')
  const [remote] = await accepted
  server.close()
  const signals: AbortSignal[] = []
  const inputErrors: unknown[] = []
  const ours = new RpcSession({
    stream: socket,
    info: { remoteId: BOB },
    handler: (call) => {
      signals.push(call.signal)
      if (call.input) {
        void (async () => {
          try {
            for await (const _ of call.input!) {
              // drain
            }
          } catch (err) {
            inputErrors.push(err)
          }
        })()
      }
      return call.type === 'async'
        ? new Promise(() => {})
        : call.type === 'sink'
          ? new Promise(() => {})
          : (async function* () {
              await new Promise(() => {})
            })()
    },
  })
  const decoder = new FrameDecoder()
  let requests = 0
  remote.on('data', (chunk: Buffer) => {
    decoder.push(chunk)
    for (let f = decoder.read(); f !== null; f = decoder.read()) if (f.req > 0 && !f.end) requests++
  })
  const outcomes: unknown[] = []
  const track = (p: Promise<unknown>) =>
    p.then(
      () => outcomes.push('resolved'),
      (err) => outcomes.push(err),
    )
  const tracked = [
    track(ours.request('a', [])),
    track(collect(ours.source('b', []))),
    track(
      ours.sink(
        'c',
        [],
        (async function* () {
          yield 1
          await new Promise(() => {})
        })(),
      ),
    ),
    track(collect(ours.duplex('d', [], []))),
  ]
  // and the remote calls us: one of each kind
  remote.write(
    Buffer.concat([
      encodeValue(1, false, false, { name: ['x'], args: [] }),
      encodeValue(2, true, false, { name: ['x'], args: [], type: 'source' }),
      encodeValue(3, true, false, { name: ['x'], args: [], type: 'sink' }),
      encodeValue(3, true, false, 'some input'),
      encodeValue(4, true, false, { name: ['x'], args: [], type: 'duplex' }),
    ]),
  )
  await until(() => requests >= 4 && signals.length === 4)
  remote.destroy()
  await Promise.all(tracked)
  await ours.closed
  assert.equal(outcomes.length, 4)
  for (const o of outcomes) {
    assert.ok(o instanceof ConnectionClosedError)
    assert.equal(o.message, 'unexpected end of parent stream')
  }
  await until(() => inputErrors.length === 2)
  assert.ok(signals.every((s) => s.aborted && s.reason instanceof ConnectionClosedError))
  assert.ok(inputErrors.every((e) => e instanceof ConnectionClosedError))
  await delay(20)
  assert.equal(outcomes.length, 4)
  assert.equal(inputErrors.length, 2)
  assert.equal(ours.openIncoming + ours.openOutgoing, 0)
  socket.destroy()
})

test('a goodbye with stray flags and request number still ends the connection cleanly', async () => {
  const peer = await rawPeer(handler([]))
  await stillServes(peer, 1)
  peer.send(Buffer.from([0x0e, 0, 0, 0, 0, 0, 0, 0, 9]))
  await peer.session.closed
  await until(() => peer.state.ended)
  assert.equal(peer.state.goodbye, true)
  assert.ok(GOODBYE.equals(Buffer.alloc(9)))
  peer.destroy()
})
