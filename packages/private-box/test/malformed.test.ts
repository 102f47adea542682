import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import {
  InvalidMaxRecipientsError,
  InvalidPlaintextError,
  InvalidRecipientKeyError,
  multibox,
  multibox_open,
  multibox_open_body,
  multiboxOpen,
  multiboxOpenBody,
  multiboxOpenKey,
  NoRecipientsError,
  TooManyRecipientsError,
} from '@scuttlekit/private-box'
import sodium from 'sodium-native'

const require = createRequire(import.meta.url)
const ref = require('private-box') as {
  multibox(msg: Buffer, recipients: unknown[], max?: number): Buffer
  multibox_open(ctxt: unknown, sk: unknown, max?: number): Buffer | undefined
  multibox_open_key(ctxt: unknown, sk: unknown, max?: number): Buffer | null | undefined
  multibox_open_body(ctxt: unknown, key: unknown): Buffer | undefined
}

function curveKeypair(): { pk: Buffer; sk: Buffer } {
  const pk = Buffer.alloc(32)
  const sk = Buffer.alloc(32)
  sodium.crypto_box_keypair(pk, sk)
  return { pk, sk }
}

/**
 * A hostile sender: a box laid out as §5.2 but with a chosen count byte in every header and,
 * optionally, a chosen one-time public key written over the real one afterwards.
 */
function craft(plaintext: Buffer, pks: Buffer[], countByte: number): Buffer {
  const nonce = Buffer.alloc(24)
  sodium.randombytes_buf(nonce)
  const eph = curveKeypair()
  const unboxKey = Buffer.alloc(33)
  unboxKey[0] = countByte
  sodium.randombytes_buf(unboxKey.subarray(1))
  const parts = [nonce, eph.pk]
  for (const pk of pks) {
    const shared = Buffer.alloc(32)
    sodium.crypto_scalarmult(shared, eph.sk, pk)
    const slot = Buffer.alloc(49)
    sodium.crypto_secretbox_easy(slot, unboxKey, nonce, shared)
    parts.push(slot)
  }
  const body = Buffer.alloc(plaintext.length + 16)
  sodium.crypto_secretbox_easy(body, plaintext, nonce, unboxKey.subarray(1))
  parts.push(body)
  return Buffer.concat(parts)
}

// Curve25519 points of small order (and their non-canonical encodings): X25519 with any of them
// gives the all-zero secret, which libsodium refuses.
const lowOrderPoints = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => Buffer.from(hex, 'hex'))

const me = curveKeypair()

test('empty, 1-byte and 55-byte boxes: the reference throws, we say "not for me"', () => {
  for (const len of [0, 1, 55]) {
    const junk = Buffer.alloc(len, 7)
    assert.throws(() => ref.multibox_open(junk, me.sk), `reference, length ${len}`)
    assert.equal(multiboxOpen(junk, me.sk), undefined)
    assert.equal(multiboxOpenKey(junk, me.sk), undefined)
    assert.equal(multibox_open(junk, me.sk), undefined)
  }
})

test('a low-order one-time key: the reference throws, we say "not for me"', () => {
  const good = multibox(Buffer.from('hi'), [me.pk])
  for (const point of lowOrderPoints) {
    const bad = Buffer.from(good)
    point.copy(bad, 24)
    assert.throws(() => ref.multibox_open(bad, me.sk), /failed to derive shared secret/)
    assert.equal(multiboxOpen(bad, me.sk), undefined)
    assert.equal(multiboxOpenKey(bad, me.sk), undefined)
  }
  // an all-zero message of plausible length: zero nonce and a zero (low-order) key
  assert.throws(() => ref.multibox_open(Buffer.alloc(200), me.sk))
  assert.equal(multiboxOpen(Buffer.alloc(200), me.sk), undefined)
})

test('a count byte of 255 pointing past the end: the reference throws, we say "not for me"', () => {
  const bad = craft(Buffer.from('lie'), [me.pk], 255)
  const key = multiboxOpenKey(bad, me.sk)
  assert.equal(key?.[0], 255, 'the header opens and carries the lie')
  assert.throws(() => ref.multibox_open(bad, me.sk), RangeError)
  assert.equal(multiboxOpen(bad, me.sk), undefined)
  assert.equal(multiboxOpenBody(bad, key!), undefined)
})

test('count bytes that point just past the end or inside the headers give "not for me"', () => {
  const pks = [me.pk, curveKeypair().pk, curveKeypair().pk]
  // 3 headers + 3-byte body + MAC: the body is 19 bytes, so 4 headers would leave 0 body bytes
  for (const count of [0, 1, 2, 4, 5, 7, 8, 100]) {
    const bad = craft(Buffer.from('lie'), pks, count)
    assert.equal(multiboxOpen(bad, me.sk), undefined, `count ${count}`)
    // the reference opens nothing either; past the end it throws
    let refResult: unknown
    try {
      refResult = ref.multibox_open(bad, me.sk)
    } catch {
      refResult = undefined
    }
    assert.equal(refResult, undefined)
  }
  // the honest count still opens, so the crafting is right
  assert.deepEqual(multiboxOpen(craft(Buffer.from('ok'), pks, 3), me.sk), Buffer.from('ok'))
})

test('a count byte that lies but leaves the body in place still opens, as in the reference', () => {
  // count 1 while 2 headers were written: the body box starts inside slot 1, so it fails
  const pks = [me.pk, curveKeypair().pk]
  const bad = craft(Buffer.from('x'), pks, 1)
  assert.equal(multiboxOpen(bad, me.sk), undefined)
  assert.equal(ref.multibox_open(bad, me.sk), undefined)
})

test('every truncation of a box: never throws; only the whole box opens', () => {
  const plaintext = Buffer.from('truncate me')
  const pks = [curveKeypair().pk, me.pk, curveKeypair().pk]
  const boxed = multibox(plaintext, pks)
  for (let len = 0; len < boxed.length; len++) {
    const cut = boxed.subarray(0, len)
    assert.equal(multiboxOpen(cut, me.sk), undefined, `length ${len}`)
    assert.equal(multiboxOpenBody(cut, multiboxOpenKey(boxed, me.sk)!), undefined)
  }
  assert.deepEqual(multiboxOpen(boxed, me.sk), plaintext)
})

test('arguments that are not bytes: the reference throws, we say "not for me"', () => {
  const boxed = multibox(Buffer.from('hi'), [me.pk])
  const key = multiboxOpenKey(boxed, me.sk)!
  const junk: unknown[] = [null, undefined, 'abc', boxed.toString('base64'), 42, {}, [1, 2, 3]]
  for (const value of junk) {
    assert.throws(() => ref.multibox_open(value, me.sk))
    assert.equal(multiboxOpen(value as Uint8Array, me.sk), undefined)
    assert.equal(multiboxOpen(boxed, value as Uint8Array), undefined)
    assert.equal(multiboxOpenBody(value as Uint8Array, key), undefined)
    assert.equal(multiboxOpenBody(boxed, value as Uint8Array), undefined)
  }
  // a secret key of the wrong length (e.g. the 64-byte ed25519 one)
  assert.throws(() => ref.multibox_open(boxed, Buffer.alloc(64, 1)))
  assert.equal(multiboxOpen(boxed, Buffer.alloc(64, 1)), undefined)
  // an unbox key that is not 33 bytes
  assert.throws(() => ref.multibox_open_body(boxed, Buffer.alloc(5)))
  assert.equal(multiboxOpenBody(boxed, Buffer.alloc(5)), undefined)
  assert.equal(multiboxOpenBody(boxed, key.subarray(0, 32)), undefined)
  assert.equal(multibox_open_body(boxed, null), undefined)
  assert.equal(multiboxOpen(new Uint8Array(boxed), new Uint8Array(me.sk))?.toString(), 'hi')
})

test('random garbage of every length up to 600 bytes never throws', () => {
  for (let len = 0; len <= 600; len++) {
    const junk = Buffer.alloc(len)
    sodium.randombytes_buf(junk)
    assert.equal(multiboxOpen(junk, me.sk), undefined)
    assert.equal(multiboxOpenBody(junk, junk.subarray(0, 33)), undefined)
  }
})

test('more recipients than max: TooManyRecipientsError with the reference message', () => {
  const pks = Array.from({ length: 8 }, () => me.pk)
  assert.throws(() => ref.multibox(Buffer.from('x'), pks), {
    message: 'max recipients is:7 found:8',
  })
  assert.throws(() => multibox(Buffer.from('x'), pks), {
    name: 'TooManyRecipientsError',
    message: 'max recipients is:7 found:8',
  })
  assert.throws(() => multibox(Buffer.from('x'), pks.slice(0, 3), 2), TooManyRecipientsError)
})

test('no recipients: the reference makes an unopenable box, we throw NoRecipientsError', () => {
  assert.equal(ref.multibox(Buffer.from('x'), []).length, 24 + 32 + 1 + 16)
  assert.throws(() => multibox(Buffer.from('x'), []), NoRecipientsError)
  assert.throws(() => multibox(Buffer.from('x'), []), { name: 'NoRecipientsError' })
})

test('a recipient key that is not 32 bytes or is low order: InvalidRecipientKeyError', () => {
  assert.throws(() => ref.multibox(Buffer.from('x'), [Buffer.alloc(31)]))
  assert.throws(() => multibox(Buffer.from('x'), [me.pk, Buffer.alloc(31)]), {
    name: 'InvalidRecipientKeyError',
    message: 'recipient 1: a Curve25519 public key has 32 bytes',
  })
  const notBytes = ['abc'] as unknown as Uint8Array[]
  assert.throws(() => multibox(Buffer.from('x'), notBytes), InvalidRecipientKeyError)
  for (const point of lowOrderPoints) {
    assert.throws(() => ref.multibox(Buffer.from('x'), [point]), /failed to derive shared secret/)
    assert.throws(() => multibox(Buffer.from('x'), [me.pk, point]), {
      name: 'InvalidRecipientKeyError',
      message: 'recipient 1: a low-order point gives no shared secret',
    })
  }
})

test('max outside 1..255: InvalidMaxRecipientsError, on boxing and opening', () => {
  for (const max of [0, -1, 256, 1.5, Number.NaN]) {
    assert.throws(() => multibox(Buffer.from('x'), [me.pk], max), InvalidMaxRecipientsError)
    assert.throws(() => multiboxOpen(Buffer.alloc(200), me.sk, max), {
      name: 'InvalidMaxRecipientsError',
    })
  }
  assert.throws(() => ref.multibox(Buffer.from('x'), [me.pk], 256))
})

test('a plaintext that is not bytes: InvalidPlaintextError', () => {
  assert.throws(() => multibox('x' as unknown as Uint8Array, [me.pk]), InvalidPlaintextError)
})

test('errors are ScuttlekitErrors whose name is the class name', async () => {
  const { ScuttlekitError } = await import('@scuttlekit/ssb-ref')
  const err = new TooManyRecipientsError(7, 9)
  assert.ok(err instanceof ScuttlekitError)
  assert.equal(err.name, 'TooManyRecipientsError')
  assert.equal(err.max, 7)
  assert.equal(err.found, 9)
})
