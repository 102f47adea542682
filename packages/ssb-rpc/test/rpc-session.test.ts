import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConnectionClosedError, RemoteError } from '../src/errors-rpc.js'
import { RpcSession } from '../src/rpc-session.js'
import type { CallHandler, IncomingCall } from '../src/types.js'
import { ALICE, BOB, collect, delay, sessionPair, socketPair, until } from './helpers/rpc-pair.js'

class MessageNotFoundError extends Error {
  override name = 'MessageNotFoundError'
}

/** A handler with one method of each kind, used from both ends. */
function makeHandler(log: IncomingCall[] = []): CallHandler {
  return (call) => {
    log.push(call)
    const name = call.name.join('.')
    switch (name) {
      case 'hello':
        return Promise.resolve(`hi ${String(call.args[0])}`)
      case 'sync.echo':
        return call.args
      case 'reply':
        return call.args[0]
      case 'bytes':
        return Buffer.from(call.args[0] as string, 'hex')
      case 'nothing':
        return undefined
      case 'throws':
        throw new MessageNotFoundError('no such message')
      case 'rejects':
        return Promise.reject(new Error('went wrong'))
      case 'throwsString':
        throw 'just a string'
      case 'count':
        return (async function* () {
          const n = call.args[0] as number
          for (let i = 0; i < n; i++) yield i
        })()
      case 'array':
        return ['a', Buffer.from([1, 2]), { b: 1 }, null, '']
      case 'failing':
        return (async function* () {
          yield 1
          yield 2
          throw new MessageNotFoundError('source broke')
        })()
      case 'sum':
        return (async () => {
          let sum = 0
          for await (const v of call.input!) sum += v as number
          call.session.data.set('sum', sum)
        })()
      case 'sinkFails':
        return (async () => {
          for await (const v of call.input!) if (v === 'bad') throw new Error('bad value')
        })()
      case 'echo':
        return (async function* () {
          for await (const v of call.input!) yield v
          yield 'end'
        })()
      default:
        throw new Error(`unknown method ${name}`)
    }
  }
}

test('async requests both ways: values of every body type, dotted names, sync handlers', async () => {
  const serverLog: IncomingCall[] = []
  const { client, server, close } = await sessionPair({
    serverHandler: makeHandler(serverLog),
    clientHandler: makeHandler(),
  })
  try {
    assert.equal(await client.request('hello', ['bob']), 'hi bob')
    assert.equal(await server.request(['hello'], ['alice']), 'hi alice')
    assert.deepEqual(await client.request('sync.echo', [1, 'two', { three: [3] }]), [
      1,
      'two',
      { three: [3] },
    ])
    assert.deepEqual(serverLog.at(-1)?.name, ['sync', 'echo'])
    assert.equal(serverLog.at(-1)?.type, 'async')
    assert.equal(serverLog.at(-1)?.session.remoteId, ALICE)
    for (const value of ['', 'text', { a: 1 }, [1, 2], null, 0, true, false]) {
      assert.deepEqual(await client.request('reply', [value]), value)
    }
    assert.deepEqual(await client.request('bytes', ['00ff10']), Buffer.from([0, 255, 16]))
    // undefined goes out as JSON false, as the reference does
    assert.equal(await client.request('nothing', []), false)
    // an empty Buffer arrives as the empty string (never as a zero-length body)
    assert.equal(await client.request('bytes', ['']), '')
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) => server.request('hello', [i])),
    )
    assert.deepEqual(
      many,
      Array.from({ length: 200 }, (_, i) => `hi ${i}`),
    )
    assert.equal(client.openOutgoing, 0)
    assert.equal(server.openIncoming, 0)
  } finally {
    await close()
  }
})

test('handler errors become error replies with the remote name and message', async () => {
  const { client, close } = await sessionPair({ serverHandler: makeHandler() })
  try {
    await assert.rejects(client.request('throws', []), (err: unknown) => {
      assert.ok(err instanceof RemoteError)
      assert.equal(err.name, 'MessageNotFoundError')
      assert.equal(err.message, 'no such message')
      return true
    })
    await assert.rejects(client.request('rejects', []), { name: 'Error', message: 'went wrong' })
    await assert.rejects(client.request('throwsString', []), {
      name: 'Error',
      message: 'just a string',
    })
    // the session still serves requests after each failure
    assert.equal(await client.request('hello', ['x']), 'hi x')
  } finally {
    await close()
  }
})

test('without a handler every call is refused with MethodNotFoundError', async () => {
  const { client, close } = await sessionPair()
  try {
    await assert.rejects(client.request('whoami', []), {
      name: 'MethodNotFoundError',
      message: 'no async:whoami',
    })
    await assert.rejects(collect(client.source('blobs.get', [])), {
      name: 'MethodNotFoundError',
      message: 'no source:blobs,get',
    })
    await assert.rejects(client.sink('x', [], [1, 2]), { name: 'MethodNotFoundError' })
    await assert.rejects(collect(client.duplex('y', [], [1])), { name: 'MethodNotFoundError' })
    assert.equal(client.openOutgoing, 0)
  } finally {
    await close()
  }
})

test('source streams: values, end, error after values, both directions', async () => {
  const { client, server, close } = await sessionPair({
    serverHandler: makeHandler(),
    clientHandler: makeHandler(),
  })
  try {
    assert.deepEqual(await collect(client.source('count', [5])), [0, 1, 2, 3, 4])
    assert.deepEqual(await collect(server.source('count', [3])), [0, 1, 2])
    assert.deepEqual(await collect(client.source('array', [])), [
      'a',
      Buffer.from([1, 2]),
      { b: 1 },
      null,
      '',
    ])
    const got: unknown[] = []
    await assert.rejects(
      (async () => {
        for await (const v of client.source('failing', [])) got.push(v)
      })(),
      { name: 'MessageNotFoundError', message: 'source broke' },
    )
    assert.deepEqual(got, [1, 2])
    await until(() => client.openOutgoing === 0 && server.openIncoming === 0)
  } finally {
    await close()
  }
})

test('a source is only requested when iterated, and ends when the loop breaks', async () => {
  let aborted: unknown
  let returned = false
  let pulled = 0
  const { client, server, close } = await sessionPair({
    serverHandler: (call) => {
      call.signal.addEventListener('abort', () => {
        aborted = call.signal.reason
      })
      return (async function* () {
        try {
          for (;;) {
            pulled++
            yield pulled
          }
        } finally {
          returned = true
        }
      })()
    },
  })
  try {
    const never = client.source('endless', [])
    await delay(20)
    assert.equal(server.openIncoming, 0, 'nothing was sent before iteration')
    void never
    let seen = 0
    for await (const _ of client.source('endless', [])) {
      if (++seen === 10) break
    }
    await until(() => returned && server.openIncoming === 0 && client.openOutgoing === 0)
    assert.equal((aborted as Error).name, 'StreamAbortedError')
    assert.ok(pulled >= 10)
    // the session still serves calls (an async generator replied as JSON is {})
    assert.deepEqual(await client.request('x', []), {})
  } finally {
    await close()
  }
})

test('sink streams: the handler consumes the input, errors come back, both directions', async () => {
  const { client, server, close } = await sessionPair({
    serverHandler: makeHandler(),
    clientHandler: makeHandler(),
  })
  try {
    await client.sink('sum', [], [1, 2, 3, 4])
    assert.equal(server.info.data.get('sum'), 10)
    await server.sink(
      'sum',
      [],
      (async function* () {
        for (let i = 0; i < 1000; i++) yield i
      })(),
    )
    assert.equal(client.info.data.get('sum'), 499500)
    await assert.rejects(client.sink('sinkFails', [], ['ok', 'bad', 'never']), {
      name: 'Error',
      message: 'bad value',
    })
    // a failing input sends its error as our end and rejects the call
    await assert.rejects(
      client.sink(
        'sum',
        [],
        (async function* () {
          yield 1
          throw new Error('input broke')
        })(),
      ),
      { message: 'input broke' },
    )
    await until(() => client.openOutgoing === 0 && server.openIncoming === 0)
  } finally {
    await close()
  }
})

test('duplex streams: each side ends its own direction; break ends both', async () => {
  const { client, server, close } = await sessionPair({
    serverHandler: makeHandler(),
    clientHandler: makeHandler(),
  })
  try {
    assert.deepEqual(await collect(client.duplex('echo', [], [1, 'two', Buffer.from('3')])), [
      1,
      'two',
      Buffer.from('3'),
      'end',
    ])
    assert.deepEqual(await collect(server.duplex('echo', [], [])), ['end'])
    // an endless input stops being pulled when we break
    let inputReturned = false
    const input = (async function* () {
      try {
        for (let i = 0; ; i++) {
          yield i
          await new Promise(setImmediate)
        }
      } finally {
        inputReturned = true
      }
    })()
    let n = 0
    for await (const _ of client.duplex('echo', [], input)) if (++n === 100) break
    await until(() => inputReturned && client.openOutgoing === 0 && server.openIncoming === 0)
  } finally {
    await close()
  }
})

test('the remote end of a duplex stops pulling our input', async () => {
  let inputReturned = false
  const { client, server, close } = await sessionPair({
    serverHandler: (call) =>
      (async function* () {
        let n = 0
        for await (const v of call.input!) {
          yield v
          if (++n === 3) return
        }
      })(),
  })
  try {
    const input = (async function* () {
      try {
        for (let i = 0; ; i++) {
          yield i
          await delay(1)
        }
      } finally {
        inputReturned = true
      }
    })()
    assert.deepEqual(await collect(client.duplex('three', [], input)), [0, 1, 2])
    await until(() => inputReturned && client.openOutgoing === 0 && server.openIncoming === 0)
  } finally {
    await close()
  }
})

test('abort signals reject calls with their reason and end streams', async () => {
  let serverAborted = 0
  const { client, server, close } = await sessionPair({
    serverHandler: (call) => {
      call.signal.addEventListener('abort', () => serverAborted++)
      if (call.type === 'async')
        return new Promise((resolve) => setTimeout(() => resolve('late'), 50))
      return (async function* () {
        for (let i = 0; ; i++) {
          yield i
          await delay(1)
        }
      })()
    },
  })
  try {
    const ac = new AbortController()
    const pending = client.request('slow', [], { signal: ac.signal })
    ac.abort(new Error('changed my mind'))
    await assert.rejects(pending, { message: 'changed my mind' })
    await assert.rejects(client.request('slow', [], { signal: AbortSignal.abort() }), {
      name: 'AbortError',
    })
    // the late reply is ignored
    await delay(70)
    assert.equal(client.openOutgoing, 0)

    const ac2 = new AbortController()
    const seen: unknown[] = []
    await assert.rejects(
      (async () => {
        for await (const v of client.source('ticks', [], { signal: ac2.signal })) {
          seen.push(v)
          if (seen.length === 5) ac2.abort(new Error('stop'))
        }
      })(),
      { message: 'stop' },
    )
    assert.equal(seen.length, 5)
    await until(() => serverAborted === 1 && server.openIncoming === 0 && client.openOutgoing === 0)

    const ac3 = new AbortController()
    const sinking = client.sink('ticks', [], [1, 2, 3], { signal: ac3.signal })
    ac3.abort(new Error('sink stop'))
    await assert.rejects(sinking, { message: 'sink stop' })
    assert.equal(await client.request('slow', []), 'late')
  } finally {
    await close()
  }
})

test('backpressure: a slow consumer of a 100k-item source keeps the producer close behind', async () => {
  let pulled = 0
  const pad = 'x'.repeat(1000)
  const { client, server, close } = await sessionPair({
    clientLimits: { maxInboundBufferBytes: 64 * 1024 },
    serverHandler: () =>
      (async function* () {
        for (let i = 0; i < 100_000; i++) {
          pulled++
          yield { i, pad }
        }
      })(),
  })
  try {
    let consumed = 0
    let last = -1
    for await (const v of client.source('history', [])) {
      const { i } = v as { i: number }
      assert.equal(i, last + 1)
      last = i
      consumed++
      if (consumed === 100) {
        await delay(150)
        const ahead = pulled
        await delay(100)
        // the producer stopped (socket buffers full) instead of running to the end
        assert.equal(pulled, ahead)
        assert.ok(pulled < 30_000, `producer pulled ${pulled} while 100 were consumed`)
        assert.ok(
          client.inboundBufferedBytes <= 64 * 1024 + 70_000,
          `${client.inboundBufferedBytes}`,
        )
      }
    }
    assert.equal(consumed, 100_000)
    await until(() => server.openIncoming === 0 && client.openOutgoing === 0)
    assert.equal(client.inboundBufferedBytes, 0)
  } finally {
    await close()
  }
})

test('a slow sink handler pauses reading: the sender is not pulled far ahead', async () => {
  let pulled = 0
  let consumed = 0
  let release: (() => void) | undefined
  const pad = 'z'.repeat(1000)
  const { client, server, close } = await sessionPair({
    serverLimits: { maxInboundBufferBytes: 64 * 1024 },
    serverHandler: async (call) => {
      for await (const _ of call.input!) {
        consumed++
        if (consumed === 10) await new Promise<void>((resolve) => (release = resolve))
      }
    },
  })
  try {
    const input = (async function* () {
      for (let i = 0; i < 100_000; i++) {
        pulled++
        yield { i, pad }
      }
    })()
    const done = client.sink('slowSink', [], input)
    await until(() => release !== undefined)
    await delay(150)
    const stalled = pulled
    await delay(100)
    assert.equal(pulled, stalled, 'the sender stopped')
    assert.ok(pulled < 30_000, `pulled ${pulled}`)
    assert.ok(server.inboundBufferedBytes < 64 * 1024 + 70_000, `${server.inboundBufferedBytes}`)
    // other calls on the connection wait too (the connection is paused), then all completes
    release!()
    await done
    assert.equal(consumed, 100_000)
    assert.equal(server.inboundBufferedBytes, 0)
  } finally {
    await close()
  }
})

test('closing mid-stream: every pending call and stream errors exactly once', async () => {
  const signals: AbortSignal[] = []
  const inputErrors: unknown[] = []
  const serverHandler: CallHandler = (call) => {
    signals.push(call.signal)
    if (call.type === 'async') return new Promise(() => {})
    if (call.type === 'sink' || call.type === 'duplex') {
      void (async () => {
        try {
          for await (const _ of call.input!) {
            // keep reading
          }
        } catch (err) {
          inputErrors.push(err)
        }
      })()
      if (call.type === 'sink') return new Promise(() => {})
    }
    return (async function* () {
      for (let i = 0; ; i++) {
        yield i
        await delay(2)
      }
    })()
  }
  for (const closer of ['local', 'remote', 'destroy'] as const) {
    signals.length = 0
    inputErrors.length = 0
    const { client, server, close } = await sessionPair({ serverHandler })
    const errors: unknown[] = []
    const track = (p: Promise<unknown>) =>
      p.then(
        () => errors.push('resolved'),
        (err) => errors.push(err),
      )
    const endless = async function* () {
      for (let i = 0; ; i++) {
        yield i
        await delay(2)
      }
    }
    const calls = [
      track(client.request('a', [])),
      track(client.request('b', [])),
      track(collect(client.source('s', []))),
      track(client.sink('k', [], endless())),
      track(collect(client.duplex('d', [], endless()))),
    ]
    await until(() => server.openIncoming === 5)
    await delay(10)
    let closedEvents = 0
    client.onClose(() => closedEvents++)
    if (closer === 'local') await client.close()
    else if (closer === 'remote') await server.close()
    else (client as unknown as { stream: { destroy(): void } }).stream.destroy()
    await Promise.all(calls)
    assert.equal(errors.length, 5)
    for (const err of errors) {
      assert.ok(err instanceof ConnectionClosedError, String(err))
      assert.equal(err.message, 'unexpected end of parent stream')
    }
    await Promise.all([client.closed, server.closed])
    await until(
      () => signals.length === 5 && signals.every((s) => s.aborted) && inputErrors.length === 2,
    )
    for (const err of inputErrors) assert.ok(err instanceof ConnectionClosedError)
    assert.equal(closedEvents, 1)
    assert.equal(client.isClosed, true)
    assert.equal(server.isClosed, true)
    assert.equal(client.openOutgoing + client.openIncoming + server.openIncoming, 0)
    await assert.rejects(client.request('late', []), {
      name: 'ConnectionClosedError',
      message: 'parent stream is closing',
    })
    await assert.rejects(collect(server.source('late', [])), { name: 'ConnectionClosedError' })
    await close()
  }
})

test('a goodbye from the peer closes cleanly; close() is idempotent', async () => {
  const { client, server, close } = await sessionPair({ serverHandler: makeHandler() })
  assert.equal(await client.request('hello', ['x']), 'hi x')
  const reasons: (Error | undefined)[] = []
  server.onClose((r) => reasons.push(r))
  await Promise.all([client.close(), client.close()])
  await server.closed
  assert.equal(reasons.length, 1)
  assert.equal(reasons[0]?.name, 'ConnectionClosedError')
  assert.equal(server.closeReason?.name, 'ConnectionClosedError')
  await close()
})

test('idle timeout closes a connection without traffic, not one with traffic', async () => {
  const { client, server, close } = await sessionPair({
    serverHandler: makeHandler(),
    serverLimits: { idleTimeoutMs: 120 },
  })
  try {
    for (let i = 0; i < 6; i++) {
      await delay(40)
      assert.equal(await client.request('hello', [i]), `hi ${i}`)
    }
    assert.equal(server.isClosed, false)
    await server.closed
    assert.equal((server.closeReason?.cause as Error | undefined)?.name, 'IdleTimeoutError')
    await client.closed
  } finally {
    await close()
  }
})

test('a handler that throws synchronously for a stream does not crash the session', async () => {
  const { client, close } = await sessionPair({
    serverHandler: (call) => {
      if (call.name[0] === 'bad') throw new TypeError('sync throw')
      if (call.name[0] === 'notIterable') return 42
      return makeHandler()(call)
    },
  })
  try {
    await assert.rejects(collect(client.source('bad', [])), {
      name: 'TypeError',
      message: 'sync throw',
    })
    await assert.rejects(client.sink('bad', [], [1]), { name: 'TypeError' })
    await assert.rejects(collect(client.duplex('bad', [], [1])), { name: 'TypeError' })
    await assert.rejects(collect(client.source('notIterable', [])), {
      name: 'InvalidHandlerResultError',
    })
    assert.equal(await client.request('hello', ['still here']), 'hi still here')
  } finally {
    await close()
  }
})

test('a stream that is already closed gives a closed session', async () => {
  const [a, b] = await socketPair()
  a.destroy()
  b.destroy()
  await delay(5)
  const session = new RpcSession({ stream: a, info: { remoteId: BOB } })
  await session.closed
  assert.equal(session.isClosed, true)
  await assert.rejects(session.request('x', []), ConnectionClosedError)
})
