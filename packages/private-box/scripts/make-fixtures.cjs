// Makes test/fixtures/*.json with npm private-box 0.3.1 and chloride (the reference's own
// sodium binding). Run once: `node scripts/make-fixtures.cjs`. Tests never run this.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const pb = require('private-box')
const sodium = require('chloride')

const out = path.join(__dirname, '..', 'test', 'fixtures')
fs.mkdirSync(out, { recursive: true })
const b64 = (buf) => Buffer.from(buf).toString('base64')

function randomBytes(n) {
  const b = Buffer.alloc(n)
  sodium.randombytes(b)
  return b
}

// Plaintexts: empty, short text, non-ASCII JSON, and one of 5000 random bytes.
const plaintexts = [
  Buffer.alloc(0),
  Buffer.from('hello there!'),
  Buffer.from(JSON.stringify({ type: 'post', text: 'Grüße € 🐢', recps: [] })),
  randomBytes(5000),
]

function makeCase(recipientCount, max, plaintext) {
  const keys = []
  for (let i = 0; i < recipientCount; i++) keys.push(sodium.crypto_box_keypair())
  const ciphertext = pb.multibox(
    plaintext,
    keys.map((k) => k.publicKey),
    max,
  )
  const unboxKeys = keys.map((k) => pb.multibox_open_key(ciphertext, k.secretKey, max))
  for (const [i, k] of keys.entries()) {
    const opened = pb.multibox_open(ciphertext, k.secretKey, max)
    if (!opened?.equals(plaintext)) throw new Error(`reference cannot open slot ${i}`)
    if (!unboxKeys[i].equals(unboxKeys[0])) throw new Error('unbox keys differ')
  }
  const outsider = sodium.crypto_box_keypair()
  return {
    recipients: recipientCount,
    max: max ?? 7,
    plaintext: b64(plaintext),
    ciphertext: b64(ciphertext),
    unboxKey: b64(unboxKeys[0]),
    recipientKeys: keys.map((k) => ({ publicKey: b64(k.publicKey), secretKey: b64(k.secretKey) })),
    outsiderSecretKey: b64(outsider.secretKey),
    // what the reference answers for the outsider: null/undefined both mean "not for me"
    outsiderOpens: pb.multibox_open(ciphertext, outsider.secretKey, max) != null,
  }
}

const cases = []
for (let n = 1; n <= 7; n++) {
  cases.push(makeCase(n, undefined, plaintexts[n % plaintexts.length]))
}
// 8 recipients need max 8; the reference still opens them at the default max (§5.3).
const eight = makeCase(8, 8, plaintexts[1])
eight.openedAtDefaultMaxBy8th =
  pb.multibox_open(
    Buffer.from(eight.ciphertext, 'base64'),
    Buffer.from(eight.recipientKeys[7].secretKey, 'base64'),
  ) != null
cases.push(eight)
fs.writeFileSync(path.join(out, 'boxes.json'), `${JSON.stringify(cases, null, 2)}\n`)

// The vector of sunrise-choir/private-box-rs, test/simple.json (commit a31baa5): two Curve25519
// key pairs (already converted) and a box of the bytes 00 01 02. The reference opens it here and
// we record the unbox key it finds.
const rs = {
  keys: [
    {
      publicKey: 'xWlsD/gbYbfmUVf6OMeHZmAIRjj2GdPgkI747iPpAT0=',
      secretKey: 'y/RBK4GAk0J484uZcp3ejEtkAinT3bLb8nv8tnD8X1I=',
    },
    {
      publicKey: 'Z0jPtXFDVwVxjeC/9i6PZOMXCXvJ+VHNEhyhv2NFnnM=',
      secretKey: 'fMeKcfGVUUBG2A1BHSqJ4/H8S0I4Ctgum2JdhL5tsL8=',
    },
  ],
  msg: 'AAEC',
  cypherText:
    'ynwIAPksEhKUUnHEhejzo1WYjpEzVzcyBAbZv+qQ9H9df1+VVJfJEg2ctzThip9HRSltyjxI+VqGtyo6LwQ7DbaEvGZ/iJS4baBrCEpXxorIYwHq8i9+oe+6tVMS16GCPE0bNmxP9fqgSsKmV8JSX/YFoNPZptgFEhdTeUxwpCWiOitKoFgy7bGXaU2HNk6IQuU0bI+A/xBD18iO3hyMjkJ+F3srLXDkXTNwWtU=',
}
const rsBox = Buffer.from(rs.cypherText, 'base64')
const rsKeys = rs.keys.map((k) => pb.multibox_open_key(rsBox, Buffer.from(k.secretKey, 'base64')))
for (const k of rs.keys) {
  const opened = pb.multibox_open(rsBox, Buffer.from(k.secretKey, 'base64'))
  if (!opened || b64(opened) !== rs.msg) throw new Error('reference cannot open the rs vector')
}
fs.writeFileSync(
  path.join(out, 'private-box-rs.json'),
  `${JSON.stringify(
    {
      source: 'github.com/sunrise-choir/private-box-rs test/simple.json @ a31baa5',
      recipientKeys: rs.keys,
      plaintext: rs.msg,
      ciphertext: rs.cypherText,
      unboxKey: b64(rsKeys[0]),
    },
    null,
    2,
  )}\n`,
)
console.log(`wrote ${cases.length} boxes and the private-box-rs vector to ${out}`)
