import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as api from '@scuttlekit/ssb-ref'
import {
  canonicalBase64,
  garbage,
  idStrings,
  KEY,
  prng,
  randomStrings,
  ref,
  same,
} from './helpers.js'

// A plain copy of the namespace, so tests can look functions up by name.
const ours = { ...api }

const predicates = [
  'isFeedId',
  'isFeed',
  'isMsgId',
  'isMsg',
  'isBlobId',
  'isBlob',
  'isCloakedMsgId',
  'isCloakedMsg',
  'isFeedTypeId',
  'isFeedType',
  'isMsgTypeId',
  'isMsgType',
  'isBlobTypeId',
  'isBlobType',
] as const

test('every id predicate agrees with ssb-ref on ids, near-ids and garbage', () => {
  const inputs = [...idStrings, ...garbage, 'x'.repeat(100_000), `@${'A'.repeat(100_000)}.ed25519`]
  for (const name of predicates) {
    for (const input of inputs) {
      same(
        name,
        input,
        () => ours[name](input),
        () => ref[name]!(input as never),
      )
    }
  }
})

test('the exported regexes are the reference regexes', () => {
  for (const name of [
    'feedIdRegex',
    'msgIdRegex',
    'blobIdRegex',
    'cloakedMsgIdRegex',
    'feedTypeIdRegex',
    'msgTypeIdRegex',
    'blobTypeIdRegex',
  ] as const) {
    assert.equal(ours[name].source, ref[name]!.source, name)
    assert.equal(ours[name].flags, ref[name]!.flags, name)
  }
})

test('the unescaped-dot and .sha256 quirks are kept', () => {
  assert.equal(ours.isFeedId(`@${KEY}xed25519`), true)
  assert.equal(ours.isFeedId(`@${KEY}.sha256`), true)
  assert.equal(ours.isMsgId(`%${KEY}!sha256`), true)
  assert.equal(ours.isFeedTypeId(`@${KEY}xed25519`), false)
})

test('isCanonicalBase64 agrees with npm is-canonical-base64 on random and edge strings', () => {
  const unbounded = canonicalBase64()
  const alphabet = ['A', 'B', 'Q', 'g', 'w', 'z', '0', '4', '9', '+', '/', '=', '-', '_', ' ', 'é']
  const inputs = [
    '',
    '=',
    '==',
    'AA==',
    'AB==',
    'AAA=',
    'AAB=',
    'AAAA',
    'AAAAA',
    'AAAAAA==',
    KEY,
    `${KEY.slice(0, 42)}B=`,
    Buffer.alloc(64, 7).toString('base64'),
    `${'A'.repeat(85)}B==`,
    ...randomStrings(1, 4000, alphabet, 12),
  ]
  // Real encodings of random byte strings are always canonical.
  const random = prng(2)
  for (let n = 0; n < 300; n++) {
    const bytes = Buffer.alloc(Math.floor(random() * 70))
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256)
    inputs.push(bytes.toString('base64'))
  }
  for (const input of inputs) {
    assert.equal(ours.isCanonicalBase64(input), unbounded.test(input), JSON.stringify(input))
  }
  for (let length = 0; length <= 70; length++) {
    const exact = canonicalBase64('', '', length)
    for (const input of inputs) {
      assert.equal(ours.isCanonicalBase64(input, length), exact.test(input), `${length} ${input}`)
    }
  }
  for (const value of garbage) {
    if (typeof value !== 'string') assert.equal(ours.isCanonicalBase64(value), false)
  }
  assert.throws(() => ours.isCanonicalBase64('', -1), RangeError)
  assert.throws(() => ours.isCanonicalBase64('', 1.5), RangeError)
})
