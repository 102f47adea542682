import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import {
  boxedLength,
  encrypt,
  multibox,
  multiboxOpen,
  multiboxOpenBody,
  multiboxOpenKey,
} from '@scuttlekit/private-box'

const require = createRequire(import.meta.url)
interface RefKeyPair {
  publicKey: Buffer
  secretKey: Buffer
}
const ref = require('private-box') as {
  multibox(msg: Buffer, recipients: Buffer[], max?: number): Buffer
  multibox_open(ctxt: Buffer, sk: Buffer, max?: number): Buffer | undefined
  multibox_open_key(ctxt: Buffer, sk: Buffer, max?: number): Buffer | null | undefined
  multibox_open_body(ctxt: Buffer, key: Buffer): Buffer | undefined
}
const chloride = require('chloride') as {
  crypto_box_keypair(): RefKeyPair
  randombytes(buf: Buffer): void
}

const keypairs = (n: number): RefKeyPair[] =>
  Array.from({ length: n }, () => chloride.crypto_box_keypair())
const randomBytes = (n: number): Buffer => {
  const buf = Buffer.alloc(n)
  chloride.randombytes(buf)
  return buf
}

for (let n = 1; n <= 7; n++) {
  test(`we box to ${n} recipient(s), the reference opens it for each, not for an outsider`, () => {
    const keys = keypairs(n)
    const plaintext = randomBytes(100 * n)
    const boxed = multibox(
      plaintext,
      keys.map((k) => k.publicKey),
    )
    assert.equal(boxed.length, boxedLength(plaintext.length, n))
    assert.equal(boxed.length, 24 + 32 + 49 * n + plaintext.length + 16)
    for (const k of keys) {
      assert.deepEqual(ref.multibox_open(boxed, k.secretKey), plaintext)
      assert.deepEqual(
        ref.multibox_open_key(boxed, k.secretKey),
        multiboxOpenKey(boxed, k.secretKey),
      )
    }
    assert.equal(ref.multibox_open(boxed, keypairs(1)[0]!.secretKey), undefined)
  })

  test(`the reference boxes to ${n} recipient(s), we open it for each, not for an outsider`, () => {
    const keys = keypairs(n)
    const plaintext = randomBytes(100 * n)
    const boxed = ref.multibox(
      plaintext,
      keys.map((k) => k.publicKey),
    )
    for (const k of keys) {
      assert.deepEqual(multiboxOpen(boxed, k.secretKey), plaintext)
      const key = multiboxOpenKey(boxed, k.secretKey)
      assert.deepEqual(key, ref.multibox_open_key(boxed, k.secretKey))
      assert.deepEqual(multiboxOpenBody(boxed, key!), plaintext)
    }
    assert.equal(multiboxOpen(boxed, keypairs(1)[0]!.secretKey), undefined)
  })
}

test('we box to 8 with max 8; the reference and we open it at the default max (8 slots)', () => {
  const keys = keypairs(8)
  const plaintext = Buffer.from('eight')
  const boxed = multibox(
    plaintext,
    keys.map((k) => k.publicKey),
    8,
  )
  for (const k of keys) {
    assert.deepEqual(ref.multibox_open(boxed, k.secretKey), plaintext)
    assert.deepEqual(multiboxOpen(boxed, k.secretKey), plaintext)
  }
})

test('we box to 255 recipients with max 255; the reference opens it with max 255', () => {
  const keys = keypairs(255)
  const plaintext = Buffer.from('many')
  const boxed = multibox(
    plaintext,
    keys.map((k) => k.publicKey),
    255,
  )
  for (const k of [keys[0]!, keys[128]!, keys[254]!]) {
    assert.deepEqual(ref.multibox_open(boxed, k.secretKey, 255), plaintext)
    assert.deepEqual(multiboxOpen(boxed, k.secretKey, 255), plaintext)
  }
})

test('an empty plaintext round-trips both ways', () => {
  const [k] = keypairs(1)
  const empty = Buffer.alloc(0)
  assert.deepEqual(ref.multibox_open(multibox(empty, [k!.publicKey]), k!.secretKey), empty)
  assert.deepEqual(multiboxOpen(ref.multibox(empty, [k!.publicKey]), k!.secretKey), empty)
})

test('encrypt is multibox with a falsy max meaning 7, as in the reference', () => {
  const keys = keypairs(7)
  const boxed = encrypt(
    Buffer.from('x'),
    keys.map((k) => k.publicKey),
    0,
  )
  assert.deepEqual(ref.multibox_open(boxed, keys[6]!.secretKey), Buffer.from('x'))
})

test('two boxes of the same plaintext differ (random nonce, one-time key and body key)', () => {
  const [k] = keypairs(1)
  const a = multibox(Buffer.from('same'), [k!.publicKey])
  const c = multibox(Buffer.from('same'), [k!.publicKey])
  assert.notDeepEqual(a.subarray(0, 24), c.subarray(0, 24))
  assert.notDeepEqual(a.subarray(24, 56), c.subarray(24, 56))
  assert.notDeepEqual(multiboxOpenKey(a, k!.secretKey), multiboxOpenKey(c, k!.secretKey))
})

test('a bit flip in the nonce, the one-time key or the body: nobody opens it', () => {
  const keys = keypairs(3)
  const boxed = multibox(
    Buffer.from('secret'),
    keys.map((k) => k.publicKey),
  )
  for (const at of [0, 23, 24, 55, 56 + 49 * 3, boxed.length - 1]) {
    const bad = Buffer.from(boxed)
    bad[at]! ^= 1
    for (const k of keys) {
      assert.equal(multiboxOpen(bad, k.secretKey), undefined, `flip at ${at}`)
      assert.equal(ref.multibox_open(bad, k.secretKey), undefined, `reference, flip at ${at}`)
    }
  }
})

test('a bit flip in slot k: only recipient k fails', () => {
  const keys = keypairs(4)
  const plaintext = Buffer.from('slots')
  const boxed = multibox(
    plaintext,
    keys.map((k) => k.publicKey),
  )
  for (let slot = 0; slot < 4; slot++) {
    const bad = Buffer.from(boxed)
    bad[56 + 49 * slot + 20]! ^= 0x80
    keys.forEach((k, i) => {
      assert.deepEqual(multiboxOpen(bad, k.secretKey), i === slot ? undefined : plaintext)
    })
  }
})
