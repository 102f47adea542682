// The typed key, signing and id API against vectors made by npm ssb-keys
// (scripts/make-fixtures.cjs).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  generateKeys,
  type Keys,
  messageId,
  publicKeyOf,
  secretKeyOf,
  signObject,
  verifyObject,
} from '@scuttlekit/ssb-keys'

interface KeysFixture {
  stringSeeds: { seed: string; keys: Keys }[]
  byteSeeds: { seedHex: string; keys: Keys; curve25519SecretHex: string }[]
}
interface SignFixture {
  keys: Keys
  hmacKey: string
  signatures: {
    input: string
    hmac: string | null
    signed: string
    id: string
    verifies: boolean
  }[]
  verifications: { name: string; text: string; verifies: boolean; verifiesWithHmac: boolean }[]
}

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as T
const keysFixture = fixture<KeysFixture>('keys.json')
const signFixture = fixture<SignFixture>('sign.json')

test('string seeds give the reference keys (cut to 32 units, UTF-8, cut to 32 bytes)', () => {
  assert.ok(keysFixture.stringSeeds.length >= 10)
  for (const { seed, keys } of keysFixture.stringSeeds) {
    assert.deepEqual(generateKeys(seed), keys, JSON.stringify(seed))
  }
})

test('32-byte seeds give the reference keys', () => {
  for (const { seedHex, keys } of keysFixture.byteSeeds) {
    assert.deepEqual(generateKeys(Buffer.from(seedHex, 'hex')), keys)
  }
})

test('seeds the reference would turn into a random key or reject are refused', () => {
  assert.throws(() => generateKeys(''), RangeError)
  assert.throws(() => generateKeys(Buffer.alloc(31)), RangeError)
  assert.throws(() => generateKeys(Buffer.alloc(33)), RangeError)
  assert.throws(() => generateKeys(new Uint8Array(0)), RangeError)
})

test('random keys differ and are well formed', () => {
  const a = generateKeys()
  const b = generateKeys()
  assert.notEqual(a.id, b.id)
  assert.equal(a.id, `@${a.public}`)
  assert.equal(secretKeyOf(a).length, 64)
  assert.deepEqual(secretKeyOf(a).subarray(32), publicKeyOf(a.id))
})

test('secretKeyOf notices a changed private key on the same object', () => {
  const keys = { ...generateKeys(Buffer.alloc(32, 1)) }
  const first = Buffer.from(secretKeyOf(keys))
  keys.private = generateKeys(Buffer.alloc(32, 2)).private
  assert.notDeepEqual(secretKeyOf(keys), first)
})

test('signObject and messageId equal the reference (non-ASCII, lone surrogates, int keys, __proto__)', () => {
  const { keys } = signFixture
  let checked = 0
  for (const vector of signFixture.signatures) {
    if (vector.input.includes('"signature"')) continue // signObject drops an old signature
    const ours = signObject(keys, JSON.parse(vector.input) as object, vector.hmac)
    assert.equal(JSON.stringify(ours), vector.signed, vector.input)
    assert.equal(messageId(ours), vector.id, vector.input)
    assert.equal(verifyObject(keys.id, JSON.parse(vector.signed), vector.hmac), true)
    checked++
  }
  assert.equal(checked, 14)
})

test('signObject leaves an existing signature out of the signed bytes and puts it last', () => {
  const { keys } = signFixture
  const signed = signObject(keys, { a: 1, signature: 'old', z: 2 })
  assert.deepEqual(Object.keys(signed), ['a', 'z', 'signature'])
  assert.ok(verifyObject(keys, signed))
})

test('verifyObject gives the reference verdict on doctored messages', () => {
  const { keys, hmacKey } = signFixture
  assert.ok(signFixture.verifications.length >= 7)
  for (const { name, text, verifies, verifiesWithHmac } of signFixture.verifications) {
    assert.equal(verifyObject(keys.id, JSON.parse(text)), verifies, name)
    assert.equal(verifyObject(keys, JSON.parse(text), hmacKey), verifiesWithHmac, name)
  }
  // reference verdicts for the signed vectors, including the one signed over an old signature
  for (const vector of signFixture.signatures) {
    assert.equal(verifyObject(keys, JSON.parse(vector.signed), vector.hmac), vector.verifies)
  }
})

test('verifyObject never throws on junk', () => {
  const { keys } = signFixture
  const good = JSON.parse(signFixture.verifications[0]!.text) as object
  const junk: unknown[] = [
    null,
    undefined,
    0,
    'x',
    [],
    {},
    { signature: 5 },
    { signature: 'AAAA.sig.ed25519' },
    { signature: null },
    { ...good, big: 10n },
  ]
  for (const value of junk) assert.equal(verifyObject(keys.id, value), false)
  assert.equal(verifyObject(keys.id, good, Buffer.alloc(5)), false) // HMAC key of a wrong size
  assert.equal(verifyObject('@short.ed25519', good), false)
  assert.equal(verifyObject(42 as unknown as string, good), false)
})
