#!/usr/bin/env node
// Writes the reference fixtures in ../test/fixtures/ from the npm reference packages
// ssb-validate 4.1.4 and ssb-keys 8.5.0 (ssb-protocol.md §2, bad-inputs.md §2).
//
// Run once: `node packages/ssb-validate/scripts/make-fixtures.cjs`. The output is deterministic:
// keys come from fixed seeds, timestamps are fixed, and the only randomness the reference uses
// (private-box's nonce, body key and one-time key inside ssbKeys.box) is fed from a seeded
// SHA-256 counter stream by patching chloride's `randombytes` and `crypto_box_keypair` before
// ssb-keys loads private-box. Nothing here is our own code under test.
//
// Files:
//   feeds.json       whole feeds (signed values in order, ids), made with ssbValidate.create
//   cases.json       { keys, append: [...], ooo: [...], queue: [...], create: [...] } verdicts
//   key-orders.json  every order of the 6 unsigned keys (signature last), and the signature at
//                    every position, with the append verdict of each
//
// Negative zero cannot be written by JSON.stringify, so numbers that are -0 are written as the
// literal `-0` (JSON.parse gives -0 back). Lone surrogates are written as `\udXXX` escapes.
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

// --- deterministic randomness for private-box (must happen before ssb-keys is loaded) ----------
const keysDir = path.dirname(require.resolve('ssb-keys/package.json'))
const chloride = require(require.resolve('chloride', { paths: [keysDir] }))
let rngCounter = 0
function rngBytes(n) {
  const out = Buffer.alloc(n)
  let filled = 0
  while (filled < n) {
    const block = crypto
      .createHash('sha256')
      .update(`ssb-validate fixture rng ${rngCounter++}`)
      .digest()
    filled += block.copy(out, filled)
  }
  return out
}
chloride.randombytes = (buf) => {
  rngBytes(buf.length).copy(buf)
}
chloride.crypto_box_keypair = () => chloride.crypto_box_seed_keypair(rngBytes(32))

const ssbKeys = require('ssb-keys')
const v = require('ssb-validate')

const OUT = path.join(__dirname, '..', 'test', 'fixtures')

// --- keys ------------------------------------------------------------------------------------
function seedFor(name) {
  return crypto.createHash('sha256').update(`ssb-validate fixture ${name}`).digest()
}
const seeds = {}
const keys = {}
for (const name of ['alice', 'bob', 'carol', 'dave', 'mallory']) {
  seeds[name] = seedFor(name)
  keys[name] = ssbKeys.generate('ed25519', seeds[name])
}
const { alice, bob, carol, dave, mallory } = keys
const keysOut = {}
for (const name of Object.keys(keys)) {
  keysOut[name] = { seed: seeds[name].toString('hex'), ...keys[name] }
}

// A fixed 32-byte HMAC key (bytes 0..31), and another one for "wrong network" cases.
const HMAC = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64')
const HMAC2 = Buffer.from(Array.from({ length: 32 }, (_, i) => 255 - i)).toString('base64')

const T0 = 1700000000000

// --- helpers ---------------------------------------------------------------------------------
/** The message without its signature, key order kept. */
function unsigned(msg) {
  const o = {}
  for (const k of Object.keys(msg)) if (k !== 'signature') o[k] = msg[k]
  return o
}

/** Copy `msg` without its signature, let `edit` change it (in place or by returning a new
 * object), then sign it again with ssbKeys.signObj, which appends `signature` last. */
function resign(msg, edit, opts = {}) {
  let o = unsigned(msg)
  if (edit) {
    const r = edit(o)
    if (r !== undefined) o = r
  }
  return ssbKeys.signObj(opts.keys || alice, opts.hmac || null, o)
}

/** Copy `msg` and let `edit` change it, without signing again. */
function tamper(msg, edit) {
  let o = { ...msg }
  const r = edit(o)
  if (r !== undefined) o = r
  return o
}

/** A new object with exactly these keys, in this order. */
function withOrder(obj, order) {
  const o = {}
  for (const k of order) o[k] = obj[k]
  return o
}

function feedState(fstate) {
  return fstate ? { id: fstate.id, sequence: fstate.sequence, timestamp: fstate.timestamp } : null
}

/** The state of a feed after `msg` was accepted. */
function stateAfter(msg) {
  return { id: v.id(msg), sequence: msg.sequence, timestamp: msg.timestamp }
}

// Errors the reference produces on purpose (verdicts). Anything else thrown out of the
// reference (TypeError on a null message, "unknown curve" from ssb-keys, ...) is recorded as
// `throws: true` so our validator can return an error instead.
const VERDICT_PREFIXES = [
  'invalid message: must have author',
  'invalid message: signature type must match author type',
  'invalid message: expected sequence ',
  'invalid message: expected different previous message',
  'initial message must have ',
  'message must have keys in allowed order',
  'message has invalid properties:',
  'message has invalid shape',
  'message must have timestamp',
  'Encoded message must not be larger than 8192 bytes',
  'type must be a string',
  'invalid HMAC key',
  'invalid signature',
  'timestamp must be provided',
  'invalid message content, must be object or encrypted string',
]
function isVerdict(err) {
  return (
    err &&
    err.constructor === Error &&
    VERDICT_PREFIXES.some((p) => String(err.message).startsWith(p))
  )
}
function errorRecord(err) {
  if (isVerdict(err)) return { valid: false, fatal: !!err.fatal, error: err.message }
  return {
    valid: false,
    throws: true,
    errorName: err?.constructor ? err.constructor.name : typeof err,
    error: err && err.message !== undefined ? err.message : String(err),
  }
}

function authorOf(message) {
  return message !== null && typeof message === 'object' ? message.author : undefined
}

const names = new Set()
function uniqueName(name) {
  if (names.has(name)) throw new Error(`duplicate case name ${name}`)
  names.add(name)
  return name
}

// --- feeds -----------------------------------------------------------------------------------
/** Build a feed with the reference's create + append. Each entry is [content, timestamp]. */
function makeFeed(k, hmac, entries) {
  const state = v.initial()
  const messages = []
  for (const [content, ts] of entries) {
    const msg = v.create(state.feeds[k.id], k, hmac, content, ts)
    v.append(state, hmac, msg)
    messages.push(msg)
  }
  return { messages, ids: messages.map((m) => v.id(m)), state: feedState(state.feeds[k.id]) }
}

/** Content whose signed message serialises to exactly `target` UTF-16 units (2-space JSON).
 * `unit` is repeated; `pad` (1 unit) fills what `unit` cannot. */
function sizedContent(k, hmac, fstate, ts, type, unit, target, pad = 'x') {
  const make = (n, p) => ({ type, text: unit.repeat(n) + pad.repeat(p) })
  const probe = ssbKeys.signObj(k, hmac, unsignedFor(k, fstate, ts, make(0, 0)))
  const base = v.encode(probe).length
  const room = target - base
  if (room < 0) throw new Error('target too small')
  const n = Math.floor(room / unit.length)
  const p = room - n * unit.length
  const content = make(n, p)
  const check = ssbKeys.signObj(k, hmac, unsignedFor(k, fstate, ts, content))
  if (v.encode(check).length !== target) throw new Error(`size ${v.encode(check).length}`)
  return content
}

/** The unsigned message create() would build (previous, sequence, author order). */
function unsignedFor(k, fstate, ts, content) {
  return {
    previous: fstate ? fstate.id : null,
    sequence: fstate ? fstate.sequence + 1 : 1,
    author: k.id,
    timestamp: ts,
    hash: 'sha256',
    content,
  }
}

function nested(depth) {
  let o = { leaf: true }
  for (let i = 1; i < depth; i++) o = { d: o }
  return o
}

const NEG_ZERO = '__ssb_validate_fixture_negative_zero__'

// Main feed: alice, main network. Built step by step because some contents depend on the state.
function buildAliceFeed() {
  const state = v.initial()
  const messages = []
  const notes = []
  let ts = T0
  function add(content, note, timestamp) {
    ts = timestamp !== undefined ? timestamp : ts + 1000
    const msg = v.create(state.feeds[alice.id], alice, null, content, ts)
    v.append(state, null, msg)
    messages.push(msg)
    notes.push(note)
    return messages.length - 1
  }
  add({ type: 'post', text: 'hello world' }, 'plain ASCII post')
  add({ type: 'post', text: 'second' }, 'plain ASCII post')
  add({ type: 'post', text: 'third' }, 'plain ASCII post')
  add(
    { type: 'post', text: 'café straße 100€ naïve 日本語 中文 한국어 Ωμέγα' },
    'non-ASCII: é, ß, €, CJK, Hangul, Greek',
  )
  add(
    { type: 'post', text: 'emoji 👋🏽 🎉 👨‍👩‍👧 🇳🇿 𝄞', emoji: '😀' },
    'emoji (surrogate pairs, ZWJ sequence, flags, U+1D11E)',
  )
  add(
    { type: 'post', text: 'lone \ud800 high, lone \udfff low, reversed \udc00\ud800, end \ud83d' },
    'lone surrogates (JSON.stringify writes them as \\udXXX escapes)',
  )
  add(
    JSON.parse(
      '{"type":"test","b":"bee","10":"ten","2":"two","4294967294":"max index",' +
        '"4294967295":"not an index","01":"not canonical","-1":"negative"}',
    ),
    'integer-like keys: array-index keys come first in ascending order',
  )
  add(
    {
      type: 'numbers',
      negZero: -0,
      big: 1e21,
      small: 1e-7,
      tenth: 0.1,
      rounded: 123456789012345680000,
      maxSafe: 9007199254740991,
      tiny: 5e-324,
      list: [-0, 1e21, 1.5, -2.5e-8],
    },
    '-0 (serialised as 0), 1e21 (1e+21), 1e-7, 5e-324',
  )
  add({ type: 'nest', deep: nested(40) }, 'nesting 40 objects deep')
  add({ type: 'post', text: 'fractional timestamp' }, 'fractional timestamp', T0 + 20000.001)
  add({ type: 'post', text: 'another fraction' }, 'fractional timestamp', T0 + 20000.0019980019)
  add(
    {
      type: 'post',
      text: 'ctl \u0000\u0001\b\t\n\u000b\f\r\u001f\u007f \u2028\u2029 slash / back \\ quote "',
    },
    'control characters, U+2028/2029, slash, backslash, quote',
  )
  add(JSON.parse('{"type":"proto","__proto__":{"polluted":true},"x":1}'), '__proto__ as own key')
  add({ type: 'post', text: '', empty: {}, list: [], nil: null, yes: true }, 'empty values')
  {
    const fstate = state.feeds[alice.id]
    const t = ts + 1000
    const content = sizedContent(alice, null, fstate, t, 'post', 'x', 8192)
    add(content, 'exactly 8192 UTF-16 units (ASCII), signed', t)
  }
  {
    const fstate = state.feeds[alice.id]
    const t = ts + 1000
    const content = sizedContent(alice, null, fstate, t, 'post', '€', 8192)
    add(content, 'exactly 8192 UTF-16 units of € (about 24 kB of UTF-8), signed', t)
  }
  add(
    { type: 'post', text: '€'.repeat(7500) },
    '7500 € (under 8192 units, 22.5 kB of UTF-8): the limit counts UTF-16 units',
  )
  const secret = { type: 'post', text: 'secret to alice and bob' }
  const boxIndex1 = add(ssbKeys.box(secret, [alice, bob]), 'private-box content for alice and bob')
  const self = { type: 'post', text: 'note to self' }
  const boxIndex2 = add(ssbKeys.box(self, [alice]), 'private-box content for alice only')
  add({ type: 'post', text: 'after the boxes' }, 'plain post')
  return {
    name: 'alice',
    author: alice.id,
    hmacKey: null,
    messages,
    ids: messages.map((m) => v.id(m)),
    notes,
    state: feedState(state.feeds[alice.id]),
    boxed: [
      { index: boxIndex1, plaintext: secret, recipients: ['alice', 'bob'] },
      { index: boxIndex2, plaintext: self, recipients: ['alice'] },
    ],
  }
}

function buildHmacFeed() {
  const f = makeFeed(bob, HMAC, [
    [{ type: 'post', text: 'hello from a private network' }, T0 + 1],
    [{ type: 'post', text: 'ünïcödé on the HMAC network ✓' }, T0 + 2],
    [{ type: 'contact', contact: alice.id, following: true }, T0 + 3.5],
  ])
  return { name: 'bob-hmac', author: bob.id, hmacKey: HMAC, ...f }
}

// Legacy key order: previous, author, sequence, timestamp, hash, content. Built by hand and
// signed with signObj; both orders validate.
function buildLegacyFeed() {
  const state = v.initial()
  const messages = []
  let prev = null
  const contents = [
    { type: 'post', text: 'legacy order 1' },
    { type: 'post', text: 'legacy order 2 — ß' },
    {
      type: 'vote',
      vote: { link: '%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256', value: 1 },
    },
  ]
  contents.forEach((content, i) => {
    const msg = ssbKeys.signObj(carol, null, {
      previous: prev,
      author: carol.id,
      sequence: i + 1,
      timestamp: T0 + 100 * (i + 1),
      hash: 'sha256',
      content,
    })
    v.append(state, null, msg)
    messages.push(msg)
    prev = v.id(msg)
  })
  return {
    name: 'carol-legacy-order',
    author: carol.id,
    hmacKey: null,
    messages,
    ids: messages.map((m) => v.id(m)),
    state: feedState(state.feeds[carol.id]),
  }
}

// A feed whose every message is checked against the 8192 boundary in several alphabets.
function buildSizeFeed() {
  const state = v.initial()
  const messages = []
  const notes = []
  let ts = T0 + 50000
  for (const [unit, label] of [
    ['x', 'ASCII'],
    ['é', 'é'],
    ['日', 'CJK'],
    ['😀', 'emoji'],
  ]) {
    ts += 1
    const content = sizedContent(dave, null, state.feeds[dave.id], ts, 'post', unit, 8192)
    const msg = v.create(state.feeds[dave.id], dave, null, content, ts)
    v.append(state, null, msg)
    messages.push(msg)
    notes.push(`exactly 8192 UTF-16 units, ${label}`)
  }
  return {
    name: 'dave-8192',
    author: dave.id,
    hmacKey: null,
    messages,
    ids: messages.map((m) => v.id(m)),
    notes,
    state: feedState(state.feeds[dave.id]),
  }
}

const aliceFeed = buildAliceFeed()
const hmacFeed = buildHmacFeed()
const legacyFeed = buildLegacyFeed()
const sizeFeed = buildSizeFeed()
const feeds = [aliceFeed, hmacFeed, legacyFeed, sizeFeed]

// --- append cases ----------------------------------------------------------------------------
const [m1, m2, m3] = aliceFeed.messages
const afterM1 = stateAfter(m1)
const afterM2 = stateAfter(m2)

const appendCases = []
function caseAppend(name, message, opts = {}) {
  const hmacKey = opts.hmacKey === undefined ? null : opts.hmacKey
  const state = opts.state === undefined ? null : opts.state
  const st = v.initial()
  const author = authorOf(message)
  if (state) st.feeds[author] = { ...state, queue: [] }
  const rec = { name: uniqueName(name), hmacKey, state, message }
  if (opts.note) rec.note = opts.note
  try {
    v.append(st, hmacKey, message)
    Object.assign(rec, { valid: true, id: v.id(message), after: feedState(st.feeds[author]) })
  } catch (err) {
    Object.assign(rec, errorRecord(err))
  }
  if (opts.expect !== undefined && rec.valid !== opts.expect) {
    console.error(`note: ${name} expected valid=${opts.expect}, reference says ${rec.valid}`)
  }
  appendCases.push(rec)
  return rec
}

// A valid next message for alice after m2, with `edit` applied and signed again.
const next = (edit, opts) => resign(m3, edit, opts)
const first = (edit, opts) => resign(m1, edit, opts)
const known = { state: afterM2 }

// valid baseline
caseAppend('valid/first-message', m1, { expect: true })
caseAppend('valid/second-message', m2, { state: afterM1, expect: true })
caseAppend('valid/third-message', m3, { ...known, expect: true })
aliceFeed.messages.forEach((msg, i) => {
  if (i < 3) return
  const prev = aliceFeed.messages[i - 1]
  caseAppend(`valid/alice-${i + 1}-${aliceFeed.notes[i].split(/[ :(,]/)[0]}`, msg, {
    state: stateAfter(prev),
    expect: true,
  })
})
caseAppend('valid/legacy-order-first', legacyFeed.messages[0], { expect: true })
caseAppend('valid/legacy-order-second', legacyFeed.messages[1], {
  state: stateAfter(legacyFeed.messages[0]),
  expect: true,
})
caseAppend('valid/hmac-first', hmacFeed.messages[0], { hmacKey: HMAC, expect: true })
caseAppend('valid/hmac-second', hmacFeed.messages[1], {
  hmacKey: HMAC,
  state: stateAfter(hmacFeed.messages[0]),
  expect: true,
})
caseAppend(
  'valid/author-sequence-order',
  next((o) => withOrder(o, ['previous', 'author', 'sequence', 'timestamp', 'hash', 'content'])),
  { ...known, expect: true },
)
caseAppend(
  'valid/first-message-fractional-timestamp',
  first((o) => {
    o.timestamp = T0 + 0.5
  }),
  { expect: true },
)
caseAppend(
  'valid/first-message-timestamp-zero',
  first((o) => {
    o.timestamp = 0
  }),
  { expect: true },
)
caseAppend(
  'valid/first-message-timestamp-negative',
  first((o) => {
    o.timestamp = -1
  }),
  { expect: true },
)
caseAppend(
  'valid/first-message-timestamp-1e21',
  first((o) => {
    o.timestamp = 1e21
  }),
  { expect: true },
)

// signature
function sigBytes(msg) {
  return Buffer.from(msg.signature.slice(0, msg.signature.indexOf('.')), 'base64')
}
function withSigBytes(msg, bytes, suffix = '.sig.ed25519') {
  return tamper(msg, (o) => {
    o.signature = bytes.toString('base64') + suffix
  })
}
{
  const b = sigBytes(m3)
  const flipR = Buffer.from(b)
  flipR[0] ^= 1
  caseAppend('sig/bit-flip-in-R', withSigBytes(m3, flipR), known)
  const flipS = Buffer.from(b)
  flipS[40] ^= 0x10
  caseAppend('sig/bit-flip-in-S', withSigBytes(m3, flipS), known)
  const flipTop = Buffer.from(b)
  flipTop[63] ^= 0x80
  caseAppend('sig/bit-flip-top-bit-of-S', withSigBytes(m3, flipTop), known)

  // S + L: the same signature in a non-canonical (malleated) form
  const L = (1n << 252n) + 27742317777372353535851937790883648493n
  let s = 0n
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(b[i])
  let sl = s + L
  const mall = Buffer.from(b)
  for (let i = 32; i < 64; i++) {
    mall[i] = Number(sl & 0xffn)
    sl >>= 8n
  }
  caseAppend('sig/s-plus-l-malleated', withSigBytes(m3, mall), {
    ...known,
    note: 'signature bytes 32..63 (S, little-endian) replaced by S + L',
  })
  caseAppend('sig/all-zero', withSigBytes(m3, Buffer.alloc(64)), known)
  caseAppend('sig/65-bytes', withSigBytes(m3, Buffer.concat([b, Buffer.from([0])])), {
    ...known,
    note: '65 bytes are 88 base64 chars with one "=": passes the cheap check',
  })
  caseAppend('sig/66-bytes', withSigBytes(m3, Buffer.concat([b, Buffer.from([0, 0])])), {
    ...known,
    note: '66 bytes are 88 base64 chars with no padding: passes the cheap check',
  })
  caseAppend('sig/63-bytes', withSigBytes(m3, b.subarray(0, 63)), known)
  caseAppend(
    'sig/first-message-bit-flip',
    (() => {
      const f = sigBytes(m1)
      f[10] ^= 4
      return withSigBytes(m1, f)
    })(),
  )

  // non-canonical base64: 64 bytes -> 86 chars + "==", the 86th char carries 4 unused bits
  const b64 = b.toString('base64')
  const last = b64[85]
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const bumped = alphabet[alphabet.indexOf(last) + 1]
  const nonCanon = `${b64.slice(0, 85)}${bumped}==`
  if (Buffer.from(nonCanon, 'base64').equals(b) === false) throw new Error('non-canonical?')
  caseAppend(
    'sig/non-canonical-base64',
    tamper(m3, (o) => {
      o.signature = `${nonCanon}.sig.ed25519`
    }),
    {
      ...known,
      note: 'decodes to the same 64 bytes, but the unused bits of the last char are set',
    },
  )
  caseAppend(
    'sig/no-padding',
    tamper(m3, (o) => {
      o.signature = `${b64.slice(0, 86)}.sig.ed25519`
    }),
    known,
  )
  caseAppend(
    'sig/url-safe-alphabet',
    tamper(m3, (o) => {
      o.signature = `${b64.replace(/\+/g, '-').replace(/\//g, '_')}.sig.ed25519`
    }),
    known,
  )
  const suffixes = {
    'suffix-ed25519x': '.sig.ed25519x',
    'suffix-curve25519': '.sig.curve25519',
    'suffix-sha256': '.sig.sha256',
    'suffix-uppercase': '.sig.Ed25519',
    'suffix-missing-sig': '.ed25519',
    'suffix-sig-only': '.sig.',
    'suffix-none': '',
    'suffix-trailing-space': '.sig.ed25519 ',
    'suffix-trailing-newline': '.sig.ed25519\n',
    'suffix-sigX': '.sigXed25519',
    'suffix-twice': '.sig.ed25519.sig.ed25519',
  }
  for (const [n, suffix] of Object.entries(suffixes)) {
    caseAppend(
      `sig/${n}`,
      tamper(m3, (o) => {
        o.signature = b64 + suffix
      }),
      known,
    )
  }
  caseAppend(
    'sig/missing',
    tamper(m3, (o) => {
      delete o.signature
    }),
    known,
  )
  caseAppend(
    'sig/null',
    tamper(m3, (o) => {
      o.signature = null
    }),
    known,
  )
  caseAppend(
    'sig/number',
    tamper(m3, (o) => {
      o.signature = 12345
    }),
    known,
  )
  caseAppend(
    'sig/empty-string',
    tamper(m3, (o) => {
      o.signature = ''
    }),
    known,
  )
  caseAppend(
    'sig/first-message-missing',
    tamper(m1, (o) => {
      delete o.signature
    }),
  )
}
caseAppend('sig/signed-by-another-key', next(undefined, { keys: mallory }), known)
caseAppend('sig/first-message-signed-by-another-key', first(undefined, { keys: mallory }))
caseAppend(
  'sig/signature-of-another-message',
  tamper(m3, (o) => {
    o.signature = m2.signature
  }),
  known,
)

// HMAC
const hm1 = hmacFeed.messages[0]
caseAppend('hmac/signed-with-hmac-verified-without', hm1, { hmacKey: null })
caseAppend('hmac/signed-without-verified-with', m1, { hmacKey: HMAC })
caseAppend('hmac/different-key', hm1, { hmacKey: HMAC2 })
{
  // 32 bytes are 43 base64 chars + '='; the 43rd char carries 2 unused bits
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const nonCanon = `${HMAC.slice(0, 42)}${alphabet[alphabet.indexOf(HMAC[42]) + 1]}=`
  if (!Buffer.from(nonCanon, 'base64').equals(Buffer.from(HMAC, 'base64'))) {
    throw new Error('HMAC non-canonical base64 decodes differently')
  }
  caseAppend('hmac/invalid-key-not-canonical-base64', m1, {
    hmacKey: nonCanon,
    note: 'decodes to the same 32 bytes as a valid key',
  })
  caseAppend('hmac/invalid-key-no-padding', m1, { hmacKey: HMAC.slice(0, 43) })
}
caseAppend('hmac/invalid-key-31-bytes', m1, { hmacKey: Buffer.alloc(31, 7).toString('base64') })
caseAppend('hmac/invalid-key-33-bytes', m1, { hmacKey: Buffer.alloc(33, 7).toString('base64') })
caseAppend('hmac/invalid-key-empty-string', m1, { hmacKey: '' })
caseAppend('hmac/invalid-key-hex', m1, { hmacKey: Buffer.from(HMAC, 'base64').toString('hex') })
caseAppend(
  'hmac/invalid-key-with-invalid-message',
  tamper(m1, (o) => {
    o.hash = 'sha512'
  }),
  {
    hmacKey: 'not base64!',
    note: 'cheap checks run before the HMAC key check',
  },
)

// tampering after signing
caseAppend(
  'tamper/content-changed',
  tamper(m3, (o) => {
    o.content = { type: 'post', text: 'thirD' }
  }),
  known,
)
caseAppend(
  'tamper/content-key-added',
  tamper(m3, (o) => {
    o.content = { ...o.content, extra: 1 }
  }),
  known,
)
caseAppend(
  'tamper/timestamp-changed',
  tamper(m3, (o) => {
    o.timestamp = o.timestamp + 1
  }),
  known,
)
caseAppend(
  'tamper/timestamp-changed-first-message',
  tamper(m1, (o) => {
    o.timestamp = o.timestamp + 1
  }),
)
caseAppend(
  'tamper/timestamp-to-string',
  tamper(m3, (o) => {
    o.timestamp = String(o.timestamp)
  }),
  known,
)
caseAppend(
  'tamper/author-changed',
  tamper(m3, (o) => {
    o.author = bob.id
  }),
  { state: afterM2 },
)
caseAppend(
  'tamper/legacy-order-reordered-to-create-order',
  (() => {
    const lm = legacyFeed.messages[0]
    return withOrder(lm, [
      'previous',
      'sequence',
      'author',
      'timestamp',
      'hash',
      'content',
      'signature',
    ])
  })(),
  { note: 'reordering top-level keys changes the signed bytes' },
)
caseAppend(
  'tamper/content-keys-reordered',
  tamper(m3, (o) => {
    o.content = { text: 'third', type: 'post' }
  }),
  known,
)

// key order (signed again in the new order, so only the order is wrong)
const ORDER = ['previous', 'sequence', 'author', 'timestamp', 'hash', 'content']
const orderVariants = {
  'author-first': ['author', 'previous', 'sequence', 'timestamp', 'hash', 'content'],
  'sequence-first': ['sequence', 'previous', 'author', 'timestamp', 'hash', 'content'],
  'timestamp-hash-swapped': ['previous', 'sequence', 'author', 'hash', 'timestamp', 'content'],
  'hash-content-swapped': ['previous', 'sequence', 'author', 'timestamp', 'content', 'hash'],
  'content-first': ['content', 'previous', 'sequence', 'author', 'timestamp', 'hash'],
  'timestamp-second': ['previous', 'timestamp', 'sequence', 'author', 'hash', 'content'],
  alphabetical: ['author', 'content', 'hash', 'previous', 'sequence', 'timestamp'],
  'previous-last': ['sequence', 'author', 'timestamp', 'hash', 'content', 'previous'],
}
for (const [n, order] of Object.entries(orderVariants)) {
  caseAppend(
    `order/${n}`,
    next((o) => withOrder(o, order)),
    known,
  )
}
{
  const signed = next()
  const sigAt = (i) => {
    const ks = [...ORDER]
    ks.splice(i, 0, 'signature')
    return withOrder(signed, ks)
  }
  caseAppend('order/signature-first', sigAt(0), known)
  caseAppend('order/signature-before-content', sigAt(5), known)
  caseAppend('order/signature-after-previous', sigAt(1), known)
}
caseAppend(
  'order/extra-field-after-signature',
  tamper(m3, (o) => {
    o.extra = 1
  }),
  known,
)
caseAppend(
  'order/extra-field-before-signature',
  next((o) => {
    o.extra = 1
  }),
  {
    ...known,
    note: 'extra field is inside the signed bytes',
  },
)
caseAppend(
  'order/extra-field-first-message',
  first((o) => {
    o.extra = 1
  }),
)
caseAppend(
  'order/extra-field-channel',
  next((o) => {
    o.channel = 'ssb'
  }),
  known,
)
caseAppend(
  'order/extra-field-replacing-hash',
  next((o) =>
    withOrder({ ...o, key: 'x' }, [
      'previous',
      'sequence',
      'author',
      'timestamp',
      'key',
      'content',
    ]),
  ),
  known,
)
for (const k of ['previous', 'author', 'sequence', 'timestamp', 'hash', 'content']) {
  caseAppend(
    `order/missing-${k}`,
    next((o) => {
      delete o[k]
    }),
    known,
  )
}
for (const k of ['previous', 'sequence', 'timestamp', 'hash', 'content']) {
  caseAppend(
    `order/first-message-missing-${k}`,
    first((o) => {
      delete o[k]
    }),
  )
}

// hash
for (const [n, h] of Object.entries({
  sha512: 'sha512',
  SHA256: 'SHA256',
  'sha256-trailing-space': 'sha256 ',
  'sha-256': 'sha-256',
  null: null,
  number: 256,
  empty: '',
})) {
  caseAppend(
    `hash/${n}`,
    next((o) => {
      o.hash = h
    }),
    known,
  )
}
caseAppend(
  'hash/first-message-sha512',
  first((o) => {
    o.hash = 'sha512'
  }),
)

// authors (messages signed by alice; the author field is replaced and the message re-signed)
{
  const b64 = alice.public.slice(0, alice.public.indexOf('.'))
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const c = b64[42]
  const nonCanon = `${b64.slice(0, 42)}${alphabet[alphabet.indexOf(c) + 1]}=`
  if (!Buffer.from(nonCanon, 'base64').equals(Buffer.from(b64, 'base64'))) {
    throw new Error('author non-canonical base64 decodes differently')
  }
  const raw = Buffer.from(b64, 'base64')
  const hexDigits = raw.toString('hex')
  const authors = {
    'no-sigil': `${b64}.ed25519`,
    'msg-sigil': `%${b64}.ed25519`,
    'blob-sigil': `&${b64}.sha256`,
    'too-short': `@${raw.subarray(0, 31).toString('base64')}.ed25519`,
    'too-long': `@${Buffer.concat([raw, Buffer.from([1])]).toString('base64')}.ed25519`,
    'wrong-suffix': `@${b64}.ed25518`,
    'suffix-uppercase': `@${b64}.ED25519`,
    'suffix-missing': `@${b64}`,
    'non-canonical-base64': `@${nonCanon}.ed25519`,
    'no-padding': `@${b64.slice(0, 43)}.ed25519`,
    'url-safe-base64': `@${b64.replace(/\+/g, '-').replace(/\//g, '_')}.ed25519`,
    'ssb-uri': `ssb:feed/classic/${b64.replace(/\+/g, '-').replace(/\//g, '_')}`,
    'hex-key': `@${hexDigits}.ed25519`,
    'trailing-space': `@${b64}.ed25519 `,
    'leading-space': ` @${b64}.ed25519`,
    'dot-replaced-by-x': `@${b64}xed25519`,
    empty: '',
    null: null,
    number: 1,
    object: { id: alice.id },
  }
  for (const [n, a] of Object.entries(authors)) {
    caseAppend(
      `author/${n}`,
      first((o) => {
        o.author = a
      }),
    )
  }
  // isFeedId accepts `.sha256` feeds; the signature suffix must then be `.sig.sha256`.
  const sha256Author = first((o) => {
    o.author = `@${b64}.sha256`
  })
  caseAppend('author/sha256-suffix-ed25519-signature', sha256Author)
  caseAppend(
    'author/sha256-suffix-sha256-signature',
    tamper(sha256Author, (o) => {
      o.signature = o.signature.replace('.sig.ed25519', '.sig.sha256')
    }),
    { note: 'passes every check up to verifyObj, which throws in ssb-keys getCurve' },
  )
  caseAppend(
    'author/bob-key-signed-by-alice',
    first((o) => {
      o.author = bob.id
    }),
  )
}

// sequence on a known feed (state after m2, expecting 3); each message validly signed
for (const [n, s] of Object.entries({
  'gap-5': 5,
  'old-1': 1,
  'duplicate-2': 2,
  zero: 0,
  'minus-1': -1,
  2.5: 2.5,
  'string-7': '7',
  '2^53': 2 ** 53,
  null: null,
  'string-3-loose-equal': '3',
  'array-3-loose-equal': [3],
  true: true,
  3.5: 3.5,
})) {
  caseAppend(
    `seq/${n}`,
    next((o) => {
      o.sequence = s
    }),
    known,
  )
}
caseAppend('seq/duplicate-replay', m2, known)
caseAppend('seq/replay-of-first', m1, known)
caseAppend('seq/missing-previous-state', m3, { note: 'feed unknown, message 3' })
{
  // around the int32 limit of isInteger (~~n === n)
  const fakePrev = m2 // its id is used as previous
  const idPrev = v.id(fakePrev)
  caseAppend(
    'seq/int32-max',
    next((o) => {
      o.sequence = 2147483647
      o.previous = idPrev
    }),
    {
      state: { id: idPrev, sequence: 2147483646, timestamp: m2.timestamp },
    },
  )
  caseAppend(
    'seq/int32-overflow',
    next((o) => {
      o.sequence = 2147483648
      o.previous = idPrev
    }),
    {
      state: { id: idPrev, sequence: 2147483647, timestamp: m2.timestamp },
      note: 'the expected next sequence, but ~~2147483648 !== 2147483648',
    },
  )
}
// first message
for (const [n, s] of Object.entries({
  zero: 0,
  'minus-1': -1,
  two: 2,
  'string-1': '1',
  1.5: 1.5,
  null: null,
})) {
  caseAppend(
    `first/sequence-${n}`,
    first((o) => {
      o.sequence = s
    }),
  )
}
for (const [n, p] of Object.entries({ 'msg-id': v.id(m2), empty: '', false: false, zero: 0 })) {
  caseAppend(
    `first/previous-${n}`,
    first((o) => {
      o.previous = p
    }),
  )
}
for (const [n, t] of Object.entries({
  string: 'yesterday',
  null: null,
  object: {},
  array: [],
  'numeric-string': '1700000000000',
  true: true,
})) {
  caseAppend(
    `first/timestamp-${n}`,
    first((o) => {
      o.timestamp = t
    }),
  )
}
caseAppend('first/unknown-feed-sequence-3', m3)

// later message timestamps: not type-checked by append
for (const [n, t] of Object.entries({
  yesterday: 'yesterday',
  null: null,
  object: {},
  array: [],
  'nested-array': [1, [2]],
  true: true,
  negative: -1,
  zero: 0,
  'in-the-past': m1.timestamp - 1e9,
  '1e21': 1e21,
  'numeric-string': '1700000002000',
  'neg-zero': -0,
})) {
  caseAppend(
    `timestamp/later-${n}`,
    next((o) => {
      o.timestamp = t
    }),
    known,
  )
}

// fork
caseAppend(
  'fork/wrong-previous-validly-signed',
  next((o) => {
    o.previous = v.id(m1)
  }),
  known,
)
caseAppend(
  'fork/previous-null-on-known-feed',
  next((o) => {
    o.previous = null
  }),
  known,
)
caseAppend(
  'fork/previous-not-a-msg-id',
  next((o) => {
    o.previous = 'hello'
  }),
  known,
)
{
  const alt3 = next((o) => {
    o.content = { type: 'post', text: 'alternative third' }
  })
  caseAppend('fork/alternative-seen-first-accepted', alt3, known)
  const m4 = aliceFeed.messages[3]
  caseAppend('fork/successor-of-the-other-branch', m4, { state: stateAfter(alt3) })
  caseAppend('fork/alternative-after-original', alt3, { state: stateAfter(m3) })
}

// content type
for (const [n, t] of Object.entries({
  'length-2': 'ab',
  'length-3': 'abc',
  'length-52': 'a'.repeat(52),
  'length-53': 'b'.repeat(53),
  '26-emoji': '😀'.repeat(26),
  '27-emoji': '😀'.repeat(27),
  'emoji-plus-ascii-3-units': '👍a',
  '2-emoji-4-units': '👍👍',
  'one-emoji-2-units': '👍',
  '3-cjk': '日本語',
  '52-cjk': '日'.repeat(52),
  '53-cjk': '日'.repeat(53),
  'lone-surrogates-3': '\ud800\ud800\ud800',
  number: 123,
  null: null,
  empty: '',
  object: { name: 'post' },
  array: ['post'],
  'array-3-chars': ['abc', 'd'],
  true: true,
})) {
  caseAppend(
    `type/${n}`,
    next((o) => {
      o.content = { type: t, text: 'x' }
    }),
    known,
  )
}
caseAppend(
  'type/missing',
  next((o) => {
    o.content = { text: 'no type' }
  }),
  known,
)

// content
for (const [n, c] of Object.entries({
  null: null,
  array: [],
  'array-of-type': ['post'],
  number: 5,
  zero: 0,
  true: true,
  false: false,
  'plain-string': 'hello',
  'empty-string': '',
  'empty-object': {},
})) {
  caseAppend(
    `content/${n}`,
    next((o) => {
      o.content = c
    }),
    known,
  )
}

// boxed content strings
for (const [n, c] of Object.entries({
  'dot-box': '.box',
  'QQ==.box': 'QQ==.box',
  'QUJD.boxx': 'QUJD.boxx',
  'AAAA.box': 'AAAA.box',
  'AAAA.box2': 'AAAA.box2',
  'AAAA.box7whatever': 'AAAA.box7whatever',
  'AAAA.box-junk-spaces': 'AAAA.box with spaces and € ✓',
  'AAB=.box': 'AAB=.box',
  'QR==.box': 'QR==.box',
  AAAA: 'AAAA',
  'AAAA.BOX': 'AAAA.BOX',
  'AAAA.bo': 'AAAA.bo',
  'AAA.box': 'AAA.box',
  'leading-space': ' AAAA.box',
  'trailing-newline': 'AAAA.box\n',
  'newline-inside-tail': 'AAAA.box\nmore',
  'url-safe-base64': 'AA-_.box',
  'box-in-middle': 'AAAA.boxAAAA.box',
})) {
  caseAppend(
    `box/${n}`,
    next((o) => {
      o.content = c
    }),
    known,
  )
}
{
  const i = aliceFeed.boxed[0].index
  caseAppend('box/real-private-box', aliceFeed.messages[i], {
    state: stateAfter(aliceFeed.messages[i - 1]),
  })
}

// size: the whole signed message as 2-space JSON, in UTF-16 units
{
  const fstate = { ...afterM2, queue: [] }
  for (const [unit, label] of [
    ['x', 'ascii'],
    ['é', 'e-acute'],
    ['日', 'cjk'],
    ['😀', 'emoji'],
    ['€', 'euro'],
  ]) {
    for (const target of [8191, 8192, 8193, 8194]) {
      const content = sizedContent(alice, null, fstate, m3.timestamp, 'post', unit, target)
      const msg = ssbKeys.signObj(alice, null, unsignedFor(alice, fstate, m3.timestamp, content))
      caseAppend(`size/${target}-${label}`, msg, known)
    }
  }
  const euro = next((o) => {
    o.content = { type: 'post', text: '€'.repeat(7500) }
  })
  caseAppend('size/7500-euro-22kB-utf8', euro, known)
  // over the limit only because of a boxed string
  const bigBox = `${'A'.repeat(8200)}.box`
  caseAppend(
    'size/boxed-over-limit',
    next((o) => {
      o.content = bigBox
    }),
    known,
  )
  // the limit on the first message and on the HMAC network
  const big = sizedContent(alice, null, null, m1.timestamp, 'post', 'x', 8193)
  caseAppend(
    'size/8193-first-message',
    first((o) => {
      o.content = big
    }),
  )
  const hbig = sizedContent(bob, HMAC, null, hm1.timestamp, 'post', 'x', 8192)
  caseAppend(
    'size/8192-hmac',
    resign(
      hm1,
      (o) => {
        o.content = hbig
      },
      { keys: bob, hmac: HMAC },
    ),
    {
      hmacKey: HMAC,
    },
  )
}

// not a message at all
caseAppend('msg/null', null)
caseAppend('msg/string', 'hello')
caseAppend('msg/empty-string', '')
caseAppend('msg/number', 42)
caseAppend('msg/zero', 0)
caseAppend('msg/true', true)
caseAppend('msg/array', [])
caseAppend('msg/array-of-message', [m1])
caseAppend('msg/empty-object', {})
caseAppend('msg/kvt-instead-of-value', { key: v.id(m1), value: m1, timestamp: T0 })
caseAppend('msg/only-author', { author: alice.id })

// --- appendOOO -------------------------------------------------------------------------------
const oooCases = []
function caseOOO(name, message, opts = {}) {
  const hmacKey = opts.hmacKey === undefined ? null : opts.hmacKey
  const state = opts.state === undefined ? null : opts.state
  const st = v.initial()
  const author = authorOf(message)
  if (state) st.feeds[author] = { ...state, queue: [] }
  const rec = { name: uniqueName(`ooo/${name}`), hmacKey, state, message }
  if (opts.note) rec.note = opts.note
  try {
    v.appendOOO(st, hmacKey, message)
    if (st.error) Object.assign(rec, errorRecord(st.error))
    else {
      Object.assign(rec, {
        valid: true,
        id: v.id(message),
        after: feedState(st.feeds[author]),
        validated: st.validated,
      })
    }
  } catch (err) {
    Object.assign(rec, errorRecord(err))
  }
  oooCases.push(rec)
}
caseOOO('unknown-feed-later-message', m3, { note: 'feed state is initialised from this message' })
caseOOO('known-feed-older-message', m1, { state: stateAfter(m3), note: 'state is not changed' })
caseOOO('known-feed-same-message', m3, { state: stateAfter(m3) })
caseOOO(
  'fork-not-checked',
  next((o) => {
    o.previous = v.id(m1)
  }),
  { state: afterM2 },
)
caseOOO('gap-not-checked', aliceFeed.messages[9], { state: afterM1 })
caseOOO(
  'sequence-0',
  next((o) => {
    o.sequence = 0
  }),
)
caseOOO(
  'sequence-minus-1',
  next((o) => {
    o.sequence = -1
  }),
)
caseOOO(
  'sequence-2.5',
  next((o) => {
    o.sequence = 2.5
  }),
)
caseOOO(
  'sequence-string',
  next((o) => {
    o.sequence = '3'
  }),
)
caseOOO(
  'first-message-previous-not-null',
  first((o) => {
    o.previous = v.id(m2)
  }),
)
caseOOO(
  'timestamp-string',
  next((o) => {
    o.timestamp = 'yesterday'
  }),
  { state: afterM2 },
)
caseOOO(
  'timestamp-null',
  next((o) => {
    o.timestamp = null
  }),
)
caseOOO(
  'bad-signature',
  tamper(m3, (o) => {
    o.content = { type: 'post', text: 'changed' }
  }),
)
caseOOO('signed-by-another-key', next(undefined, { keys: mallory }))
caseOOO(
  'bad-order',
  next((o) => withOrder(o, orderVariants['author-first'])),
)
caseOOO(
  'extra-field',
  next((o) => {
    o.extra = 1
  }),
)
caseOOO(
  'hash-sha512',
  next((o) => {
    o.hash = 'sha512'
  }),
)
caseOOO(
  'type-too-short',
  next((o) => {
    o.content = { type: 'ab' }
  }),
)
caseOOO(
  'content-null',
  next((o) => {
    o.content = null
  }),
)
caseOOO(
  'box-dot-box',
  next((o) => {
    o.content = '.box'
  }),
)
{
  const content = sizedContent(
    alice,
    null,
    { ...afterM2, queue: [] },
    m3.timestamp,
    'post',
    'x',
    8193,
  )
  caseOOO(
    'size-8193',
    next((o) => {
      o.content = content
    }),
  )
}
caseOOO(
  'bad-author',
  first((o) => {
    o.author = alice.public
  }),
)
caseOOO(
  'sig-suffix-missing',
  tamper(m3, (o) => {
    o.signature = o.signature.replace('.sig.ed25519', '')
  }),
)
caseOOO('hmac-valid', hmacFeed.messages[2], { hmacKey: HMAC })
caseOOO('hmac-signed-verified-without', hmacFeed.messages[2])
caseOOO('hmac-invalid-key', m3, { hmacKey: 'AAAA' })
caseOOO('null-message', null)
caseOOO('empty-object', {})

// --- queue + validate -----------------------------------------------------------------------
// Steps run on one state: {op:'queue', message} records state.error after the call;
// {op:'validate', feed} records whether validate threw. The final feed state is recorded too.
const queueCases = []
function caseQueue(name, steps, hmacKey = null) {
  const st = v.initial()
  const out = []
  for (const step of steps) {
    if (step.op === 'queue') {
      v.queue(st, step.message)
      out.push({
        op: 'queue',
        message: step.message,
        error: st.error ? errorRecord(st.error) : null,
      })
    } else {
      const r = { op: 'validate', feed: step.feed }
      try {
        v.validate(st, hmacKey, step.feed)
        r.valid = true
      } catch (err) {
        Object.assign(r, errorRecord(err))
      }
      out.push(r)
    }
  }
  const feedsOut = {}
  for (const [k, f] of Object.entries(st.feeds)) {
    feedsOut[k] = { ...feedState(f), queued: f.queue.map((kvt) => kvt.key) }
  }
  queueCases.push({
    name: uniqueName(`queue/${name}`),
    hmacKey,
    steps: out,
    final: {
      validated: st.validated,
      queued: st.queued,
      accepted: st.queue.map((kvt) => kvt.key),
      feeds: feedsOut,
    },
  })
}
caseQueue('three-valid', [
  { op: 'queue', message: m1 },
  { op: 'queue', message: m2 },
  { op: 'queue', message: m3 },
  { op: 'validate', feed: alice.id },
])
{
  // the middle message has a broken signature; only the last one is verified
  const bad2 = tamper(m2, (o) => {
    o.content = { type: 'post', text: 'tampered' }
  })
  const m3b = next((o) => {
    o.previous = v.id(bad2)
  })
  caseQueue('bad-signature-in-the-middle-accepted', [
    { op: 'queue', message: m1 },
    { op: 'queue', message: bad2 },
    { op: 'queue', message: m3b },
    { op: 'validate', feed: alice.id },
  ])
  const bad3 = tamper(m3, (o) => {
    o.content = { type: 'post', text: 'tampered' }
  })
  caseQueue('bad-signature-last', [
    { op: 'queue', message: m1 },
    { op: 'queue', message: m2 },
    { op: 'queue', message: bad3 },
    { op: 'validate', feed: alice.id },
  ])
}
caseQueue('gap-rejected-by-queue', [
  { op: 'queue', message: m1 },
  { op: 'queue', message: m3 },
  { op: 'queue', message: m2 },
  { op: 'validate', feed: alice.id },
])
caseQueue('alternative-second-message-first-seen', [
  { op: 'queue', message: m1 },
  {
    op: 'queue',
    message: next((o) => {
      o.sequence = 2
      o.previous = v.id(m1)
    }),
  },
  { op: 'queue', message: m2 },
  { op: 'validate', feed: alice.id },
])
caseQueue('fork-rejected-by-queue', [
  { op: 'queue', message: m1 },
  { op: 'queue', message: m2 },
  {
    op: 'queue',
    message: next((o) => {
      o.previous = v.id(m1)
    }),
  },
  { op: 'queue', message: m3 },
  { op: 'validate', feed: alice.id },
])
caseQueue('validate-unknown-feed', [{ op: 'validate', feed: bob.id }])

// --- create ----------------------------------------------------------------------------------
// ssbValidate.create(state, keys, hmacKey, content, timestamp). `state` here is a feed state
// {id, sequence, timestamp} (the script adds `queue: []`, which create's flatState needs).
// `timestamp` absent means it was not passed (undefined).
const createCases = []
function caseCreate(name, input) {
  const k = keys[input.keys]
  const fstate = input.state ? { ...input.state, queue: [] } : input.state
  const rec = { name: uniqueName(`create/${name}`), ...input }
  if (input.note) rec.note = input.note
  try {
    const msg = v.create(fstate, k, input.hmacKey, input.content, input.timestamp)
    rec.ok = true
    rec.message = msg
    rec.id = v.id(msg)
    // what append then says about the created message
    const st = v.initial()
    if (input.state) st.feeds[k.id] = { ...input.state, queue: [] }
    try {
      v.append(st, input.hmacKey, msg)
      rec.append = { valid: true }
    } catch (err) {
      rec.append = errorRecord(err)
    }
  } catch (err) {
    rec.ok = false
    Object.assign(rec, errorRecord(err))
    delete rec.valid
  }
  createCases.push(rec)
}
const post = { type: 'post', text: 'created' }
caseCreate('first-message', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: T0,
})
caseCreate('after-state', {
  keys: 'alice',
  hmacKey: null,
  state: afterM2,
  content: post,
  timestamp: T0 + 3000,
})
caseCreate('hmac', { keys: 'bob', hmacKey: HMAC, state: null, content: post, timestamp: T0 })
caseCreate('fractional-timestamp', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: T0 + 0.25,
})
caseCreate('timestamp-numeric-string', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: '1700000000000',
})
caseCreate('timestamp-true', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: true,
})
caseCreate('timestamp-empty-string', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: '',
})
caseCreate('timestamp-empty-array', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: [],
})
caseCreate('timestamp-zero', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: 0,
})
caseCreate('timestamp-missing', { keys: 'alice', hmacKey: null, state: null, content: post })
caseCreate('timestamp-null', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: null,
})
caseCreate('timestamp-not-a-number', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: 'yesterday',
})
caseCreate('timestamp-object', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: post,
  timestamp: {},
})
caseCreate('content-number', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: 5,
  timestamp: T0,
})
caseCreate('content-null', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: null,
  timestamp: T0,
})
caseCreate('content-plain-string', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: 'hello',
  timestamp: T0,
})
caseCreate('content-true', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: true,
  timestamp: T0,
})
caseCreate('content-array', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: [],
  timestamp: T0,
})
caseCreate('content-dot-box', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: '.box',
  timestamp: T0,
})
caseCreate('content-AAB=.box', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: 'AAB=.box',
  timestamp: T0,
})
caseCreate('content-type-too-short', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: { type: 'ab' },
  timestamp: T0,
})
caseCreate('content-type-missing', {
  keys: 'alice',
  hmacKey: null,
  state: null,
  content: { text: 'x' },
  timestamp: T0,
})
{
  // size: create measures the unsigned message, so it can return a message append rejects
  const sig = ssbKeys.signObj(alice, null, unsignedFor(alice, null, T0, { type: 'post', text: '' }))
  const sigLine = v.encode(sig).length - v.encode(unsigned(sig)).length
  const fits = sizedContent(alice, null, null, T0, 'post', 'x', 8192)
  caseCreate('size-8192-after-signing', {
    keys: 'alice',
    hmacKey: null,
    state: null,
    content: fits,
    timestamp: T0,
  })
  const over = sizedContent(alice, null, null, T0, 'post', 'x', 8193)
  caseCreate('size-8193-after-signing', {
    keys: 'alice',
    hmacKey: null,
    state: null,
    content: over,
    timestamp: T0,
    note: 'unsigned it is under 8192, so create signs it; append then rejects it',
  })
  const unsignedMax = { type: 'post', text: over.text + 'x'.repeat(sigLine - 1) }
  if (v.encode(unsignedFor(alice, null, T0, unsignedMax)).length !== 8192) {
    throw new Error('unsigned size is not 8192')
  }
  caseCreate('size-unsigned-8192', {
    keys: 'alice',
    hmacKey: null,
    state: null,
    content: unsignedMax,
    timestamp: T0,
    note: `the unsigned message is exactly 8192 units; the signature line adds ${sigLine}`,
  })
  const unsignedOver = { type: 'post', text: `${unsignedMax.text}x` }
  caseCreate('size-unsigned-8193', {
    keys: 'alice',
    hmacKey: null,
    state: null,
    content: unsignedOver,
    timestamp: T0,
  })
}
caseCreate('hmac-invalid-key', {
  keys: 'alice',
  hmacKey: 'AAAA',
  state: null,
  content: post,
  timestamp: T0,
})

// --- key orders --------------------------------------------------------------------------------
function permutations(arr) {
  if (arr.length <= 1) return [arr.slice()]
  const out = []
  arr.forEach((x, i) => {
    for (const rest of permutations([...arr.slice(0, i), ...arr.slice(i + 1)]))
      out.push([x, ...rest])
  })
  return out
}
const keyOrders = []
function orderVerdict(order, sigIndex) {
  const unsignedMsg = withOrder(m3, order)
  const signed = ssbKeys.signObj(alice, null, unsignedMsg)
  const full = [...order]
  full.splice(sigIndex, 0, 'signature')
  const message = withOrder(signed, full)
  const st = v.initial()
  st.feeds[alice.id] = { ...afterM2, queue: [] }
  const rec = { order: full, signature: signed.signature }
  try {
    v.append(st, null, message)
    rec.valid = true
  } catch (err) {
    Object.assign(rec, errorRecord(err))
  }
  keyOrders.push(rec)
}
for (const order of permutations(ORDER)) orderVerdict(order, 6)
for (const order of [ORDER, ['previous', 'author', 'sequence', 'timestamp', 'hash', 'content']]) {
  for (let i = 0; i < 6; i++) orderVerdict(order, i)
}

// --- write -------------------------------------------------------------------------------------
function write(file, data) {
  const text = JSON.stringify(
    data,
    (_k, value) => (typeof value === 'number' && Object.is(value, -0) ? NEG_ZERO : value),
    2,
  ).replaceAll(`"${NEG_ZERO}"`, '-0')
  fs.mkdirSync(OUT, { recursive: true })
  fs.writeFileSync(path.join(OUT, file), `${text}\n`)
  console.log(`${file}: ${Buffer.byteLength(text)} bytes`)
}

write('feeds.json', {
  generator: 'scripts/make-fixtures.cjs with ssb-validate 4.1.4, ssb-keys 8.5.0',
  keys: keysOut,
  hmacKey: HMAC,
  feeds,
})
write('cases.json', {
  generator: 'scripts/make-fixtures.cjs with ssb-validate 4.1.4, ssb-keys 8.5.0',
  keys: keysOut,
  hmacKeys: { main: HMAC, other: HMAC2 },
  append: appendCases,
  ooo: oooCases,
  queue: queueCases,
  create: createCases,
})
write('key-orders.json', {
  generator: 'scripts/make-fixtures.cjs with ssb-validate 4.1.4, ssb-keys 8.5.0',
  note:
    'message = the fields of base in `order`, with `signature`; state = the feed state given; ' +
    'append(state, null, message) verdict',
  base: unsigned(m3),
  state: afterM2,
  cases: keyOrders,
})
console.log(
  `feeds ${feeds.length} (${feeds.map((f) => f.messages.length).join('+')} messages), ` +
    `append ${appendCases.length}, ooo ${oooCases.length}, queue ${queueCases.length}, ` +
    `create ${createCases.length}, key orders ${keyOrders.length}`,
)
