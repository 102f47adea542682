import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  decrypt,
  multibox_open,
  multibox_open_body,
  multibox_open_key,
  multiboxOpen,
  multiboxOpenBody,
  multiboxOpenKey,
} from '@scuttlekit/private-box'

interface KeyPair {
  publicKey: string
  secretKey: string
}
interface BoxFixture {
  recipients: number
  max: number
  plaintext: string
  ciphertext: string
  unboxKey: string
  recipientKeys: KeyPair[]
  outsiderSecretKey: string
  outsiderOpens: boolean
  openedAtDefaultMaxBy8th?: boolean
}
interface RsFixture {
  recipientKeys: KeyPair[]
  plaintext: string
  ciphertext: string
  unboxKey: string
}

const load = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T
const b = (text: string): Buffer => Buffer.from(text, 'base64')

const boxes = load<BoxFixture[]>('boxes.json')
const rs = load<RsFixture>('private-box-rs.json')

test('fixtures cover 1..7 recipients at the default max and 8 at max 8', () => {
  assert.deepEqual(
    boxes.map((f) => [f.recipients, f.max]),
    [
      [1, 7],
      [2, 7],
      [3, 7],
      [4, 7],
      [5, 7],
      [6, 7],
      [7, 7],
      [8, 8],
    ],
  )
})

for (const f of boxes) {
  test(`reference box to ${f.recipients} recipient(s) opens for each of them`, () => {
    const ciphertext = b(f.ciphertext)
    const plaintext = b(f.plaintext)
    assert.equal(ciphertext.length, 24 + 32 + 49 * f.recipients + plaintext.length + 16)
    for (const k of f.recipientKeys) {
      const sk = b(k.secretKey)
      assert.deepEqual(multiboxOpen(ciphertext, sk, f.max), plaintext)
      assert.deepEqual(multibox_open(ciphertext, sk, f.max), plaintext)
      const key = multiboxOpenKey(ciphertext, sk, f.max)
      assert.equal(key?.toString('base64'), f.unboxKey)
      assert.deepEqual(multibox_open_key(ciphertext, sk, f.max), key)
    }
    assert.equal(b(f.unboxKey)[0], f.recipients, 'count byte of the unbox key')
    assert.deepEqual(multiboxOpenBody(ciphertext, b(f.unboxKey)), plaintext)
    assert.deepEqual(multibox_open_body(ciphertext, b(f.unboxKey)), plaintext)
  })

  test(`reference box to ${f.recipients} recipient(s) is not for an outsider`, () => {
    assert.equal(f.outsiderOpens, false)
    const ciphertext = b(f.ciphertext)
    assert.equal(multiboxOpen(ciphertext, b(f.outsiderSecretKey), f.max), undefined)
    assert.equal(multiboxOpenKey(ciphertext, b(f.outsiderSecretKey), f.max), undefined)
    assert.equal(decrypt(ciphertext, b(f.outsiderSecretKey)), undefined)
  })
}

test('an 8-recipient box (max 8) opens at the default max for every recipient, the 8th too', () => {
  const f = boxes.find((x) => x.recipients === 8)!
  assert.equal(f.openedAtDefaultMaxBy8th, true, 'the reference opens it at the default max')
  for (const k of f.recipientKeys) {
    assert.deepEqual(multiboxOpen(b(f.ciphertext), b(k.secretKey)), b(f.plaintext))
  }
})

test('an 8-recipient box does not open for the 8th recipient when max is 6 (7 slots)', () => {
  const f = boxes.find((x) => x.recipients === 8)!
  const last = f.recipientKeys[7]!
  assert.equal(multiboxOpen(b(f.ciphertext), b(last.secretKey), 6), undefined)
  assert.deepEqual(
    multiboxOpen(b(f.ciphertext), b(f.recipientKeys[6]!.secretKey), 6),
    b(f.plaintext),
  )
})

test('the private-box-rs vector opens with either key to 00 01 02', () => {
  const ciphertext = b(rs.ciphertext)
  assert.equal(ciphertext.length, 173)
  for (const k of rs.recipientKeys) {
    const sk = b(k.secretKey)
    assert.deepEqual(multiboxOpen(ciphertext, sk), Buffer.from([0, 1, 2]))
    assert.equal(multiboxOpenKey(ciphertext, sk)?.toString('base64'), rs.unboxKey)
  }
  assert.equal(rs.plaintext, 'AAEC')
})
