import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { generateKeys, messageId, signObject, verifyObject } from '@scuttlekit/ssb-keys'

const require = createRequire(import.meta.url)
const ref = require('ssb-keys') as {
  generate(curve?: string, seed?: Buffer): { id: string; public: string; private: string }
  signObj(keys: object, hmac: string | null, obj: object): Record<string, unknown>
  verifyObj(keys: object, hmac: string | null, obj: object): boolean
  hash(data: string): string
}

test('seeded keys equal the reference', () => {
  const seed = Buffer.alloc(32, 7)
  const ours = generateKeys(seed)
  const theirs = ref.generate('ed25519', seed)
  assert.equal(ours.id, theirs.id)
  assert.equal(ours.private, theirs.private)
  assert.equal(ours.public, theirs.public)
})

test('signatures and ids agree with the reference, non-ASCII included', () => {
  const keys = generateKeys(Buffer.alloc(32, 1))
  const value = {
    previous: null,
    sequence: 1,
    author: keys.id,
    timestamp: 1700000000000.5,
    hash: 'sha256',
    content: { type: 'post', text: 'Grüße € 🐢 \ud800 lone' },
  }
  const ours = signObject(keys, value)
  const theirs = ref.signObj(keys, null, value)
  assert.deepEqual(ours, theirs)
  assert.equal(messageId(ours), `%${ref.hash(JSON.stringify(theirs, null, 2))}`)
  assert.ok(verifyObject(keys.id, ours))
  assert.ok(ref.verifyObj(keys, null, ours))
  const hmac = Buffer.alloc(32, 9).toString('base64')
  const ourHmac = signObject(keys, value, hmac)
  assert.deepEqual(ourHmac, ref.signObj(keys, hmac, value))
  assert.ok(verifyObject(keys, ourHmac, hmac))
  assert.equal(verifyObject(keys, ourHmac), false)
})

test('verifyObject rejects junk without throwing', () => {
  for (const junk of [null, 1, 'x', [], {}, { signature: 5 }, { signature: 'AAAA.sig.ed25519' }]) {
    assert.equal(verifyObject('@AAAA.ed25519', junk), false)
  }
})
