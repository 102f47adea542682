// Bad arguments for every method in our full server's manifest (bad-inputs.md §6: no remote
// input may crash the server). First every method gets values JS cannot convert
// (`{"toString": 1}`: String, Number, `==` and template literals throw on it) and arguments
// nested 100,000 deep (sent as raw JSON). Then random calls: a seeded generator makes arguments
// from the values handlers trip on (null, huge and negative numbers, ids of every sigil,
// `__proto__` keys, lone surrogates, 70 KB strings, nested arrays and objects with the option
// names methods read) and calls each method as its manifest type or, one time in five, as another
// type, from our own key and from an anonymous peer. Every async call must settle with a value or a named error, an anonymous peer must get
// nothing from a method it may not call, nothing may be thrown into the event loop, and the server
// must go on serving. FUZZ_SEED and FUZZ_CALLS run other or longer sweeps.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { connect, type RpcSession } from '@scuttlekit/ssb-rpc'
import { defaultPlugins } from '@scuttlekit/ssb-server-cli'
import {
  assertServed,
  boxPeer,
  type CrashWatch,
  NETWORK_KEY,
  watchCrashes,
} from './helpers/hostile-peer.js'
import { type OurServer, startOurServer } from './helpers/our-server.js'

const SEED = Number(process.env.FUZZ_SEED ?? 1)
const CALLS = Number(process.env.FUZZ_CALLS ?? 300)
/** An async call that has not settled by then is a hang. */
const SETTLE_MS = 5000
/** A source still open by then is treated as live and aborted. */
const SOURCE_MS = 150

/** Park–Miller: the same sweep for the same seed. */
function prng(seed: number): () => number {
  let s = seed % 2147483647 || 1
  return () => {
    s = (s * 48271) % 2147483647
    return s / 2147483647
  }
}

const KEYS = [
  'id',
  'seq',
  'sequence',
  'limit',
  'live',
  'old',
  'gt',
  'gte',
  'lt',
  'lte',
  'reverse',
  'keys',
  'values',
  'private',
  'meta',
  'type',
  'dest',
  'source',
  'rel',
  'content',
  'recps',
  'text',
  'hops',
  'max',
  'start',
  'size',
  'address',
  'key',
  'host',
  'port',
  'author',
  'previous',
  'timestamp',
  'hash',
  'signature',
  'query',
  'raw',
  'sync',
  'name',
  'args',
  'feed',
  'feeds',
  'following',
  'blocking',
  'state',
  'note',
  'replicate',
  'invite',
  'uses',
  'external',
  'modern',
  '__proto__',
  'constructor',
  'toString',
]
const NUMBERS = [0, -0, 1, -1, 7, 255, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1.5, 1e308, -1e308]

/** Whether a remote error's name is one of JavaScript's own (a handler that did not check). */
const UNNAMED = new Set([
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'AssertionError',
  'EvalError',
  'URIError',
])

type Manifest = { [k: string]: string | Manifest }

function methodsOf(m: Manifest, prefix: string[] = []): { name: string[]; type: string }[] {
  const out: { name: string[]; type: string }[] = []
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string') out.push({ name: [...prefix, k], type: v })
    else out.push(...methodsOf(v, [...prefix, k]))
  }
  return out
}

/** Stopping the server, or dropping every connection (ours too), is not what this sweep tests. */
const SKIP = new Set(['stop', 'close', 'gossip.reconnect', 'gossip.disable', 'gossip.enable'])

interface Outcome {
  settled: boolean
  ok: boolean
  items: number
  error?: { name: string; message: string }
}

async function settleWithin(p: Promise<Outcome>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false, ok: false, items: 0 }), ms)
  })
  const result = await Promise.race([p, hang])
  clearTimeout(timer)
  return result
}

const failed = (err: unknown): Outcome => {
  const e = err as { name?: unknown; message?: unknown }
  return {
    settled: true,
    ok: false,
    items: 0,
    error: { name: String(e?.name), message: String(e?.message) },
  }
}

/** One call of `name` as `type`; sources (and duplexes) still open after SOURCE_MS are aborted. */
async function callOnce(
  session: RpcSession,
  name: string,
  type: string,
  args: unknown[],
  input: unknown[],
): Promise<Outcome> {
  const controller = new AbortController()
  const read = async (items: AsyncIterable<unknown>): Promise<Outcome> => {
    let n = 0
    const timer = setTimeout(() => controller.abort(new Error('live')), SOURCE_MS)
    try {
      for await (const _ of items) if (++n >= 50) break
      return { settled: true, ok: true, items: n }
    } catch (err) {
      if (controller.signal.aborted) return { settled: true, ok: true, items: n }
      return { ...failed(err), items: n }
    } finally {
      clearTimeout(timer)
    }
  }
  let call: Promise<Outcome>
  if (type === 'async' || type === 'sync') {
    call = session.request(name, args).then(() => ({ settled: true, ok: true, items: 0 }), failed)
  } else if (type === 'source') {
    call = read(session.source(name, args, { signal: controller.signal }))
  } else if (type === 'sink') {
    call = session
      .sink(name, args, input, { signal: controller.signal })
      .then(() => ({ settled: true, ok: true, items: 0 }), failed)
    setTimeout(() => controller.abort(new Error('live')), SOURCE_MS).unref()
  } else {
    call = read(session.duplex(name, args, input, { signal: controller.signal }))
  }
  const out = await settleWithin(call, SETTLE_MS)
  controller.abort(new Error('done'))
  return out
}

/** What is wrong with an outcome: a hang of an async call, or an error JS made, not us. */
function problemsOf(out: Outcome, type: string, label: string): string[] {
  const found: string[] = []
  if (!out.settled && (type === 'async' || type === 'sync')) found.push(`hung: ${label}`)
  if (out.error && UNNAMED.has(out.error.name)) {
    found.push(`unnamed ${out.error.name} (${out.error.message}): ${label}`)
  }
  return found
}

describe('random calls of every method in the manifest', () => {
  let ours: OurServer
  let crashes: CrashWatch

  before(async () => {
    crashes = watchCrashes()
    ours = await startOurServer({ gossip: { local: false } }, defaultPlugins())
    for (let i = 0; i < 3; i++) await ours.server.call('publish', [{ type: 'post', text: `${i}` }])
  })
  after(async () => {
    crashes.stop()
    await ours.stop()
  })

  test('every method, given values JS cannot make a primitive of, answers with a named error', async () => {
    // `String`, `Number`, `==` and `~~` throw on a JSON object whose `toString` is not a
    // function; every place a handler converts or compares an argument is one such throw
    const poison = (): unknown => JSON.parse('{"toString": 1}')
    const withKeys = (): Record<string, unknown> => {
      const o: Record<string, unknown> = {}
      for (const k of KEYS) {
        Object.defineProperty(o, k, { value: poison(), enumerable: true, writable: true })
      }
      return o
    }
    const manifest = (await ours.server.call('manifest', [])) as Manifest
    const master = await connect(ours.address, { keys: ours.keys, appKey: NETWORK_KEY })
    // handlers may take another path for a peer (blobs.has is then a legacy want)
    let anon = await connect(ours.address, { keys: generateKeys(), appKey: NETWORK_KEY })
    const anonymous = ours.server.anonymousPermissions()
    const problems: string[] = []
    let anonCalls = 0
    for (const m of methodsOf(manifest).filter((x) => !SKIP.has(x.name.join('.')))) {
      const name = m.name.join('.')
      for (const args of [[poison()], [poison(), poison()], [[poison()]], [withKeys()]]) {
        const label = `${name} as ${m.type} ${JSON.stringify(args).slice(0, 120)}`
        const out = await callOnce(master, name, m.type, args, [poison()])
        problems.push(...problemsOf(out, m.type, label))
        if (master.isClosed) throw new Error(`our own connection closed after ${label}`)
        if (!anonymous.allows(m.name)) continue
        anonCalls++
        const outAnon = await callOnce(anon, name, m.type, args, [poison()])
        problems.push(...problemsOf(outAnon, m.type, `anonymous ${label}`))
        if (anon.isClosed)
          anon = await connect(ours.address, { keys: generateKeys(), appKey: NETWORK_KEY })
      }
    }
    assert.ok(anonCalls >= 20, `calls an anonymous peer may make (${anonCalls})`)
    await master.close()
    await anon.close()
    assert.deepEqual(problems, [])
    assert.deepEqual(crashes.errors, [])
    await assertServed(ours, 3)
  })

  test('arguments nested 100,000 deep get a value or a named error; nothing is published', async () => {
    // sent as raw JSON (a client could not serialise them); JSON.parse takes them, and a handler
    // that recurses through one, or serialises it, runs out of stack
    const depth = 100_000
    const deepArray = `${'['.repeat(depth)}1${']'.repeat(depth)}`
    const deepObject = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    const manifest = (await ours.server.call('manifest', [])) as Manifest
    const before = await ours.server.call('latestSequence', [ours.id])
    const peer = await boxPeer(ours.port, ours.id, { keys: ours.keys })
    const problems: string[] = []
    let req = 0
    for (const m of methodsOf(manifest)) {
      if (SKIP.has(m.name.join('.')) || (m.type !== 'async' && m.type !== 'sync')) continue
      for (const arg of [
        deepArray,
        deepObject,
        `{"type":"post","text":"x","deep":${deepObject}}`,
      ]) {
        req++
        peer.sendFrame(
          req,
          0x02,
          `{"name":${JSON.stringify(m.name)},"args":[${arg}],"type":"async"}`,
        )
        const reply = await peer.reply(-req, SETTLE_MS)
        const body = reply.value as { name?: unknown; message?: unknown } | null
        if (reply.end && typeof body?.name === 'string' && UNNAMED.has(body.name)) {
          problems.push(
            `${m.name.join('.')} ${arg.slice(0, 30)}: ${body.name} ${String(body.message)}`,
          )
        }
      }
    }
    peer.destroy()
    assert.ok(req > 100, `requests sent (${req})`)
    assert.deepEqual(problems, [])
    assert.deepEqual(await ours.server.call('latestSequence', [ours.id]), before)
    assert.deepEqual(crashes.errors, [])
    await assertServed(ours, 3)
  })

  test(`${CALLS} calls (seed ${SEED}): named errors, nothing for anonymous peers, no crash`, async () => {
    const rnd = prng(SEED)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
    const feed = generateKeys().id
    const strings = [
      '',
      'x',
      feed,
      ours.id,
      `%${'A'.repeat(43)}=.sha256`,
      `&${'A'.repeat(43)}=.sha256`,
      `@${'A'.repeat(43)}=.ed25519`,
      '../../etc/passwd',
      '__proto__',
      `net:127.0.0.1:1~shs:${'A'.repeat(43)}=`,
      `127.0.0.1:1:${feed}`,
      'é'.repeat(40),
      'a'.repeat(70_000),
      '\u0000',
      '\ud800',
      'post',
      'contact',
      'pub',
      'true',
      '-1',
      '1e400',
    ]
    const value = (depth: number): unknown => {
      const r = rnd()
      if (depth <= 0 || r < 0.35) {
        const k = rnd()
        // a JSON object that JS cannot make a primitive of: `String`, `==` and `~~` throw on it
        if (k < 0.05) return JSON.parse('{"toString": 1}')
        if (k < 0.15) return null
        if (k < 0.3) return rnd() < 0.5
        if (k < 0.55) return pick(NUMBERS)
        return pick(strings)
      }
      if (r < 0.55) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth - 1))
      const o: Record<string, unknown> = {}
      for (let n = Math.floor(rnd() * 5); n > 0; n--) {
        // defineProperty: a literal `__proto__` key, as JSON.parse makes it on the server
        Object.defineProperty(o, pick(KEYS), {
          value: value(depth - 1),
          enumerable: true,
          configurable: true,
          writable: true,
        })
      }
      return o
    }
    const input = (): unknown[] =>
      Array.from({ length: Math.floor(rnd() * 4) }, () =>
        rnd() < 0.5 ? Buffer.alloc(Math.floor(rnd() * 100), Math.floor(rnd() * 256)) : value(2),
      )

    const manifest = (await ours.server.call('manifest', [])) as Manifest
    const methods = methodsOf(manifest).filter((m) => !SKIP.has(m.name.join('.')))
    assert.ok(methods.length > 40, `the full server's manifest (${methods.length} methods)`)
    const anonymous = ours.server.anonymousPermissions()
    const anonKeys = generateKeys()
    const dial = (keys = ours.keys): Promise<RpcSession> =>
      connect(ours.address, { keys, appKey: NETWORK_KEY })
    let master = await dial()
    let anon = await dial(anonKeys)
    const problems: string[] = []
    const typesSeen = new Set<string>()

    for (let i = 0; i < CALLS; i++) {
      const m = pick(methods)
      const asAnon = rnd() < 0.25
      const session = asAnon ? anon : master
      const args = Array.from({ length: Math.floor(rnd() * 3) }, () => value(3))
      const type = rnd() < 0.2 ? pick(['async', 'source', 'sink', 'duplex']) : m.type
      const name = m.name.join('.')
      typesSeen.add(type === 'sync' ? 'async' : type)
      const label = `#${i} ${asAnon ? 'anonymous' : 'master'} ${name} as ${type} ${JSON.stringify(args).slice(0, 300)}`
      const out = await callOnce(session, name, type, args, input())
      problems.push(...problemsOf(out, type, label))
      // a method an anonymous peer may not call is refused, whatever the type it is called as
      if (asAnon && !anonymous.allows(m.name) && (out.ok || out.items > 0)) {
        problems.push(`anonymous peer served: ${label}`)
      }
      if (crashes.errors.length > 0) {
        problems.push(`thrown into the event loop after ${label}: ${String(crashes.errors[0])}`)
        crashes.errors.length = 0
      }
      if (master.isClosed) {
        problems.push(`our own connection closed after ${label}`)
        master = await dial()
      }
      // an anonymous connection may be dropped for what it sent; the next one dials again
      if (anon.isClosed) anon = await dial(anonKeys)
      if (problems.length >= 10) break
      if (i % 100 === 99) await assertServed(ours, 3)
    }
    await master.close()
    await anon.close()
    assert.deepEqual(problems, [], `seed ${SEED}`)
    assert.deepEqual([...typesSeen].sort(), ['async', 'duplex', 'sink', 'source'])
    await assertServed(ours, 3)
    assert.deepEqual(crashes.errors, [])
  })
})
