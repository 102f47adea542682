// Our own behaviours: creation round trips with the reference, the batch path's equivalence to
// one-by-one validation, the worker pool, and junk input.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { generateKeys, signObject } from '@scuttlekit/ssb-keys'
import {
  createMessage,
  createVerifyPool,
  DuplicateMessageError,
  type FeedState,
  ForkError,
  InvalidAuthorError,
  InvalidContentError,
  InvalidContentTypeError,
  InvalidFirstMessageError,
  InvalidSignatureError,
  MessageTooLargeError,
  type MsgValue,
  monotonicTimestamp,
  nextState,
  OldMessageError,
  SequenceGapError,
  TimestampRequiredError,
  UnserialisableContentError,
  type Verdict,
  validateBatch,
  validateMessage,
  validateMessageOOO,
} from '@scuttlekit/ssb-validate'

const require = createRequire(import.meta.url)
const ref = require('ssb-validate') as {
  initial(): { feeds: Record<string, unknown> }
  append(state: object, hmac: string | null, msg: unknown): object
  create(state: unknown, keys: object, hmac: string | null, content: unknown, ts: number): MsgValue
  id(msg: unknown): string
}

const alice = generateKeys(Buffer.alloc(32, 1))
const bob = generateKeys(Buffer.alloc(32, 2))
const HMAC = Buffer.alloc(32, 3).toString('base64')

function makeFeed(keys = alice, n = 5, hmacKey: string | null = null, text = 'hi'): MsgValue[] {
  const out: MsgValue[] = []
  let state: FeedState | null = null
  for (let i = 0; i < n; i++) {
    const c = createMessage(state, keys, { type: 'post', text: `${text} ${i}` }, 1e12 + i, {
      hmacKey,
    })
    out.push(c.value)
    state = { id: c.id, sequence: i + 1, timestamp: c.value.timestamp }
  }
  return out
}

/** One-by-one validation, the semantics the batch path must reproduce. */
function sequential(msgs: unknown[], hmacKey: string | null = null): Verdict[] {
  const states = new Map<string, FeedState>()
  return msgs.map((m) => {
    const author = (m as { author?: string } | null)?.author
    const v = validateMessage(author ? states.get(author) : undefined, m, { hmacKey })
    if (v.ok) states.set(v.value.author, nextState(v))
    return v
  })
}

const summary = (vs: Verdict[]) => vs.map((v) => (v.ok ? v.id : v.error.name))

describe('creation', () => {
  test('what we create, the reference accepts, with the same ids (main net and HMAC)', () => {
    for (const hmac of [null, HMAC]) {
      const feed = makeFeed(alice, 5, hmac, 'Grüße € 🐢 \ud800')
      const state = ref.initial()
      for (const m of feed) ref.append(state, hmac, m)
      assert.deepEqual(
        sequential(feed, hmac).map((v) => (v.ok ? v.id : v.error.message)),
        feed.map((m) => ref.id(m)),
      )
      assert.deepEqual(Object.keys(feed[1]!), [
        'previous',
        'sequence',
        'author',
        'timestamp',
        'hash',
        'content',
        'signature',
      ])
    }
  })

  test('what the reference creates, we accept', () => {
    let state: { id: string; sequence: number; timestamp: number; queue: [] } | null = null
    let ours: FeedState | null = null
    for (let i = 0; i < 5; i++) {
      const m = ref.create(state, alice, HMAC, { type: 'test', n: i, s: 'ß€😀' }, 1e12 + i)
      const v = validateMessage(ours, m, { hmacKey: HMAC })
      assert.ok(v.ok, v.ok ? '' : v.error.message)
      assert.equal(v.id, ref.id(m))
      ours = nextState(v)
      state = { id: v.id, sequence: i + 1, timestamp: m.timestamp, queue: [] }
    }
  })

  test('the size limit is checked after signing, unlike the reference', () => {
    // find content whose unsigned message fits in 8192 units but whose signed one does not
    let text = 'x'.repeat(7800)
    let made: MsgValue | undefined
    for (; text.length < 8192; text += 'x') {
      const unsignedLength = JSON.stringify(
        {
          previous: null,
          sequence: 1,
          author: alice.id,
          timestamp: 1,
          hash: 'sha256',
          content: { type: 'post', text },
        },
        null,
        2,
      ).length
      if (unsignedLength === 8150) {
        made = ref.create(null, alice, null, { type: 'post', text }, 1)
        break
      }
    }
    assert.ok(made, 'found a boundary message')
    assert.throws(() => ref.append(ref.initial(), null, made), /must not be larger than 8192/)
    assert.throws(
      () => createMessage(null, alice, { type: 'post', text }, 1),
      (err: Error) => err instanceof MessageTooLargeError && !('fatal' in err && err.fatal),
    )
  })

  test('bad create input is a named error', () => {
    assert.throws(
      () => createMessage(null, alice, { type: 'post' }, Number.NaN),
      TimestampRequiredError,
    )
    assert.throws(() => createMessage(null, alice, 5 as unknown as string, 1), InvalidContentError)
    assert.throws(() => createMessage(null, alice, { type: 'p' }, 1), /type must be a string/)
  })

  test('content JSON cannot hold is refused, not signed as a placeholder', () => {
    const cyclic: Record<string, unknown> = { type: 'post' }
    cyclic.self = cyclic
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    const contents: [string, Record<string, unknown>][] = [
      ['a cycle', cyclic],
      ['a BigInt', { type: 'post', n: 1n }],
      [
        'a toJSON that throws',
        {
          type: 'post',
          x: {
            toJSON: () => {
              throw new Error('no')
            },
          },
        },
      ],
      ['nesting deeper than the stack', { type: 'post', deep }],
    ]
    for (const [what, content] of contents) {
      assert.throws(
        () => createMessage(null, alice, content, 1),
        (err: Error) =>
          err instanceof UnserialisableContentError &&
          err.name === 'UnserialisableContentError' &&
          /cannot be serialised as JSON/.test(err.message),
        what,
      )
    }
  })
})

describe('single messages', () => {
  const feed = makeFeed()
  const s2: FeedState = { id: ref.id(feed[1]!) as FeedState['id'], sequence: 2, timestamp: 1 }

  test('duplicate, old and gap are told apart and are not fatal', () => {
    const dup = validateMessage(s2, feed[1])
    assert.ok(!dup.ok && dup.error instanceof DuplicateMessageError && !dup.error.fatal)
    const old = validateMessage(s2, feed[0])
    assert.ok(!old.ok && old.error instanceof OldMessageError && !old.error.fatal)
    const gap = validateMessage(s2, feed[4])
    assert.ok(!gap.ok && gap.error instanceof SequenceGapError && !gap.error.fatal)
  })

  test('a fork is fatal', () => {
    const other = signObject(alice, {
      ...stripSig(feed[2]!),
      content: { type: 'post', text: 'evil' },
    })
    const v = validateMessage(
      { id: ref.id(feed[1]!) as FeedState['id'], sequence: 2, timestamp: 1 },
      { ...other, previous: ref.id(feed[0]!) },
    )
    assert.ok(!v.ok && v.error.fatal)
    const fork = signObject(alice, { ...stripSig(feed[2]!), previous: ref.id(feed[0]!) })
    const f = validateMessage(s2, fork)
    assert.ok(!f.ok && f.error instanceof ForkError && f.error.fatal)
  })

  test('junk never throws', () => {
    const junk: unknown[] = [null, undefined, 0, 1, 'x', true, [], {}, [1, 2], { author: 5 }]
    for (const j of junk) {
      const v = validateMessage(null, j)
      assert.ok(!v.ok && v.error instanceof InvalidAuthorError)
      assert.ok(!validateMessageOOO(j).ok)
    }
  })

  test('values JS cannot make a primitive of give a verdict, never an exception', async () => {
    // `==`, `~~` and `String` throw on a JSON object whose `toString` is not a function (the
    // reference throws there); a peer can send one in any field
    const poison = JSON.parse('{"toString": 1}') as object
    const s1: FeedState = { id: ref.id(feed[0]!) as FeedState['id'], sequence: 1, timestamp: 1 }
    const cases: [string, FeedState | null, unknown, new (...a: never[]) => Error][] = [
      ['sequence after a message', s1, { ...feed[1]!, sequence: poison }, OldMessageError],
      ['sequence, in an array', s1, { ...feed[1]!, sequence: [poison] }, OldMessageError],
      [
        'sequence of a first message',
        null,
        { ...feed[0]!, sequence: poison },
        InvalidFirstMessageError,
      ],
      ['previous', s1, { ...feed[1]!, previous: poison }, ForkError],
      ['previous, in an array', s1, { ...feed[1]!, previous: [poison] }, ForkError],
      ['timestamp', null, { ...feed[0]!, timestamp: poison }, InvalidFirstMessageError],
      ['author', null, { ...feed[0]!, author: poison }, InvalidAuthorError],
      ['content type', null, { ...feed[0]!, content: { type: poison } }, InvalidContentTypeError],
    ]
    for (const [what, state, msg, want] of cases) {
      const v = validateMessage(state, msg)
      assert.ok(!v.ok && v.error instanceof want, `${what}: ${v.ok ? 'ok' : v.error.name}`)
      assert.equal(typeof v.error.message, 'string')
      // in a batch, the messages around it keep their verdicts
      const { verdicts } = await validateBatch([feed[0], msg, feed[2]], {
        state: () => undefined,
      })
      assert.ok(verdicts[0]!.ok, what)
      assert.ok(!verdicts[1]!.ok, what)
      assert.ok(!verdicts[2]!.ok && verdicts[2]!.error instanceof SequenceGapError, what)
    }
  })

  test('out-of-order validation needs no chain', () => {
    const v = validateMessageOOO(feed[3])
    assert.ok(v.ok)
    assert.equal(v.id, ref.id(feed[3]!))
    const bad = validateMessageOOO({ ...feed[3]!, timestamp: 'x' })
    assert.ok(!bad.ok && bad.error.fatal)
  })

  test('receive timestamps strictly increase', () => {
    let last = 0
    for (let i = 0; i < 5000; i++) {
      const t = monotonicTimestamp()
      assert.ok(t > last)
      last = t
    }
  })
})

function stripSig(m: MsgValue): Omit<MsgValue, 'signature'> {
  const { signature: _s, ...rest } = m
  return rest
}

describe('batch validation', () => {
  const pool = createVerifyPool({ workers: 1, minParallel: 1 })
  after(() => pool.close())

  test('equals one-by-one validation over a messy mix of feeds', async () => {
    const a = makeFeed(alice, 40)
    const b = makeFeed(bob, 40)
    const badSig = { ...a[10]!, signature: b[10]!.signature }
    const altA10 = signObject(alice, {
      ...stripSig(a[10]!),
      content: { type: 'post', text: 'alt' },
    })
    const fork = signObject(bob, { ...stripSig(b[20]!), previous: b[5] && ref.id(b[5]) })
    const mix: unknown[] = []
    for (let i = 0; i < 40; i++) {
      if (i === 10)
        mix.push(badSig, altA10) // a bad signature, then a valid alternative
      else mix.push(a[i])
      if (i === 20) mix.push(fork)
      mix.push(b[i])
      if (i % 7 === 0) mix.push(b[i], null, 'junk') // duplicates and junk
    }
    const expected = summary(sequential(mix))
    for (const p of [pool, createVerifyPool({ workers: 0 })]) {
      const got = await validateBatch(mix, { pool: p })
      assert.deepEqual(summary(got.verdicts), expected)
    }
    // the alternative was first-seen valid, so the real a[11] is a fork afterwards
    assert.ok(expected.includes('InvalidSignatureError'))
    assert.ok(expected.includes('ForkError'))
    assert.ok(expected.includes('DuplicateMessageError'))
    const res = await validateBatch(mix, { pool })
    assert.equal(res.states.get(bob.id)?.sequence, 40)
    assert.equal(res.states.get(alice.id)?.sequence, 11)
  })

  test('continues from the given state and reports bad signatures in a big batch', async () => {
    const a = makeFeed(alice, 300)
    const start = { id: ref.id(a[99]!) as FeedState['id'], sequence: 100, timestamp: 1 }
    const tail = a.slice(100)
    tail[150] = { ...tail[150]!, signature: tail[149]!.signature }
    const res = await validateBatch(tail, { pool, state: () => start })
    const verdicts = res.verdicts
    assert.ok(verdicts.slice(0, 150).every((v) => v.ok))
    assert.ok(!verdicts[150]!.ok && verdicts[150]!.error instanceof InvalidSignatureError)
    assert.ok(verdicts.slice(151).every((v) => !v.ok && v.error instanceof SequenceGapError))
    assert.equal(res.states.get(alice.id)?.sequence, 250)
  })

  test('an HMAC network: the wrong key rejects everything, fatally', async () => {
    const feed = makeFeed(alice, 100, HMAC)
    const good = await validateBatch(feed, { pool, hmacKey: HMAC })
    assert.ok(good.verdicts.every((v) => v.ok))
    const bad = await validateBatch(feed, { pool })
    assert.ok(!bad.verdicts[0]!.ok && bad.verdicts[0]!.error instanceof InvalidSignatureError)
    const badKey = await validateBatch(feed, { pool, hmacKey: 'not base64' })
    assert.ok(!badKey.verdicts[0]!.ok && badKey.verdicts[0]!.error.name === 'InvalidHmacKeyError')
  })

  test('a pool whose worker dies still answers, on the calling thread', async () => {
    const p = createVerifyPool({ workers: 1, minParallel: 1 })
    const feed = makeFeed(alice, 200)
    await validateBatch(feed.slice(0, 10), { pool: p }) // start the worker
    await p.close()
    const res = await validateBatch(feed, { pool: p })
    assert.ok(res.verdicts.every((v) => v.ok))
    assert.equal(p.size, 0)
  })

  test('start() boots the workers before any batch; a pool without workers stays empty', async () => {
    const p = createVerifyPool({ workers: 1 })
    const none = createVerifyPool({ workers: 0 })
    try {
      assert.equal(p.size, 0, 'lazy until asked')
      p.start()
      p.start()
      assert.equal(p.size, 1)
      none.start()
      assert.equal(none.size, 0)
      const res = await validateBatch(makeFeed(alice, 100), { pool: p })
      assert.ok(res.verdicts.every((v) => v.ok))
    } finally {
      await p.close()
      await none.close()
    }
  })

  test('until its worker has booted, a pool verifies on the calling thread', async () => {
    // A worker takes tens of milliseconds to boot (more while the machine is busy starting a
    // server); a batch that arrives meanwhile must not wait for it. 16 messages take about a
    // millisecond here.
    const p = createVerifyPool({ workers: 1, minParallel: 1 })
    try {
      p.start()
      assert.equal(p.ready, 0)
      const feed = makeFeed(alice, 16)
      const early = await validateBatch(feed, { pool: p })
      assert.ok(early.verdicts.every((v) => v.ok))
      assert.equal(p.ready, 0, 'answered before the worker had booted')
      const deadline = Date.now() + 10_000
      while (p.ready === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
      assert.equal(p.ready, 1, 'the worker boots and says so')
      const bad = feed.map((m, i) => (i === 9 ? { ...m, signature: feed[8]!.signature } : m))
      const late = await validateBatch(bad, { pool: p })
      assert.deepEqual(
        late.verdicts.map((v) => v.ok),
        bad.map((_, i) => i < 9),
      )
    } finally {
      await p.close()
    }
  })

  test('workers boot whatever Node options their process was started with', () => {
    const code = [
      `import { createVerifyPool } from '${new URL('../dist/index.js', import.meta.url)}'`,
      'const p = createVerifyPool({ workers: 1 })',
      'p.start()',
      'const deadline = Date.now() + 10_000',
      'while (p.ready === 0 && p.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))',
      "console.log('size', p.size, 'ready', p.ready)",
      'await p.close()',
    ].join('\n')
    // `-e`: an inheriting worker ran that code instead of verifying and died at start, unseen;
    // `--max-old-space-size`: options passed on explicitly make `new Worker` throw
    for (const options of [[], ['--max-old-space-size=300', '--stack-size=900']]) {
      const r = spawnSync(process.execPath, [...options, '--input-type=module', '-e', code], {
        encoding: 'utf8',
        timeout: 20_000,
      })
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stdout.trim(), 'size 1 ready 1', `started with ${options.join(' ')}`)
    }
  })

  test('a started pool that never verified lets the process exit', () => {
    // with a module loader registered (as under tsx, the test runner's own setup) a worker's port
    // stays referenced once a 'message' listener is added after unref(); the child stays up long
    // enough for the worker to come online
    const dir = mkdtempSync(join(tmpdir(), 'verify-pool-exit-'))
    const script = join(dir, 'child.mjs')
    writeFileSync(
      script,
      [
        `import { createVerifyPool, defaultVerifyPool } from '${new URL('../dist/index.js', import.meta.url)}'`,
        'createVerifyPool({ workers: 1 }).start()',
        'defaultVerifyPool().start()',
        'await new Promise((r) => setTimeout(r, 500))',
        "console.log('started')",
      ].join('\n'),
    )
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      timeout: 20_000,
    })
    rmSync(dir, { recursive: true, force: true })
    assert.equal(r.signal, null, 'it exited by itself, not by the timeout')
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'started')
  })

  test('an aborted batch rejects', async () => {
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(validateBatch(makeFeed(alice, 100), { pool, signal: ac.signal }))
  })
})
