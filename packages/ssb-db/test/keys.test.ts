// The index key encoding: byte order must be the tuple order the reference's charwise keys give
// (null < numbers < strings; numbers numerically; strings by UTF-8 bytes; element by element).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeKey, decodeOffset, encodeKey, encodeOffset } from '../src/internal/keys.js'

type Part = string | number | null

function compareParts(a: readonly Part[], b: readonly Part[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!
    const y = b[i]!
    const rank = (v: Part) => (v === null ? 0 : typeof v === 'number' ? 1 : 2)
    if (rank(x) !== rank(y)) return rank(x) - rank(y)
    if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return x < y ? -1 : 1
    } else if (typeof x === 'string' && typeof y === 'string') {
      const c = Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'))
      if (c !== 0) return c
    }
  }
  return a.length - b.length
}

const numbers = [
  Number.NEGATIVE_INFINITY,
  -1e300,
  -1795313345604.001,
  -2,
  -1.5,
  -Number.MIN_VALUE,
  0,
  Number.MIN_VALUE,
  0.001,
  1,
  1.5,
  2,
  1795313345604,
  1795313345604.001,
  1795313345604.002,
  2 ** 53,
  1e300,
  Number.POSITIVE_INFINITY,
]
const strings = [
  '',
  '\u0000',
  '\u0000\u0000',
  'a',
  'a\u0000',
  'a\u0000b',
  'ab',
  'b',
  'é',
  '😀',
  '@x',
]

test('byte order equals tuple order', () => {
  const tuples: Part[][] = [[], [null]]
  for (const n of numbers) tuples.push([n], [n, 'x'], ['t', n])
  for (const s of strings) tuples.push([s], [s, 1], [s, null], [s, s])
  for (let i = 0; i < tuples.length; i++) {
    for (let j = 0; j < tuples.length; j++) {
      const a = tuples[i]!
      const b = tuples[j]!
      const expected = Math.sign(compareParts(a, b))
      const actual = Math.sign(Buffer.compare(encodeKey(a), encodeKey(b)))
      assert.equal(actual, expected, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
    }
  }
})

test('a prefix tuple encodes to a byte prefix, and keys decode to what was encoded', () => {
  for (const s of strings) {
    for (const n of numbers) {
      const whole = encodeKey([s, n, null, s])
      assert.ok(whole.subarray(0, encodeKey([s]).length).equals(encodeKey([s])), 'prefix')
      assert.deepEqual(decodeKey(whole), [s, n, null, s])
    }
  }
  assert.deepEqual(decodeKey(encodeKey([-0])), [0], '-0 sorts and reads as 0')
})

test('offsets round-trip through six bytes', () => {
  for (const o of [0, 16, 65535, 2 ** 32 + 7, 2 ** 48 - 1])
    assert.equal(decodeOffset(encodeOffset(o)), o)
})
