// Blob ids (ssb-protocol.md §6.1): the canonical-form check, and the conversions between ids,
// digests and bytes, with npm ssb-ref's isBlob as the oracle for what the network accepts.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import {
  BLOB_ID_LENGTH,
  blobIdOf,
  blobIdOfDigest,
  digestOfBlobId,
  EMPTY_BLOB_ID,
  isValidBlobId,
} from '../src/blob-id.js'

const require = createRequire(import.meta.url)
const ref = require('ssb-ref') as { isBlob(v: unknown): boolean }

const HELLO = '&LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=.sha256'

function sha256(bytes: Uint8Array | string): Buffer {
  return createHash('sha256').update(bytes).digest()
}

test('the empty blob id is the hash of zero bytes', () => {
  assert.equal(EMPTY_BLOB_ID, '&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256')
  assert.equal(blobIdOf(''), EMPTY_BLOB_ID)
  assert.equal(blobIdOf(new Uint8Array(0)), EMPTY_BLOB_ID)
  assert.equal(EMPTY_BLOB_ID.length, BLOB_ID_LENGTH)
  assert.ok(isValidBlobId(EMPTY_BLOB_ID))
})

test('blobIdOf hashes bytes, and strings as UTF-8', () => {
  assert.equal(blobIdOf('hello'), HELLO)
  assert.equal(blobIdOf(Buffer.from('hello')), HELLO)
  assert.equal(blobIdOf('é ☃'), `&${sha256(Buffer.from('é ☃', 'utf8')).toString('base64')}.sha256`)
  assert.notEqual(blobIdOf('é'), blobIdOf(Buffer.from('é', 'latin1')))
})

test('digest ↔ id round trips, also for a digest that is a view into a larger buffer', () => {
  for (let i = 0; i < 200; i++) {
    const digest = randomBytes(32)
    const id = blobIdOfDigest(digest)
    assert.equal(id.length, BLOB_ID_LENGTH)
    assert.ok(isValidBlobId(id), id)
    assert.ok(ref.isBlob(id), id)
    assert.deepEqual(digestOfBlobId(id), digest)
  }
  const big = randomBytes(100)
  const view = big.subarray(7, 39)
  assert.deepEqual(digestOfBlobId(blobIdOfDigest(view)), Buffer.from(view))
  const u8 = new Uint8Array(big.buffer, big.byteOffset + 50, 32)
  assert.deepEqual(digestOfBlobId(blobIdOfDigest(u8)), Buffer.from(u8))
})

test('blobIdOfDigest refuses a digest that is not 32 bytes', () => {
  assert.throws(() => blobIdOfDigest(new Uint8Array(31)), RangeError)
  assert.throws(() => blobIdOfDigest(new Uint8Array(33)), RangeError)
  assert.throws(() => blobIdOfDigest(new Uint8Array(0)), RangeError)
})

test('only the canonical form is valid', () => {
  const b64 = HELLO.slice(1, 45)
  const bad: unknown[] = [
    // `_sha256`, `xsha256`: npm ssb-ref accepts them (unescaped `.`), we do not
    HELLO.replace('.sha256', '_sha256'),
    HELLO.replace('.sha256', 'xsha256'),
    // non-canonical base64: the last character before `=` carries padding bits
    `&${b64.slice(0, 42)}D=.sha256`,
    `&${b64.slice(0, 42)}V=.sha256`,
    // wrong sigil, suffix, length, padding, alphabet
    `%${b64}.sha256`,
    `@${b64}.ed25519`,
    `&${b64}.ed25519`,
    `&${b64}.sha25`,
    `&${b64}.sha2566`,
    `&${b64}`,
    b64,
    HELLO.slice(1),
    `&${b64.slice(0, 43)}.sha256`,
    `&A${b64}.sha256`,
    `&${b64.slice(0, 42)}==.sha256`,
    `&${b64.slice(0, 20)}-${b64.slice(21)}.sha256`,
    `&${b64.slice(0, 20)}_${b64.slice(21)}.sha256`,
    `${HELLO}\n`,
    ` ${HELLO}`,
    HELLO.toUpperCase(),
    // path tricks
    '&../../../../etc/passwd',
    `&../../${b64.slice(6)}.sha256`,
    `&${b64.slice(0, 40)}/../=.sha256`,
    // not strings
    null,
    undefined,
    0,
    52,
    {},
    [HELLO],
    { toString: () => HELLO },
    Buffer.from(HELLO),
    new String(HELLO),
  ]
  assert.ok(isValidBlobId(HELLO))
  for (const value of bad) {
    assert.equal(isValidBlobId(value), false, String(value))
    assert.throws(
      () => digestOfBlobId(value as string),
      (err: Error) => err.name === 'InvalidBlobIdError',
      String(value),
    )
  }
  // the ones npm ssb-ref lets through are only the unescaped-dot quirk
  const refAccepts = bad.filter((v) => ref.isBlob(v))
  assert.deepEqual(refAccepts, [bad[0], bad[1]])
})

test('every id we accept, npm ssb-ref accepts too', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const b64 = HELLO.slice(1, 43)
  for (const c of alphabet) {
    const id = `&${b64}${c}=.sha256`
    assert.equal(isValidBlobId(id), ref.isBlob(id), id)
    if (isValidBlobId(id)) assert.equal(blobIdOfDigest(digestOfBlobId(id)), id)
  }
})
