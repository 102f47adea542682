// Writes test/fixtures/*.json (and the raw file test/fixtures/secret) with npm ssb-keys 8.5.0.
// Run once from the package folder: `node scripts/make-fixtures.cjs`. Tests never regenerate.
'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const ssbKeys = require('ssb-keys')

const out = path.join(__dirname, '..', 'test', 'fixtures')
fs.mkdirSync(out, { recursive: true })
const save = (name, value) =>
  fs.writeFileSync(path.join(out, name), `${JSON.stringify(value, null, 2)}\n`)

// ---- keys: seeded generation -------------------------------------------------------------
const stringSeeds = [
  'a',
  'hello world',
  'x'.repeat(32),
  'abcdefghijklmnopqrstuvwxyz0123456789ABCD', // 40 units, cut to 32
  'ü'.repeat(20), // 20 units, 40 UTF-8 bytes: cut at 32 bytes
  '€'.repeat(11), // 33 bytes: a character cut in half
  '🐢'.repeat(20), // 40 units: substring(0, 32) keeps 16 turtles
  `${'x'.repeat(31)}🐢`, // the 32-unit cut leaves a lone high surrogate
  '\ud800',
  'nul\u0000inside',
  'Grüße, 世界',
]
const byteSeeds = [
  Buffer.alloc(32, 0),
  Buffer.alloc(32, 7),
  Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'),
]
save('keys.json', {
  stringSeeds: stringSeeds.map((seed) => ({ seed, keys: ssbKeys.generate('ed25519', seed) })),
  byteSeeds: byteSeeds.map((seed) => ({
    seedHex: seed.toString('hex'),
    keys: ssbKeys.generate('ed25519', seed),
    curve25519SecretHex: ssbKeys
      .ssbSecretKeyToPrivateBoxSecret(ssbKeys.generate('ed25519', seed))
      .toString('hex'),
  })),
})

// ---- signing, verification, message ids --------------------------------------------------
const keys = ssbKeys.generate('ed25519', Buffer.alloc(32, 1))
const hmacKey = Buffer.alloc(32, 9).toString('base64')
const inputs = [
  '{"hello":"world"}',
  JSON.stringify({
    previous: null,
    sequence: 1,
    author: keys.id,
    timestamp: 1700000000000.5,
    hash: 'sha256',
    content: { type: 'post', text: 'Grüße € 🐢 ß' },
  }),
  // lone surrogates, controls, U+2028, escapes (JSON text keeps them as \u escapes)
  '{"type":"post","text":"\\ud800 lone \\udfff and \\u0000\\u001f\\u2028 \\"q\\" \\\\ /"}',
  // integer-like keys are re-ordered by JSON.stringify
  '{"b":1,"10":2,"2":5,"4294967294":3,"4294967295":4,"01":6,"nested":{"9":[1,2,{"1":"x"}]}}',
  '{"n":[1e21,1e-7,0.1,123456789012345680000,-1.5],"e":{},"a":[]}',
  // an own __proto__ key: the reference clone drops it before signing
  '{"__proto__":5,"a":1}',
  '{"__proto__":{"x":1},"a":1}',
  // an existing signature is signed over and then replaced in place
  '{"a":1,"signature":"old","z":2}',
]
const signatures = []
for (const hmac of [null, hmacKey]) {
  for (const input of inputs) {
    const signed = hmac
      ? ssbKeys.signObj(keys, hmac, JSON.parse(input))
      : ssbKeys.signObj(keys, JSON.parse(input))
    const json = JSON.stringify(signed, null, 2)
    signatures.push({
      input,
      hmac,
      signed: JSON.stringify(signed),
      id: `%${ssbKeys.hash(json)}`,
      verifies: ssbKeys.verifyObj(keys, hmac, JSON.parse(JSON.stringify(signed))),
    })
  }
}

// verification of doctored messages
const good = ssbKeys.signObj(keys, { type: 'test', text: 'verify me' })
const [sigB64] = good.signature.split('.')
const sigBytes = Buffer.from(sigB64, 'base64')
const variants = {
  good: JSON.stringify(good),
  'sigil before signature': JSON.stringify({ ...good, signature: `@${good.signature}` }),
  'signature with 2 extra bytes (88 chars, unpadded)': JSON.stringify({
    ...good,
    signature: `${Buffer.concat([sigBytes, Buffer.from([1, 2])]).toString('base64')}.sig.ed25519`,
  }),
  'signature without suffix': JSON.stringify({ ...good, signature: sigB64 }),
  'own __proto__ added after signing': `{"__proto__":7,${JSON.stringify(good).slice(1)}`,
  'content changed': JSON.stringify({ ...good, text: 'verify mE' }),
  'flipped signature bit': JSON.stringify({
    ...good,
    signature: `${Buffer.from(sigBytes.map((b, i) => (i === 5 ? b ^ 1 : b))).toString('base64')}.sig.ed25519`,
  }),
}
const verifications = Object.entries(variants).map(([name, text]) => ({
  name,
  text,
  verifies: ssbKeys.verifyObj(keys, JSON.parse(text)),
  verifiesWithHmac: ssbKeys.verifyObj(keys, hmacKey, JSON.parse(text)),
}))

// sign / verify of strings
const strings = ['hello', 'Grüße € 🐢', '\ud800']
const stringSignatures = []
for (const hmac of [null, hmacKey]) {
  for (const text of strings) {
    stringSignatures.push({
      text,
      hmac,
      signature: hmac ? ssbKeys.sign(keys, hmac, text) : ssbKeys.sign(keys, text),
    })
  }
}

save('sign.json', { keys, hmacKey, signatures, verifications, stringSignatures })

// ---- hash, getTag, secretBox -------------------------------------------------------------
const hashInputs = ['', 'abc', '€', 'ß', 'Grüße 🐢', '\ud800\udfff', 'a\u0000b']
save('hash.json', {
  latin1: hashInputs.map((text) => ({ text, hash: ssbKeys.hash(text) })),
  utf8: hashInputs.map((text) => ({ text, hash: ssbKeys.hash(text, 'utf8') })),
  base64: ['aGVsbG8=', 'AAAA'].map((text) => ({ text, hash: ssbKeys.hash(text, 'base64') })),
  hex: ['00ff', 'deadbeef'].map((text) => ({ text, hash: ssbKeys.hash(text, 'hex') })),
  tags: ['@abc.ed25519', 'x.sig.ed25519', 'abc', '%a.sha256', ''].map((text) => ({
    text,
    tag: ssbKeys.getTag(text),
  })),
  secretBox: [{ a: 1 }, 'ü', [1, 'two', null]].map((value, i) => {
    const key = Buffer.alloc(32, i + 3)
    return {
      value,
      keyHex: key.toString('hex'),
      boxedHex: ssbKeys.secretBox(value, key).toString('hex'),
    }
  }),
})

// ---- the secret file ---------------------------------------------------------------------
// npm ssb-keys prints the JSON.parse stack of an unreadable file to stderr: keep the run quiet
const quietly = (fn) => {
  const original = console.error
  console.error = () => {}
  try {
    return fn()
  } finally {
    console.error = original
  }
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-keys-fixtures-'))
const jsonPath = path.join(dir, 'nested', 'secret')
const created = ssbKeys.createSync(jsonPath)
const legacyPath = path.join(dir, 'legacy-secret')
const legacyKeys = ssbKeys.createSync(legacyPath, 'ed25519', true)
const text = fs.readFileSync(jsonPath, 'utf8')
fs.writeFileSync(path.join(out, 'secret'), text)
save('secret-file.json', {
  json: {
    text,
    keys: created,
    mode: (fs.statSync(jsonPath).mode & 0o777).toString(8),
    loaded: ssbKeys.loadSync(jsonPath),
  },
  legacy: {
    text: fs.readFileSync(legacyPath, 'utf8'),
    keys: legacyKeys,
    // npm ssb-keys 8.5 cannot read the legacy form it writes: loadSync gives undefined
    loaded: quietly(() => ssbKeys.loadSync(legacyPath)) ?? null,
  },
})
fs.rmSync(dir, { recursive: true, force: true })
console.log('fixtures written to', out)
