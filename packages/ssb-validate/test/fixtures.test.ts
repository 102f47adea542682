// Verdicts recorded from npm ssb-validate 4.1.4 by scripts/make-fixtures.cjs: every case must get
// the same verdict, error text and `fatal` flag from us, through every entry point.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import type { Keys } from '@scuttlekit/ssb-keys'
import {
  append,
  appendOOO,
  create,
  type FeedState,
  initial,
  MessageTooLargeError,
  type MsgValue,
  nextState,
  queue,
  validate,
  validateBatch,
  validateMessage,
  validateMessageOOO,
} from '@scuttlekit/ssb-validate'

const require = createRequire(import.meta.url)
interface Case {
  name: string
  hmacKey: string | null
  state: FeedState | null
  message: unknown
  valid: boolean
  fatal?: boolean
  error?: string
  throws?: boolean
  errorName?: string
  id?: string
  after?: FeedState
  validated?: number
}
interface CreateCase {
  name: string
  keys: string
  hmacKey: string | null
  state: FeedState | null
  content: unknown
  timestamp?: unknown
  ok: boolean
  throws?: boolean
  error?: string
  message?: MsgValue
  id?: string
  append?: { valid: boolean; error?: string }
}
interface QueueCase {
  name: string
  hmacKey: string | null
  steps: Array<{ op: 'queue' | 'validate'; message?: MsgValue; feed?: string; error?: unknown }>
  final: {
    validated: number
    queued: number
    accepted: string[]
    feeds: Record<string, { id: string | null; sequence: number | null; queued: string[] }>
  }
}
const cases = require('./fixtures/cases.json') as {
  keys: Record<string, Keys>
  append: Case[]
  ooo: Case[]
  queue: QueueCase[]
  create: CreateCase[]
}
const feeds = require('./fixtures/feeds.json') as {
  feeds: Array<{
    name: string
    hmacKey: string | null
    messages: MsgValue[]
    ids: string[]
    state: FeedState
  }>
}
const orders = require('./fixtures/key-orders.json') as {
  state: FeedState
  cases: Array<{ order: string[]; message?: unknown; valid: boolean; [k: string]: unknown }>
}

const authorOf = (m: unknown) =>
  typeof m === 'object' && m !== null ? (m as { author?: unknown }).author : undefined

describe('append verdicts', () => {
  for (const c of cases.append) {
    test(c.name, async () => {
      // the reference prints its state object, `queue: []` included, in sequence errors
      const refState = c.state ? { ...c.state, queue: [] } : null
      const v = validateMessage(refState, c.message, { hmacKey: c.hmacKey })
      assert.equal(v.ok, c.valid, v.ok ? 'we accepted it' : v.error.message)
      if (v.ok) {
        assert.equal(v.id, c.id)
        assert.deepEqual(nextState(v), c.after)
      } else if (c.errorName !== 'TypeError') {
        // a verdict (or the reference's own throw, like `unknown curve`): same text
        assert.equal(v.error.message, c.error)
        assert.equal(v.error.fatal, c.fatal === true)
      }
      // the drop-in API, with the state shape the reference uses
      const state = initial()
      const author = authorOf(c.message)
      if (typeof author === 'string' && c.state) state.feeds[author] = { ...c.state, queue: [] }
      if (c.valid) append(state, c.hmacKey, c.message as MsgValue)
      else assert.throws(() => append(state, c.hmacKey, c.message as MsgValue))
      // the batch path
      const b = await validateBatch([c.message], { hmacKey: c.hmacKey, state: () => c.state })
      assert.equal(b.verdicts[0]!.ok, c.valid)
    })
  }
})

describe('out-of-order verdicts', () => {
  for (const c of cases.ooo) {
    test(c.name, () => {
      const v = validateMessageOOO(c.message, { hmacKey: c.hmacKey })
      assert.equal(v.ok, c.valid, v.ok ? 'we accepted it' : v.error.message)
      if (v.ok) assert.equal(v.id, c.id)
      else if (c.errorName !== 'TypeError') {
        assert.equal(v.error.message, c.error)
        assert.equal(v.error.fatal, c.fatal === true)
      }
      const state = initial()
      appendOOO(state, c.hmacKey, c.message as MsgValue)
      assert.equal(!state.error, c.valid)
    })
  }
})

describe('queue and validate', () => {
  for (const c of cases.queue) {
    test(c.name, () => {
      const state = initial()
      for (const step of c.steps) {
        if (step.op === 'queue') {
          queue(state, step.message!)
          assert.equal(Boolean(state.error), Boolean(step.error))
        } else if (step.error) {
          assert.throws(() => validate(state, c.hmacKey, step.feed as MsgValue['author']))
        } else {
          validate(state, c.hmacKey, step.feed as MsgValue['author'])
        }
      }
      assert.equal(state.validated, c.final.validated)
      assert.equal(state.queued, c.final.queued)
      assert.deepEqual(
        state.queue.map((kvt) => kvt.key),
        c.final.accepted,
      )
      for (const [feed, f] of Object.entries(c.final.feeds)) {
        assert.equal(state.feeds[feed]?.sequence, f.sequence)
        assert.equal(state.feeds[feed]?.id, f.id)
        // The reference never empties a feed's queue once validated (`q = []` assigns a local),
        // so its accepted messages linger there; ours keeps only what is still unvalidated.
        assert.deepEqual(
          state.feeds[feed]?.queue.map((kvt) => kvt.key),
          f.queued.filter((key) => !c.final.accepted.includes(key)),
        )
      }
    })
  }
})

describe('create', () => {
  for (const c of cases.create) {
    test(c.name, () => {
      const keys = cases.keys[c.keys]!
      const state = c.state ? { ...c.state, queue: [] } : null
      const run = () =>
        create(state, keys, c.hmacKey, c.content as MsgValue['content'], c.timestamp as number)
      if (c.ok && c.append?.valid !== false) {
        const msg = run()
        assert.deepEqual(msg, c.message)
        assert.equal(validateMessage(c.state, msg, { hmacKey: c.hmacKey }).ok, true)
      } else if (c.ok) {
        // the reference creates a message that it then refuses; we refuse to create it
        assert.throws(run, MessageTooLargeError)
      } else if (c.name === 'create/hmac-invalid-key') {
        assert.throws(run, { name: 'InvalidHmacKeyError' })
      } else {
        assert.throws(run, { message: c.error })
      }
    })
  }
})

describe('reference feeds', () => {
  for (const f of feeds.feeds) {
    test(`${f.name}: every message valid in order, same ids, one by one and in a batch`, async () => {
      let state: FeedState | null = null
      const ids: string[] = []
      for (const m of f.messages) {
        const v = validateMessage(state, m, { hmacKey: f.hmacKey })
        assert.ok(v.ok, v.ok ? '' : `${m.sequence}: ${v.error.message}`)
        ids.push(v.id)
        state = nextState(v)
      }
      assert.deepEqual(ids, f.ids)
      assert.deepEqual(state, f.state)
      const b = await validateBatch(f.messages, { hmacKey: f.hmacKey })
      assert.deepEqual(
        b.verdicts.map((v) => (v.ok ? v.id : v.error.message)),
        f.ids,
      )
    })
  }
})

test('all 732 key orders get the reference verdict', () => {
  assert.ok(orders.cases.length >= 720)
  const base = (orders as unknown as { base: Record<string, unknown> }).base
  for (const c of orders.cases) {
    const msg =
      c.message ??
      Object.fromEntries(c.order.map((k) => [k, k === 'signature' ? c.signature : base[k]]))
    const v = validateMessage(orders.state, msg)
    assert.equal(v.ok, c.valid, `${c.order.join(',')}: ${v.ok ? 'accepted' : v.error.message}`)
  }
})

test('after queue and validate, the feed goes on (the reference wedges it)', () => {
  const ref = require('ssb-validate') as typeof import('@scuttlekit/ssb-validate')
  const alice = feeds.feeds.find((f) => f.name === 'alice')!
  const [m1, m2, m3, m4] = alice.messages
  const ours = initial()
  const theirs = ref.initial()
  for (const [api, state] of [
    [{ queue, validate }, ours],
    [ref, theirs],
  ] as const) {
    api.queue(state, m1!)
    api.queue(state, m2!)
    api.validate(state, null, m1!.author)
    api.queue(state, m3!)
  }
  // the reference compares m3 with the stale m1 left in its queue: a sequence error
  assert.match(String(theirs.error ? theirs.error.message : ''), /expected sequence 2 but got:3/)
  assert.equal(ours.error, null)
  validate(ours, null, m1!.author)
  queue(ours, m4!)
  validate(ours, null, m1!.author)
  assert.equal(ours.feeds[m1!.author]?.sequence, 4)
  assert.equal(ours.validated, 4)
})
