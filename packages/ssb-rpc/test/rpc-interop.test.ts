import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { test } from 'node:test'
import { RemoteError } from '../src/errors-rpc.js'
import { encodeFrame, FrameDecoder } from '../src/packet-codec.js'
import { RpcSession } from '../src/rpc-session.js'
import type { CallHandler, Manifest } from '../src/types.js'
import { callback, type JsRpc, jsMuxrpc, method, pull } from './helpers/rpc-js.js'
import { BOB, collect, delay, socketPair, until } from './helpers/rpc-pair.js'

type Callback = (err: unknown, value?: unknown) => void

const manifest: Manifest = {
  hello: 'async',
  whoami: 'sync',
  empty: 'async',
  bytes: 'async',
  fail: 'async',
  nums: 'source',
  ticks: 'source',
  pending: 'async',
  failSource: 'source',
  sum: 'sink',
  echo: 'duplex',
  blobs: { has: 'async' },
}

class MessageNotFoundError extends Error {
  override name = 'MessageNotFoundError'
}

/** What the JS side serves. */
function jsApi(received: unknown[]) {
  return {
    hello: (name: string, cb: Callback) => cb(null, `hello ${name}`),
    whoami: () => ({ id: '@js' }),
    bytes: (hex: string, cb: Callback) => cb(null, Buffer.from(hex, 'hex')),
    fail: (cb: Callback) => {
      const err = new Error('no such message')
      err.name = 'MessageNotFoundError'
      cb(err)
    },
    nums: (n: number) => pull.values(Array.from({ length: n }, (_, i) => i)),
    // endless, one value per event-loop turn (npm muxrpc has no backpressure of its own)
    ticks: () =>
      pull(
        pull.infinite(),
        pull.asyncMap((v, cb) => setImmediate(() => cb(null, v))),
      ),
    failSource: () => pull.error(new TypeError('source failed')),
    sum: () =>
      pull.collect((err, values) => {
        received.push(err ?? values)
      }),
    echo: () => pull.map((v) => v),
    blobs: { has: (id: string, cb: Callback) => cb(null, id === '&yes') },
  }
}

/** What our side serves. */
const ourHandler: CallHandler = (call) => {
  switch (call.name.join('.')) {
    case 'hello':
      return `hi ${String(call.args[0])}`
    case 'whoami':
      return { id: call.session.remoteId }
    case 'empty':
      return ''
    case 'bytes':
      return Buffer.from(call.args[0] as string, 'hex')
    case 'fail':
      throw new MessageNotFoundError('not here')
    case 'nums':
      return (async function* () {
        for (let i = 0; i < (call.args[0] as number); i++) yield i
        yield 'text'
        yield Buffer.from([7, 8])
      })()
    case 'failSource':
      return (async function* () {
        yield 1
        throw new MessageNotFoundError('broke mid-stream')
      })()
    case 'sum':
      return (async () => {
        let sum = 0
        for await (const v of call.input!) sum += v as number
        call.session.data.set('sum', sum)
      })()
    case 'echo':
      return (async function* () {
        for await (const v of call.input!) yield v
      })()
    case 'ticks':
      return (async function* () {
        for (let i = 0; ; i++) {
          yield i
          await delay(5)
        }
      })()
    case 'pending':
      return new Promise(() => {})
    case 'blobs.has':
      return call.args[0] === '&yes'
    default:
      throw new Error(`no ${call.type}:${call.name.join(',')}`)
  }
}

async function connect(): Promise<{
  js: JsRpc
  ours: RpcSession
  received: unknown[]
  sockets: net.Socket[]
}> {
  const [a, b] = await socketPair()
  const received: unknown[] = []
  const js = jsMuxrpc(a, manifest, manifest, jsApi(received))
  const ours = new RpcSession({ stream: b, info: { remoteId: BOB }, handler: ourHandler })
  return { js, ours, received, sockets: [a, b] }
}

test('our calls to npm muxrpc: async, sync, source, sink, duplex, errors, strings and Buffers', async () => {
  const { js, ours, received, sockets } = await connect()
  try {
    assert.equal(await ours.request('hello', ['bob']), 'hello bob')
    assert.deepEqual(await ours.request('whoami', []), { id: '@js' })
    assert.equal(await ours.request('blobs.has', ['&yes']), true)
    assert.equal(await ours.request(['blobs', 'has'], ['&no']), false)
    assert.deepEqual(await ours.request('bytes', ['0001ff']), Buffer.from([0, 1, 255]))
    await assert.rejects(ours.request('fail', []), (err: unknown) => {
      assert.ok(err instanceof RemoteError)
      assert.equal(err.name, 'MessageNotFoundError')
      assert.equal(err.message, 'no such message')
      return true
    })
    // JS refuses a type that does not match its manifest
    await assert.rejects(collect(ours.source('hello', [])), { message: 'no source:hello' })
    assert.deepEqual(await collect(ours.source('nums', [4])), [0, 1, 2, 3])
    await assert.rejects(collect(ours.source('failSource', [])), {
      name: 'TypeError',
      message: 'source failed',
    })
    await ours.sink('sum', [], [1, 'two', Buffer.from('3')])
    await until(() => received.length === 1)
    assert.deepEqual(received[0], [1, 'two', Buffer.from('3')])
    const echoed = await collect(ours.duplex('echo', [], ['a', { b: 2 }, Buffer.from('c'), 4]))
    assert.deepEqual(echoed, ['a', { b: 2 }, Buffer.from('c'), 4])
    // breaking out of an endless JS source ends it on both sides
    let n = 0
    for await (const _ of ours.source('ticks', [])) if (++n === 50) break
    await until(() => ours.openOutgoing === 0)
    assert.equal(await ours.request('hello', ['again']), 'hello again')
  } finally {
    await ours.close()
    for (const s of sockets) s.destroy()
    assert.equal(js.closed, true)
  }
})

test('npm muxrpc calls to us: async, sync, source, sink, duplex, errors, strings and Buffers', async () => {
  const { js, ours, sockets } = await connect()
  try {
    assert.deepEqual(await callback((cb) => method(js, 'hello')('alice', cb)), [null, 'hi alice'])
    assert.deepEqual(await callback((cb) => method(js, 'whoami')(cb)), [null, { id: BOB }])
    const has = js.blobs as { has(id: string, cb: Callback): void }
    assert.deepEqual(await callback((cb) => has.has('&yes', cb)), [null, true])
    assert.deepEqual(await callback((cb) => method(js, 'bytes')('abcd', cb)), [
      null,
      Buffer.from([0xab, 0xcd]),
    ])
    // an empty-string reply arrives as '' and does not tear down the connection
    assert.deepEqual(await callback((cb) => method(js, 'empty')(cb)), [null, ''])
    assert.deepEqual(await callback((cb) => method(js, 'bytes')('', cb)), [null, ''])
    // our error's name and message arrive; no stack is sent
    const [err] = await callback((cb) => method(js, 'fail')(cb))
    assert.deepEqual(err, { message: 'not here', name: 'MessageNotFoundError' })
    const [srcErr, srcValues] = await callback((cb) =>
      pull(method(js, 'nums')(3), pull.collect(cb)),
    )
    assert.equal(srcErr, null)
    assert.deepEqual(srcValues, [0, 1, 2, 'text', Buffer.from([7, 8])])
    const [midErr, midValues] = await callback((cb) =>
      pull(method(js, 'failSource')(), pull.collect(cb)),
    )
    assert.deepEqual(midErr, { message: 'broke mid-stream', name: 'MessageNotFoundError' })
    assert.deepEqual(midValues, [1])
    await callback((cb) => pull(pull.values([5, 6, 7]), method(js, 'sum')(cb)))
    await until(() => ours.info.data.get('sum') === 18)
    const [echoErr, echoed] = await callback((cb) =>
      pull(pull.values(['x', Buffer.from('y'), { z: 1 }]), method(js, 'echo')(), pull.collect(cb)),
    )
    assert.equal(echoErr, null)
    assert.deepEqual(echoed, ['x', Buffer.from('y'), { z: 1 }])
    // JS aborting an endless source of ours ends it here
    const [takeErr, taken] = await callback((cb) =>
      pull(method(js, 'nums')(1e9), pull.take(20), pull.collect(cb)),
    )
    assert.equal(takeErr, null)
    assert.equal((taken as unknown[]).length, 20)
    await until(() => ours.openIncoming === 0)
    assert.deepEqual(await callback((cb) => method(js, 'hello')('still', cb)), [null, 'hi still'])
  } finally {
    await ours.close()
    for (const s of sockets) s.destroy()
  }
})

test('goodbye from us: npm muxrpc closes and its pending calls fail once', async () => {
  const { js, ours, sockets } = await connect()
  let jsClosed = 0
  js.on('closed', () => jsClosed++)
  let streamCalls = 0
  let asyncCalls = 0
  const stream = callback((cb) =>
    pull(
      method(js, 'ticks')(),
      pull.collect((err, values) => {
        streamCalls++
        cb(err, values)
      }),
    ),
  )
  const call = callback((cb) =>
    method(
      js,
      'pending',
    )((err: unknown, value: unknown) => {
      asyncCalls++
      cb(err, value)
    }),
  )
  await until(() => ours.openIncoming === 2)
  await ours.close()
  const [streamErr] = await stream
  const [callErr] = await call
  assert.equal((streamErr as Error).message, 'unexpected end of parent stream')
  assert.equal((callErr as Error).message, 'unexpected end of parent stream')
  await until(() => jsClosed === 1)
  await delay(20)
  assert.equal(streamCalls, 1)
  assert.equal(asyncCalls, 1)
  assert.equal(js.closed, true)
  for (const s of sockets) s.destroy()
})

test('goodbye from npm muxrpc: our session closes without errors and answers it', async () => {
  const { js, ours, sockets } = await connect()
  assert.equal(await ours.request('hello', ['x']), 'hello x')
  const ourSocket = sockets[1]!
  const written = ourSocket.bytesWritten
  await new Promise<void>((resolve, reject) => js.close((err) => (err ? reject(err) : resolve())))
  await ours.closed
  assert.equal(ours.isClosed, true)
  assert.equal(ours.openIncoming + ours.openOutgoing, 0)
  // we answered with our goodbye (npm muxrpc does not wait to read it)
  assert.equal(ourSocket.bytesWritten - written, 9)
  await assert.rejects(ours.request('hello', []), { name: 'ConnectionClosedError' })
  for (const s of sockets) s.destroy()
})

/** The raw frames of a byte stream, as hex, grouped by request number. */
function framesByReq(bytes: Buffer): Map<number, string[]> {
  const decoder = new FrameDecoder()
  decoder.push(bytes)
  const byReq = new Map<number, string[]>()
  for (let f = decoder.read(); f !== null; f = decoder.read()) {
    const list = byReq.get(f.req) ?? []
    list.push(encodeFrame(f).toString('hex'))
    byReq.set(f.req, list)
  }
  return byReq
}

/** Bytes written by whichever client connects to a capturing server. */
async function capture(run: (socket: net.Socket) => void, ms = 80): Promise<Buffer> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const chunks: Buffer[] = []
  server.on('connection', (s) => s.on('data', (c: Buffer) => chunks.push(c)))
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(client, 'connect')
  run(client)
  await delay(ms)
  client.destroy()
  server.close()
  return Buffer.concat(chunks)
}

test('our request frames are byte-identical to the ones npm muxrpc sends', async () => {
  const remote: Manifest = {
    blobs: { has: 'async' },
    createHistoryStream: 'source',
    add: 'sink',
    ebt: { replicate: 'duplex' },
  }
  const jsBytes = await capture((socket) => {
    const js = jsMuxrpc(socket, remote, {}, {})
    const blobs = js.blobs as { has(id: string, cb: Callback): void }
    blobs.has('&x', () => {})
    pull(
      method(js, 'createHistoryStream')({ id: '@a', seq: 3, live: true, keys: false }),
      pull.drain(),
    )
    pull(
      pull.values([1, 'two']),
      method(js, 'add')(() => {}),
    )
    const ebt = js.ebt as { replicate(opts: unknown): PullDuplex }
    pull(pull.values([{ note: 1 }]), ebt.replicate({ version: 3 }), pull.drain())
  })
  type PullDuplex = unknown
  const ourBytes = await capture((socket) => {
    const ours = new RpcSession({ stream: socket, info: { remoteId: BOB } })
    ours.request('blobs.has', ['&x']).catch(() => {})
    void collect(
      ours.source('createHistoryStream', [{ id: '@a', seq: 3, live: true, keys: false }]),
    ).catch(() => {})
    ours.sink('add', [], [1, 'two']).catch(() => {})
    void collect(ours.duplex(['ebt', 'replicate'], [{ version: 3 }], [{ note: 1 }])).catch(() => {})
  })
  assert.ok(jsBytes.length > 100)
  // the same frames per request (npm muxrpc interleaves the streams in another order)
  assert.deepEqual(framesByReq(ourBytes), framesByReq(jsBytes))
  assert.equal(ourBytes.length, jsBytes.length)
  // request numbers start at 1 and count up, flags 0x02 without type, then 0x0a with type
  assert.equal(ourBytes[0], 0x02)
  assert.equal(ourBytes.readInt32BE(5), 1)
  assert.equal(
    ourBytes.subarray(9, 9 + ourBytes.readUInt32BE(1)).toString(),
    '{"name":["blobs","has"],"args":["&x"]}',
  )
})
