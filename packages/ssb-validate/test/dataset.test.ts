// All 126 cases of npm ssb-validation-dataset 1.2.1: every entry point agrees on valid/invalid,
// and on the id of every valid message.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import {
  append,
  type FeedState,
  id,
  initial,
  validateBatch,
  validateMessage,
} from '@scuttlekit/ssb-validate'

const require = createRequire(import.meta.url)
interface Case {
  state: FeedState | null
  hmacKey: string | null
  message: unknown
  valid: boolean
  error: string | null
  id: string | null
}
const data = require('ssb-validation-dataset') as Case[]
const reference = require('ssb-validate') as {
  append(state: object, hmac: unknown, msg: unknown): object
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

test('the dataset has 126 cases, 27 valid', () => {
  assert.equal(data.length, 126)
  assert.equal(data.filter((c) => c.valid).length, 27)
})

data.forEach((c, i) => {
  test(`case ${i}: ${c.valid ? 'valid' : `invalid: ${c.error}`}`, async () => {
    const author = isObject(c.message) ? (c.message.author as string) : undefined
    // typed API
    const v = validateMessage(c.state, c.message, { hmacKey: c.hmacKey })
    assert.equal(v.ok, c.valid, v.ok ? 'accepted' : v.error.message)
    if (v.ok) assert.equal(v.id, c.id)
    if (c.valid) assert.equal(id(c.message as object), c.id)
    // drop-in API, with the state shape the reference's own test builds
    const state = initial()
    if (author !== undefined && c.state) state.feeds[author] = { ...c.state, queue: [] }
    if (c.valid) append(state, c.hmacKey, c.message as never)
    else assert.throws(() => append(state, c.hmacKey, c.message as never))
    // batch path
    const b = await validateBatch([c.message], { hmacKey: c.hmacKey, state: () => c.state })
    assert.equal(b.verdicts[0]!.ok, c.valid)
    // and the same error text as the reference, where the reference gives one
    if (!c.valid && !v.ok) {
      const refState = { feeds: {} as Record<string, unknown>, queue: [] }
      if (author !== undefined && c.state) refState.feeds[author] = { ...c.state, queue: [] }
      let refErr: Error | undefined
      try {
        reference.append(refState, c.hmacKey, c.message)
      } catch (err) {
        refErr = err as Error
      }
      assert.ok(refErr, 'the reference rejects it too')
      if (!(refErr instanceof TypeError)) {
        assert.equal(v.error.message, refErr.message)
        assert.equal(v.error.fatal, (refErr as { fatal?: boolean }).fatal === true)
      }
    }
  })
})
