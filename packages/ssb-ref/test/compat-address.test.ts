import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as api from '@scuttlekit/ssb-ref'
import {
  addressStrings,
  FEED,
  garbage,
  idStrings,
  inviteStrings,
  KEY,
  makeGarbage,
  NONCANONICAL_KEY,
  normalize,
  randomStrings,
  ref,
  same,
} from './helpers.js'

// A plain copy of the namespace, so tests can look functions up by name.
const ours = { ...api }

// Fresh objects for every call: toAddress modifies its argument.
const objectInputs: Array<() => unknown> = [
  () => ({ host: '145.12.20.3', port: 8080, key: FEED }),
  () => ({ host: 'example.com', port: 8008, key: FEED, extra: true }),
  () => ({ host: 'xyz.onion', port: 8008, key: FEED }),
  () => ({ host: 'ws://example.com', port: 8989, key: FEED }),
  () => ({ host: 'wss://example.com', port: 443, key: FEED }),
  () => ({ host: '::1', port: 8008, key: FEED }),
  () => ({ host: '', port: 8008, key: FEED }),
  () => ({ host: 'localhost', port: '8008', key: FEED }),
  () => ({ host: 'localhost', port: -1, key: FEED }),
  () => ({ host: 'localhost', port: 0, key: FEED }),
  () => ({ host: 'localhost', port: 65536, key: FEED }),
  () => ({ host: 'localhost', port: 65537, key: FEED }),
  () => ({ host: 'localhost', port: 8008.5, key: FEED }),
  () => ({ host: 'localhost', port: null, key: FEED }),
  () => ({ host: 'localhost', port: 8008, key: `@${KEY}xed25519` }),
  () => ({ host: 'localhost', port: 8008, key: `@${KEY}.sha256` }),
  () => ({ host: 'localhost', port: 8008, key: `@${NONCANONICAL_KEY}.ed25519` }),
  () => ({ host: 'localhost', port: 8008, key: KEY }),
  () => ({ host: 5, port: 8008, key: FEED }),
  () => ({ host: 'bad host', port: 8008, key: FEED }),
  () => ({ port: 8008, key: FEED }),
  () => ({ host: 'localhost', key: FEED }),
  () => ({ key: FEED }),
  () => ({ host: 'localhost', port: 8008 }),
  () => Object.freeze({ host: '', port: 0, key: FEED }),
  () => ({ host: 'a.co.uk*', port: 8008, key: FEED }),
]

const longStrings = [
  'a'.repeat(2000),
  `net:${'a'.repeat(2000)}:8008~shs:${KEY}`,
  `${'1:'.repeat(1000)}@${KEY}.ed25519`,
  `${':'.repeat(2000)}`,
  `${'a.'.repeat(1000)}com:8008:@${KEY}.ed25519`,
]

const stringInputs = [
  ...addressStrings,
  ...inviteStrings,
  ...idStrings,
  ...longStrings,
  ...randomStrings(
    31,
    1500,
    ['net', ':', '~', 'shs', KEY, '8008', '::1', 'a.com', '!', ';', '@', '.ed25519', 'ws://', 'x'],
    8,
  ),
]

const allInputs: Array<() => unknown> = [
  ...stringInputs.map((s) => () => s),
  ...garbage.map((_, i) => () => makeGarbage()[i]),
  ...objectInputs,
]

test('isAddress and isLegacyAddress agree with ssb-ref (truthiness)', () => {
  for (const make of allInputs) {
    for (const name of ['isAddress', 'isLegacyAddress'] as const) {
      same(
        name,
        make(),
        () => ours[name](make()),
        () => ref[name]!(make() as never),
        Boolean,
      )
    }
  }
  assert.equal(ref.isAddress!({ host: 5, port: 8008, key: FEED } as never), undefined)
  assert.equal(ours.isAddress({ host: 5, port: 8008, key: FEED }), false)
})

test('toLegacyAddress, parseAddress, toAddress and toMultiServerAddress agree with ssb-ref', () => {
  for (const make of allInputs) {
    for (const name of [
      'toLegacyAddress',
      'parseAddress',
      'toAddress',
      'toMultiServerAddress',
    ] as const) {
      same(
        name,
        make(),
        () => (ours[name] as (x: unknown) => unknown)(make()),
        () => ref[name]!(make() as never),
        normalize,
      )
    }
  }
})

test('toAddress modifies an object argument in place, as ssb-ref does', () => {
  const mine = { host: '', port: 0, key: FEED }
  const theirs = { host: '', port: 0, key: FEED }
  assert.equal(ours.toAddress(mine), mine)
  assert.equal(ref.toAddress!(theirs as never), theirs)
  assert.deepStrictEqual(mine, theirs)
  assert.deepStrictEqual(mine, { host: 'localhost', port: 8008, key: FEED })
})

test('getKeyFromAddress agrees with ssb-ref', () => {
  const extra = [
    () => ({ key: 'anything' }),
    () => ({ key: 5 }),
    () => ({ key: '' }),
    () => Object.create(null),
    () => [Object.create(null)],
    () => new String(`shs:${KEY}`),
    () => `x:y~shs`,
    () => `ab~shs2:foo:bar`,
    () => `ab:x!:y~shs:a!:b`,
  ]
  for (const make of [...allInputs, ...extra]) {
    same(
      'getKeyFromAddress',
      make(),
      () => ours.getKeyFromAddress(make() as string),
      () => ref.getKeyFromAddress!(make() as never),
    )
  }
})

test('ssb-ref test vectors (test/multiserver.js, test/invites.js, test/nope.js)', () => {
  const objAddr = { host: '145.12.20.3', port: 8080, key: FEED }
  assert.ok(ours.isAddress(`net:145.12.20.3:8080~shs:${KEY}`))
  assert.deepStrictEqual(ours.parseAddress(`net:145.12.20.3:8080~shs:${KEY}`), objAddr)
  assert.ok(ours.isAddress(objAddr))
  assert.ok(!ours.isAddress({}))
  assert.ok(ours.isAddress(`onion:xyz.onion:8080~shs:${KEY}`))
  assert.ok(ours.isAddress(`2a03:2267::ba27:ebff:fe8c:5a4d:8080:${FEED}`))
  assert.ok(ours.isAddress(`::1:8080:${FEED}`))
  assert.equal(ours.getKeyFromAddress(`net:145.12.20.3:8080~shs:${KEY}:${KEY}`), FEED)
  assert.doesNotThrow(() =>
    ours.getKeyFromAddress('INVITE sip:0019294040830@51.15.166.54:8008 SIP/2.0'),
  )
  assert.equal(ours.isAddress('http://example.com'), false)
  assert.equal(ours.getKeyFromAddress('http://example.com'), undefined)
})

test('quirks: hex and negative ports, the lost seed, ~shs:@ and the first route winning', () => {
  assert.deepStrictEqual(ours.toLegacyAddress(`net:h.com:0x10~shs:${KEY}`), {
    host: 'h.com',
    port: 16,
    key: FEED,
  })
  assert.equal((ours.toLegacyAddress(`net:h.com:-5~shs:${KEY}`) as { port: number }).port, -5)
  // The seed is read from the third shs field, so a real invite's seed is dropped...
  assert.deepStrictEqual(
    ours.toLegacyAddress(`net:h.com:8008~shs:${KEY}:${KEY}`),
    ref.toLegacyAddress!(`net:h.com:8008~shs:${KEY}:${KEY}` as never),
  )
  assert.ok(!('seed' in (ours.toLegacyAddress(`net:h.com:8008~shs:${KEY}:${KEY}`) as object)))
  // ...and a field after it becomes the "seed".
  assert.equal(
    (ours.toLegacyAddress(`net:h.com:8008~shs:${KEY}:a:b`) as { seed: string }).seed,
    'b',
  )
  assert.equal(
    ours.toMultiServerAddress({ host: 'h.com', port: 8008, key: `@${KEY}xed25519` as never }),
    'net:h.com:8008~shs:@',
  )
  assert.equal(
    ours.toLegacyAddress(`net:bad host:8008~shs:${KEY};net:h.com:8008~shs:${KEY}`),
    false,
  )
  assert.equal(ours.toLegacyAddress(`net:_:8008~shs:${KEY};net:h.com:8008~shs:${KEY}`), false)
  assert.equal(ours.toMultiServerAddress(null as never), null)
  assert.throws(
    () => ours.toMultiServerAddress({ host: 'h.com', port: 8008, key: 'x' as never }),
    ours.InvalidAddressError,
  )
})

test('megabyte inputs get the same answers as short ones (ssb-ref takes ~30 s at 20 kB)', () => {
  const long = 'a'.repeat(1_000_000)
  assert.equal(ours.isAddress(long), false)
  assert.equal(ours.type(long), false)
  assert.equal(ours.toLegacyAddress(`net:${long}.com:8008~shs:${KEY}`), false)
  assert.equal(ours.isAddress(`net:${long}.com:8008~shs:${KEY}`), true)
  assert.equal(ours.getKeyFromAddress(`net:${long}:8008~shs:${KEY}`), FEED)
  assert.equal(ours.isInvite(`${long}:8008:${FEED}~${KEY}`), false)
  assert.equal(ours.isAddress(`${'1:'.repeat(500_000)}${FEED}`), false)
})
