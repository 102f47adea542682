import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { multibox, multiboxOpen } from '@scuttlekit/private-box'
import {
  boxContent,
  generateKeys,
  type Keys,
  unboxBodyWithKey,
  unboxContent,
  unboxKeyOf,
} from '@scuttlekit/ssb-keys'
import sodium from 'sodium-native'

const require = createRequire(import.meta.url)
interface RefKeys {
  id: string
  public: string
  private: string
  curve: string
}
const ref = require('ssb-keys') as {
  generate(): RefKeys
  box(content: unknown, recipients: unknown): string
  unbox(boxed: unknown, keys: unknown): unknown
  unboxKey(boxed: unknown, keys: unknown): Buffer | null | undefined
  unboxBody(boxed: unknown, key: unknown): unknown
}

const content = {
  type: 'post',
  text: 'Grüße € 🐢 \ud800',
  recps: [] as string[],
  nested: { a: [1, 2.5, null, true] },
}

/** The raw box bytes of a `.box` string. */
const raw = (boxed: string): Buffer => Buffer.from(boxed.slice(0, boxed.indexOf('.')), 'base64')
const reencode = (bytes: Buffer): string => `${bytes.toString('base64')}.box`

for (let n = 1; n <= 7; n++) {
  test(`we box to ${n} feed(s); npm ssb-keys unbox, unboxKey and unboxBody agree`, () => {
    const keys = Array.from({ length: n }, (_, i) => (i % 2 ? generateKeys() : ref.generate()))
    const body = { ...content, recps: keys.map((k) => k.id) }
    const boxed = boxContent(
      body,
      keys.map((k) => k.id),
    )
    assert.match(boxed, /^[A-Za-z0-9+/]+=*\.box$/)
    assert.equal(raw(boxed).length, 56 + 49 * n + Buffer.byteLength(JSON.stringify(body)) + 16)
    for (const k of keys) {
      assert.deepEqual(ref.unbox(boxed, k), body)
      const key = unboxKeyOf(boxed, k)
      assert.deepEqual(ref.unboxKey(boxed, k), key)
      assert.deepEqual(ref.unboxBody(boxed, key), body)
      assert.deepEqual(ref.unboxBody(boxed, key!.toString('base64')), body)
    }
    assert.equal(ref.unbox(boxed, ref.generate()), undefined)
  })

  test(`npm ssb-keys boxes to ${n} feed(s); we unbox it for each, not for an outsider`, () => {
    const keys = Array.from({ length: n }, (_, i) => (i % 2 ? ref.generate() : generateKeys()))
    const boxed = ref.box(
      content,
      keys.map((k) => k.id),
    )
    for (const k of keys) {
      assert.deepEqual(unboxContent(boxed, k), content)
      const key = unboxKeyOf(boxed, k)
      assert.deepEqual(key, ref.unboxKey(boxed, k))
      assert.deepEqual(unboxBodyWithKey(boxed, key!), content)
      assert.deepEqual(unboxBodyWithKey(boxed, key!.toString('base64')), content)
    }
    const outsider = generateKeys()
    assert.equal(unboxContent(boxed, outsider), undefined)
    assert.equal(unboxKeyOf(boxed, outsider), undefined)
  })
}

test('recipients may be ids with or without the sigil, or key objects', () => {
  const [a, b, c] = [generateKeys(), generateKeys(), generateKeys()]
  const boxed = boxContent({ type: 'x' }, [a.id, b.public, { public: c.public }])
  for (const k of [a, b, c]) assert.deepEqual(ref.unbox(boxed, k), { type: 'x' })
})

test('the plaintext is compact JSON in UTF-8, as npm ssb-keys makes it', () => {
  const k = generateKeys()
  const boxed = boxContent(content, [k.id])
  const sk = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(sk, Buffer.from(k.private.slice(0, -8), 'base64'))
  const plaintext = multiboxOpen(raw(boxed), sk)
  assert.equal(plaintext?.toString('utf8'), JSON.stringify(content))
  assert.equal(unboxBodyWithKey(boxed, Buffer.alloc(33)), undefined, 'a zero key opens nothing')
})

test('the boxed string opens without its .box suffix, or with junk after the first dot', () => {
  const k = generateKeys()
  const boxed = ref.box(content, [k.id])
  const bare = boxed.slice(0, -4)
  assert.deepEqual(unboxContent(bare, k), content)
  assert.deepEqual(ref.unbox(bare, k), content)
  assert.deepEqual(unboxContent(`${bare}.boxx`, k), content)
  assert.deepEqual(unboxContent(raw(boxed), k), content, 'raw bytes too')
})

test('poison boxes: npm unboxKey throws, we say "not for me" everywhere', () => {
  const k = generateKeys()
  const good = raw(ref.box(content, [k.id]))
  const lowOrder = Buffer.from(good)
  lowOrder.fill(0, 24, 56)
  const poison = ['.box', 'QQ==.box', '', 'AAAA', 'QUJD.boxx', '.box2', reencode(lowOrder)]
  for (const boxed of poison) {
    assert.throws(() => ref.unboxKey(boxed, k), `reference unboxKey(${boxed.slice(0, 12)})`)
    assert.equal(ref.unbox(boxed, k), undefined)
    assert.equal(unboxContent(boxed, k), undefined)
    assert.equal(unboxKeyOf(boxed, k), undefined)
  }
  // a one-byte box
  assert.equal(unboxContent(Buffer.from([0x41]), k), undefined)
  assert.equal(unboxKeyOf(reencode(Buffer.alloc(200)), k), undefined)
})

test('boxed values that are not strings: npm throws on some, we say "not for me"', () => {
  const k = generateKeys()
  assert.throws(() => ref.unbox({}, k))
  assert.throws(() => ref.unboxKey(null, k))
  for (const value of [null, undefined, {}, 42, ['QQ==.box']]) {
    assert.equal(unboxContent(value as unknown as string, k), undefined)
    assert.equal(unboxKeyOf(value as unknown as string, k), undefined)
    assert.equal(unboxBodyWithKey(value as unknown as string, Buffer.alloc(33)), undefined)
  }
})

test('unbox keys that lie or are junk: npm unboxBody throws, we say "not for me"', () => {
  const k = generateKeys()
  const boxed = ref.box(content, [k.id])
  const key = unboxKeyOf(boxed, k)!
  const lying = Buffer.from(key)
  lying[0] = 255
  assert.throws(() => ref.unboxBody(boxed, lying), RangeError)
  assert.throws(() => ref.unboxBody(boxed, 'abc'), RangeError)
  assert.equal(unboxBodyWithKey(boxed, lying), undefined)
  assert.equal(unboxBodyWithKey(boxed, 'abc'), undefined)
  assert.equal(unboxBodyWithKey(boxed, ''), undefined)
  assert.equal(unboxBodyWithKey(boxed, key.subarray(0, 32)), undefined)
  assert.equal(unboxBodyWithKey(boxed, 42 as unknown as string), undefined)
  // the right key as a `?unbox=` link value, with a suffix after the dot
  assert.deepEqual(unboxBodyWithKey(boxed, `${key.toString('base64')}.boxs`), content)
  assert.deepEqual(ref.unboxBody(boxed, `${key.toString('base64')}.boxs`), content)
})

test('a box whose plaintext is not JSON: undefined from both', () => {
  const k = generateKeys()
  const curve = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_pk_to_curve25519(curve, Buffer.from(k.public.slice(0, -8), 'base64'))
  for (const text of ['not json', '{"a":', '', '\xff\xfe']) {
    const boxed = reencode(multibox(Buffer.from(text, 'latin1'), [curve]))
    assert.equal(ref.unbox(boxed, k), undefined)
    assert.equal(unboxContent(boxed, k), undefined)
    assert.equal(unboxBodyWithKey(boxed, unboxKeyOf(boxed, k)!), undefined)
  }
  // JSON null is a valid plaintext: both return null
  const nullBox = reencode(multibox(Buffer.from('null'), [curve]))
  assert.equal(ref.unbox(nullBox, k), null)
  assert.equal(unboxContent(nullBox, k), null)
})

test('recipients that are not ed25519 feed keys: InvalidFeedIdError', () => {
  const k = generateKeys()
  const zero = Buffer.alloc(32).toString('base64')
  const identity = Buffer.from(`01${'00'.repeat(31)}`, 'hex').toString('base64')
  const msgId = `%${k.public.slice(0, -8)}.sha256`
  // the reference boxes to a message id as if it were a feed key; we refuse
  assert.equal(typeof ref.box({}, [msgId]), 'string')
  const bad: unknown[] = [
    '@foo.ed25519',
    msgId,
    `@${k.public.slice(0, -8)}.sha256`,
    `@${k.public.slice(0, -8)}xed25519`,
    `@${zero}.ed25519`,
    `@${identity}.ed25519`,
    k.public.slice(0, -8),
    { public: 'nope' },
    { id: k.id },
    null,
    42,
  ]
  for (const r of bad) {
    assert.throws(() => boxContent({}, [k.id, r as string]), { name: 'InvalidFeedIdError' })
  }
  assert.throws(() => ref.box({}, [`@${zero}.ed25519`]))
})

test('more than 7 or no recipients, a non-array, content with no JSON form: named errors', () => {
  const k = generateKeys()
  assert.throws(() => boxContent({}, Array(8).fill(k.id)), {
    name: 'TooManyRecipientsError',
    message: 'max recipients is:7 found:8',
  })
  assert.throws(() => ref.box({}, Array(8).fill(k.id)), { message: 'max recipients is:7 found:8' })
  assert.throws(() => boxContent({}, []), { name: 'NoRecipientsError' })
  assert.throws(() => boxContent({}, k.id as unknown as string[]), TypeError)
  assert.throws(() => boxContent(undefined, [k.id]), TypeError)
  assert.throws(() => boxContent(1n, [k.id]), TypeError)
})

test('the curve secret is cached per key object and follows a changed private key', () => {
  const a = generateKeys()
  const b = generateKeys()
  const toB = boxContent({ to: 'b' }, [b.id])
  const holder: Pick<Keys, 'private'> = { private: a.private }
  assert.equal(unboxContent(toB, holder), undefined)
  holder.private = b.private
  assert.deepEqual(unboxContent(toB, holder), { to: 'b' })
  assert.deepEqual(unboxContent(toB, holder), { to: 'b' })
})
