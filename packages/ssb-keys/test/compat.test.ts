// The npm ssb-keys drop-in names: same results as the reference on the same inputs (vectors
// from scripts/make-fixtures.cjs, plus side-by-side calls), and the deliberate differences.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import * as ours from '@scuttlekit/ssb-keys'
import {
  CorruptSecretFileError,
  type Keys,
  SecretFileExistsError,
  SecretFileNotFoundError,
  SecretFileUnreadableError,
  SecretKeyMismatchError,
  UnsupportedCurveError,
  UnsupportedFeedFormatError,
} from '@scuttlekit/ssb-keys'

const require = createRequire(import.meta.url)
type RefName =
  | 'generate'
  | 'sign'
  | 'verify'
  | 'signObj'
  | 'verifyObj'
  | 'secretBox'
  | 'secretUnbox'
  | 'box'
  | 'unbox'
  | 'unboxKey'
  | 'unboxBody'
  | 'createSync'
  | 'loadSync'
  | 'loadOrCreateSync'
  | 'load'
// biome-ignore lint/suspicious/noExplicitAny: the reference is untyped CommonJS
const ref = require('ssb-keys') as Record<RefName, (...args: any[]) => any>

const fixture = <T>(name: string): T =>
  JSON.parse(fs.readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as T
const keysFixture = fixture<{
  stringSeeds: { seed: string; keys: Keys }[]
  byteSeeds: { seedHex: string; keys: Keys; curve25519SecretHex: string }[]
}>('keys.json')
const signFixture = fixture<{
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
  stringSignatures: { text: string; hmac: string | null; signature: string }[]
}>('sign.json')
const hashFixture = fixture<{
  latin1: { text: string; hash: string }[]
  utf8: { text: string; hash: string }[]
  base64: { text: string; hash: string }[]
  hex: { text: string; hash: string }[]
  tags: { text: string; tag: string }[]
  secretBox: { value: unknown; keyHex: string; boxedHex: string }[]
}>('hash.json')
const secretFixture = fixture<{ json: { text: string; keys: Keys } }>('secret-file.json')

const root = fs.mkdtempSync(join(tmpdir(), 'ssb-keys-compat-'))
let counter = 0
const fresh = () => join(root, `case-${++counter}`, 'secret')
after(() => fs.rmSync(root, { recursive: true, force: true }))

/** Calls `fn` on ours and the reference: both throw, or both return deep-equal values. */
function sameOutcome(name: string, mine: () => unknown, theirs: () => unknown) {
  let a: { value?: unknown; threw?: boolean }
  let b: { value?: unknown; threw?: boolean }
  try {
    a = { value: mine() }
  } catch {
    a = { threw: true }
  }
  try {
    b = { value: theirs() }
  } catch {
    b = { threw: true }
  }
  assert.deepEqual(a, b, name)
}

test('generate equals the reference for string and byte seeds', () => {
  for (const { seed, keys } of keysFixture.stringSeeds) {
    assert.deepEqual(ours.generate('ed25519', seed), keys)
    assert.deepEqual(ours.generate(null, seed), keys)
  }
  for (const { seedHex, keys } of keysFixture.byteSeeds) {
    assert.deepEqual(ours.generate(undefined, Buffer.from(seedHex, 'hex')), keys)
  }
})

test('generate: empty seed is random, bad seed length and curve throw, like the reference', () => {
  assert.notEqual(ours.generate('ed25519', '').id, ours.generate('ed25519', '').id)
  assert.notEqual(ours.generate().id, ours.generate().id)
  for (const seed of [Buffer.alloc(0), Buffer.alloc(31), Buffer.alloc(33)]) {
    assert.throws(() => ours.generate('ed25519', seed), RangeError)
    assert.throws(() => ref.generate('ed25519', seed))
  }
  assert.throws(() => ours.generate('k256'), UnsupportedCurveError)
  assert.throws(() => ref.generate('k256'), /unknown curve/)
  assert.equal(
    ours.generate(undefined, 'x', 'classic').id,
    ref.generate(undefined, 'x', 'classic').id,
  )
  assert.throws(() => ours.generate(undefined, 'x', 'bendybutt-v1'), UnsupportedFeedFormatError)
})

test('signObj, verifyObj and the id equal the reference vectors (old signature included)', () => {
  const { keys } = signFixture
  for (const vector of signFixture.signatures) {
    const input = JSON.parse(vector.input) as object
    const signed = vector.hmac ? ours.signObj(keys, vector.hmac, input) : ours.signObj(keys, input)
    assert.equal(JSON.stringify(signed), vector.signed, vector.input)
    assert.equal(`%${ours.hash(JSON.stringify(signed, null, 2))}`, vector.id)
    assert.equal(ours.verifyObj(keys, vector.hmac, JSON.parse(vector.signed)), vector.verifies)
  }
  for (const { name, text, verifies, verifiesWithHmac } of signFixture.verifications) {
    assert.equal(ours.verifyObj(keys, JSON.parse(text)), verifies, name)
    assert.equal(ours.verifyObj({ public: keys.public }, null, JSON.parse(text)), verifies, name)
    assert.equal(ours.verifyObj(keys, signFixture.hmacKey, JSON.parse(text)), verifiesWithHmac)
  }
})

test('signObj and verifyObj take the HMAC key as Buffer too', () => {
  const { keys, hmacKey } = signFixture
  const signed = ours.signObj(keys, Buffer.from(hmacKey, 'base64'), { a: 'b' })
  assert.deepEqual(signed, ref.signObj(keys, hmacKey, { a: 'b' }))
  assert.ok(ours.verifyObj(keys, Buffer.from(hmacKey, 'base64'), signed))
})

test('sign and verify of strings equal the reference', () => {
  const { keys } = signFixture
  for (const { text, hmac, signature } of signFixture.stringSignatures) {
    assert.equal(hmac ? ours.sign(keys, hmac, text) : ours.sign(keys, text), signature)
    assert.equal(ours.sign(keys.private, hmac, Buffer.from(text)), signature)
    assert.equal(ours.verify(keys, signature, hmac, text), true)
    assert.equal(ours.verify(keys.id, signature, hmac, Buffer.from(text)), true)
    assert.equal(ours.verify(keys, signature, hmac, `${text}!`), false)
  }
})

test('sign, verify, signObj, verifyObj throw and answer where the reference does', () => {
  const { keys } = signFixture
  const good = ref.signObj(keys, { a: 1 })
  const short = { ...good, signature: 'AAAA.sig.ed25519' }
  const cases: [string, (m: typeof ref) => unknown][] = [
    ['sign empty string', (m) => m.sign(keys, null, '')],
    ['sign a number', (m) => m.sign(keys, null, 5)],
    ['sign with unknown curve', (m) => m.sign({ ...keys, curve: 'k256' }, 'x')],
    ['sign with a feed-id string as key', (m) => m.sign(keys.private, 'x')],
    ['verify with an object signature', (m) => m.verify(keys, {}, null, 'x')],
    ['verify a short signature', (m) => m.verify(keys, 'AAAA.sig.ed25519', null, 'x')],
    ['verify with a short public key', (m) => m.verify('AAAA.ed25519', m.sign(keys, 'x'), 'x')],
    ['verifyObj without signature', (m) => m.verifyObj(keys, { a: 1 })],
    ['verifyObj with null signature', (m) => m.verifyObj(keys, { a: 1, signature: null })],
    ['verifyObj with short signature', (m) => m.verifyObj(keys, short)],
    ['verifyObj good', (m) => m.verifyObj(keys, good)],
    ['verifyObj, key as public string', (m) => m.verifyObj(keys.public, good)],
    ['verifyObj, key as id', (m) => m.verifyObj(keys.id, good)],
    ['verifyObj of a string', (m) => m.verifyObj(keys, 'ab')],
    ['signObj of a string', (m) => m.signObj(keys, 'ab')],
    ['signObj with HMAC of 5 bytes', (m) => m.signObj(keys, Buffer.alloc(5), { a: 1 })],
  ]
  for (const [name, run] of cases) {
    sameOutcome(
      name,
      () => run(ours as unknown as typeof ref),
      () => run(ref),
    )
  }
})

test('hash (latin1 for strings, else the encoding) and getTag equal the reference', () => {
  for (const { text, hash } of hashFixture.latin1) assert.equal(ours.hash(text), hash)
  for (const { text, hash } of hashFixture.utf8) assert.equal(ours.hash(text, 'utf8'), hash)
  for (const { text, hash } of hashFixture.base64) assert.equal(ours.hash(text, 'base64'), hash)
  for (const { text, hash } of hashFixture.hex) assert.equal(ours.hash(text, 'hex'), hash)
  for (const { text, hash } of hashFixture.utf8) {
    assert.equal(ours.hash(Buffer.from(text, 'utf8')), hash)
    assert.equal(ours.hash(new Uint8Array(Buffer.from(text, 'utf8'))), hash)
  }
  for (const { text, tag } of hashFixture.tags) assert.equal(ours.getTag(text), tag)
})

test('secretBox and secretUnbox equal the reference', () => {
  for (const { value, keyHex, boxedHex } of hashFixture.secretBox) {
    const key = Buffer.from(keyHex, 'hex')
    assert.equal(ours.secretBox(value, key)?.toString('hex'), boxedHex)
    assert.deepEqual(ours.secretUnbox(Buffer.from(boxedHex, 'hex'), key), value)
    assert.deepEqual(ref.secretUnbox(ours.secretBox(value, key), key), value)
  }
  assert.equal(ours.secretBox(0, Buffer.alloc(32)), undefined)
  assert.equal(ours.secretBox('', Buffer.alloc(32)), ref.secretBox('', Buffer.alloc(32)))
  const boxed = ours.secretBox({ a: 1 }, Buffer.alloc(32, 1))!
  assert.equal(ours.secretUnbox(boxed, Buffer.alloc(32, 2)), undefined)
  assert.equal(ref.secretUnbox(boxed, Buffer.alloc(32, 2)), undefined)
})

test('ssbSecretKeyToPrivateBoxSecret equals the reference', () => {
  for (const { keys, curve25519SecretHex } of keysFixture.byteSeeds) {
    assert.equal(ours.ssbSecretKeyToPrivateBoxSecret(keys).toString('hex'), curve25519SecretHex)
    assert.equal(
      ours.ssbSecretKeyToPrivateBoxSecret(keys.private).toString('hex'),
      curve25519SecretHex,
    )
  }
})

test('box, unbox, unboxKey, unboxBody interoperate with the reference', () => {
  const alice = ours.generate()
  const bob = ours.generate()
  const carol = ours.generate()
  const content = { type: 'post', text: 'Grüße 🐢', recps: [alice.id, bob.id] }
  const mine = ours.box(content, [alice.id, bob])
  const theirs = ref.box(content, [alice.id, bob])
  for (const boxed of [mine, theirs]) {
    assert.deepEqual(ours.unbox(boxed, alice), content)
    assert.deepEqual(ours.unbox(boxed, bob.private), content)
    assert.deepEqual(ref.unbox(boxed, { ...bob }), content)
    assert.equal(ours.unbox(boxed, carol), undefined)
    const key = ours.unboxKey(boxed, bob)
    assert.ok(key)
    assert.deepEqual(key, ref.unboxKey(boxed, { ...bob }))
    assert.deepEqual(ours.unboxBody(boxed, key), content)
    assert.deepEqual(ours.unboxBody(boxed, key.toString('base64')), content)
    assert.equal(ours.unboxBody(boxed, null), null)
    assert.equal(ref.unboxBody(boxed, null), null)
  }
  // deliberate difference: no `_exchangeKey` written onto the caller's key object
  const keys = { ...alice }
  ours.unbox(mine, keys)
  assert.deepEqual(Object.keys(keys), ['curve', 'public', 'private', 'id'])
})

test('createSync/loadSync: reference layout, reference reads ours, {path} form', () => {
  const path = fresh()
  const keys = ours.createSync(path)
  assert.deepEqual(ref.loadSync(path), keys)
  assert.deepEqual(ours.loadSync(path), keys)
  assert.equal(
    fs.readFileSync(path, 'utf8'),
    secretFixture.json.text
      .replaceAll(secretFixture.json.keys.public, keys.public)
      .replaceAll(secretFixture.json.keys.private, keys.private),
  )
  assert.equal(fs.statSync(path).mode & 0o777, 0o400)
  assert.deepEqual(ours.loadSync({ path: join(path, '..') }), keys)
  const refPath = fresh()
  const refKeys = ref.createSync(refPath)
  assert.deepEqual(ours.loadSync(refPath), refKeys)
  assert.throws(() => ours.createSync(path), SecretFileExistsError)
  assert.throws(() => ref.createSync(path), /EEXIST/)
  assert.throws(() => ours.createSync(fresh(), 'k256'), UnsupportedCurveError)
  const legacyPath = fresh()
  const legacyKeys = ours.createSync(legacyPath, null, true)
  assert.deepEqual(ours.loadSync(legacyPath), legacyKeys)
})

test('loadSync keeps extra fields and fixes a sigil-less id, as the reference', () => {
  const keys = ours.generate('ed25519', 'extra')
  const text = ours
    .formatSecretFile(keys)
    .replace(`"id": "${keys.id}"`, `"id": "${keys.public}",\n  "note": "mine"`)
  const path = fresh()
  fs.mkdirSync(join(path, '..'))
  fs.writeFileSync(path, text)
  assert.deepEqual(ours.loadSync(path), ref.loadSync(path))
  assert.equal((ours.loadSync(path) as Keys & { note: string }).note, 'mine')
})

test('loadOrCreateSync creates when missing, loads after, refuses broken files', () => {
  const path = fresh()
  const keys = ours.loadOrCreateSync(path)
  assert.deepEqual(ours.loadOrCreateSync(path), keys)
  assert.deepEqual(ref.loadOrCreateSync(path), keys)
  const broken: [string, string | Buffer, new (...a: never[]) => Error][] = [
    ['empty', '', CorruptSecretFileError],
    ['truncated', secretFixture.json.text.slice(0, 400), CorruptSecretFileError],
    [
      'mismatch',
      secretFixture.json.text.replace(/"public": "[^"]+"/, `"public": "${keys.public}"`),
      SecretKeyMismatchError,
    ],
  ]
  for (const [name, text, expected] of broken) {
    const file = fresh()
    fs.mkdirSync(join(file, '..'))
    fs.writeFileSync(file, text)
    assert.throws(() => ours.loadOrCreateSync(file), expected, name)
    assert.throws(() => ours.loadSync(file), expected, name)
    assert.deepEqual(fs.readFileSync(file), Buffer.from(text), name)
  }
  const dir = fresh()
  fs.mkdirSync(dir, { recursive: true })
  assert.throws(() => ours.loadOrCreateSync(dir), SecretFileUnreadableError)
})

test('the reference, unlike us, returns undefined for a corrupt file', () => {
  const file = fresh()
  fs.mkdirSync(join(file, '..'))
  fs.writeFileSync(file, '')
  const original = console.error
  console.error = () => {}
  try {
    assert.equal(ref.loadOrCreateSync(file), undefined)
  } finally {
    console.error = original
  }
})

test('callback forms: create, load, loadOrCreate', async () => {
  const call = <T>(fn: (cb: (err: Error | null, value?: T) => void) => void) =>
    new Promise<T | undefined>((resolve, reject) =>
      fn((err, value) => (err ? reject(err) : resolve(value))),
    )
  const path = fresh()
  await assert.rejects(
    call<Keys>((cb) => ours.load(path, cb)),
    SecretFileNotFoundError,
  )
  const created = await call<Keys>((cb) => ours.loadOrCreate(path, cb))
  assert.deepEqual(await call<Keys>((cb) => ours.load(path, cb)), created)
  assert.deepEqual(await call<Keys>((cb) => ours.loadOrCreate(path, cb)), created)
  assert.deepEqual(await call<Keys>((cb) => ref.load(path, cb)), created)
  await assert.rejects(
    call<Keys>((cb) => ours.create(path, cb)),
    SecretFileExistsError,
  )
  const other = fresh()
  const made = await call<Keys>((cb) => ours.create(other, 'ed25519', cb))
  assert.deepEqual(ref.loadSync(other), made)
  const legacy = fresh()
  const legacyKeys = await call<Keys>((cb) => ours.create(legacy, null, true, cb))
  assert.deepEqual(ours.loadSync(legacy), legacyKeys)
  const corrupt = fresh()
  fs.mkdirSync(join(corrupt, '..'))
  fs.writeFileSync(corrupt, '# only a comment')
  await assert.rejects(
    call<Keys>((cb) => ours.loadOrCreate(corrupt, cb)),
    CorruptSecretFileError,
  )
  assert.equal(fs.readFileSync(corrupt, 'utf8'), '# only a comment')
})
