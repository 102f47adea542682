// A private message end to end: boxed to feed ids, signed into a feed, validated, and opened,
// with one side ours and the other the reference npm packages, in both directions.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { boxContent, generateKeys, type Keys, unboxContent } from '@scuttlekit/ssb-keys'
import {
  createMessage,
  type FeedState,
  type MsgValue,
  nextState,
  validateBatch,
} from '@scuttlekit/ssb-validate'

const require = createRequire(import.meta.url)
const refKeys = require('ssb-keys') as {
  box(content: unknown, recipients: string[]): string
  unbox(boxed: string, keys: object): unknown
}
const refValidate = require('ssb-validate') as {
  initial(): object
  append(state: object, hmac: string | null, msg: unknown): object
  create(state: unknown, keys: object, hmac: string | null, content: unknown, ts: number): MsgValue
  id(msg: unknown): string
}

const people: Keys[] = Array.from({ length: 8 }, (_, i) => generateKeys(Buffer.alloc(32, i + 1)))
const [alice, ...others] = people as [Keys, ...Keys[]]

test('we box and publish; the reference validates and every recipient opens it', () => {
  const refState = refValidate.initial()
  let state: FeedState | null = null
  for (let n = 1; n <= 7; n++) {
    const recps = [alice, ...others].slice(0, n).map((k) => k.id)
    const content = { type: 'post', text: `to ${n}: Grüße 🐢`, recps }
    const created = createMessage(state, alice, boxContent(content, recps), 1e12 + n)
    refValidate.append(refState, null, created.value)
    assert.equal(refValidate.id(created.value), created.id)
    for (const [i, k] of people.entries()) {
      const opened = refKeys.unbox(created.value.content as string, k)
      if (i < n) assert.deepEqual(opened, content)
      else assert.equal(opened, undefined)
    }
    state = { id: created.id, sequence: n, timestamp: created.value.timestamp }
  }
})

test('the reference boxes and publishes; we validate in a batch and open it', async () => {
  const msgs: MsgValue[] = []
  let refState: { id: string; sequence: number; timestamp: number; queue: [] } | null = null
  for (let n = 1; n <= 7; n++) {
    const recps = people.slice(1, n + 1).map((k) => k.id)
    const content = { type: 'chat', n, recps }
    const msg = refValidate.create(refState, alice, null, refKeys.box(content, recps), 1e12 + n)
    msgs.push(msg)
    refState = { id: refValidate.id(msg), sequence: n, timestamp: msg.timestamp, queue: [] }
  }
  const { verdicts, states } = await validateBatch(msgs)
  assert.ok(verdicts.every((v) => v.ok))
  assert.equal(states.get(alice.id)?.sequence, 7)
  for (const [n, v] of verdicts.entries()) {
    if (!v.ok) continue
    assert.equal(v.id, refValidate.id(msgs[n]))
    const recipient = people[n + 1]!
    assert.deepEqual((unboxContent(v.value.content as string, recipient) as { n: number }).n, n + 1)
    assert.equal(unboxContent(v.value.content as string, alice), undefined)
    assert.equal(nextState(v).sequence, n + 1)
  }
})
