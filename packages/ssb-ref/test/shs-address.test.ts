import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  findShsAddresses,
  InvalidAddressError,
  isStrictFeedId,
  parseLegacyAddress,
  parseNetShsAddress,
  parseShsAddress,
  type ShsAddress,
  stringifyLegacyAddress,
  stringifyNetShsAddress,
  stringifyShsAddress,
} from '@scuttlekit/ssb-ref'
import {
  addressStrings,
  FEED,
  garbage,
  KEY,
  KEY2,
  NONCANONICAL_KEY,
  quiet,
  ref,
  SEED,
} from './helpers.js'

const canonical = [
  `net:145.12.20.3:8008~shs:${KEY}`,
  `net:145.12.20.3:8008~shs:${KEY}:${SEED}`,
  `net:example.com:8008~shs:${KEY}`,
  `net:localhost:0~shs:${KEY}`,
  `net:localhost:65535~shs:${KEY}`,
  `net:::1:8008~shs:${KEY}`,
  `net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:${KEY2}`,
  `net:2a03:2267::ba27:ebff:fe8c:5a4d:8080~shs:${KEY}:${SEED}`,
  `onion:xyz.onion:8008~shs:${KEY}`,
  `ws://145.12.20.3:8989~shs:${KEY}`,
  `ws://example.com:80~shs:${KEY}`,
  `wss://example.com:443~shs:${KEY}:${SEED}`,
  `ws://[::1]:8989~shs:${KEY}`,
  `ws://[fcbc:6c66::498f]:8989~shs:${KEY}`,
]

test('parse then stringify gives every canonical shs address back', () => {
  for (const text of canonical) {
    const parsed = parseShsAddress(text)
    assert.equal(stringifyShsAddress(parsed), text, text)
    assert.deepStrictEqual(parseShsAddress(stringifyShsAddress(parsed)), parsed, text)
  }
})

test('parseNetShsAddress: host, port, key and seed', () => {
  assert.deepStrictEqual(parseNetShsAddress(`net:::1:8008~shs:${KEY}`), {
    host: '::1',
    port: 8008,
    key: FEED,
  })
  assert.deepStrictEqual(parseNetShsAddress(`net:10.0.0.1:8008~shs:${KEY}:${SEED}`), {
    host: '10.0.0.1',
    port: 8008,
    key: FEED,
    seed: SEED,
  })
  // multiserver's net plugin reads an empty host as localhost.
  assert.equal(parseNetShsAddress(`net::8008~shs:${KEY}`).host, 'localhost')
  assert.throws(() => parseNetShsAddress(`ws://h.com:80~shs:${KEY}`), InvalidAddressError)
  assert.equal(
    stringifyNetShsAddress({ host: '::1', port: 8008, key: FEED, seed: SEED }),
    `net:::1:8008~shs:${KEY}:${SEED}`,
  )
})

test('ws and wss: URL authority, brackets for IPv6, default ports', () => {
  assert.deepStrictEqual(parseShsAddress(`wss://example.com~shs:${KEY}`), {
    transport: 'wss',
    host: 'example.com',
    port: 443,
    key: FEED,
  })
  assert.equal(parseShsAddress(`ws://example.com~shs:${KEY}`).port, 80)
  assert.equal(parseShsAddress(`ws://[::1]:8989~shs:${KEY}`).host, '::1')
  assert.equal(
    stringifyShsAddress({ transport: 'ws', host: 'fe80::1', port: 80, key: FEED }),
    `ws://[fe80::1]:80~shs:${KEY}`,
  )
})

test('bad shs addresses throw InvalidAddressError', () => {
  const bad = [
    `net:h.com:8008~shs:${NONCANONICAL_KEY}`,
    `net:h.com:8008~shs:${KEY.slice(0, 43)}`,
    `net:h.com:8008~shs:${KEY}A`,
    `net:h.com:8008~shs:${Buffer.alloc(33).toString('base64')}`,
    `net:h.com:8008~shs:${KEY}:${SEED.slice(0, 43)}`,
    `net:h.com:8008~shs:${KEY}:${Buffer.alloc(31).toString('base64')}`,
    `net:h.com:8008~shs:${KEY}:${SEED}:extra`,
    `net:h.com:8008~shs`,
    `net:h.com:8008~shs2:${KEY}`,
    `net:h.com:8008~noauth`,
    `net:h.com:8008~shs:${KEY}~noauth`,
    `net:h.com:8008`,
    `net:h.com:65536~shs:${KEY}`,
    `net:h.com:0x1f40~shs:${KEY}`,
    `net:h.com:-1~shs:${KEY}`,
    `net:h.com:~shs:${KEY}`,
    `net:h.com:1e3~shs:${KEY}`,
    `net:8008~shs:${KEY}`,
    `net:h!!x.com:8008~shs:${KEY}`,
    `net:h!:x:8008~shs:${KEY}`,
    `onion::8008~shs:${KEY}`,
    `ws://h.com:8989/path~shs:${KEY}`,
    `ws://user@h.com:8989~shs:${KEY}`,
    `ws:h.com:8989~shs:${KEY}`,
    `ws://h.com:~shs:${KEY}`,
    `unix:/s~noauth`,
    `tor:h.com:8008~shs:${KEY}`,
    `net:h.com:8008~shs:${KEY};net:h.com:8009~shs:${KEY}`,
    `net:h com:8008~shs:${KEY}`,
    `@${KEY}.ed25519`,
    '',
  ]
  for (const text of bad) assert.throws(() => parseShsAddress(text), InvalidAddressError, text)
  for (const value of garbage) {
    assert.throws(() => parseShsAddress(value as string), InvalidAddressError)
  }
  const good: ShsAddress = { transport: 'net', host: 'h.com', port: 8008, key: FEED }
  const broken: unknown[] = [
    { ...good, transport: 'unix' },
    { ...good, host: '' },
    { ...good, host: 'a b' },
    { ...good, host: 'a~b' },
    { ...good, host: 'é.com' },
    { ...good, port: 65536 },
    { ...good, port: -1 },
    { ...good, port: '8008' },
    { ...good, key: `@${KEY}.sha256` },
    { ...good, key: `@${KEY}xed25519` },
    { ...good, seed: 'short' },
    { ...good, transport: 'ws', host: 'h.com/path' },
    null,
  ]
  for (const value of broken) {
    assert.throws(() => stringifyShsAddress(value as ShsAddress), InvalidAddressError)
  }
})

test('findShsAddresses picks the shs routes out of a multi-address', () => {
  const text = `unix:/s~noauth;net:10.0.0.1:8008~shs:${KEY};tor:x~shs:${KEY};ws://10.0.0.1:8989~shs:${KEY2}`
  assert.deepStrictEqual(findShsAddresses(text), [
    { transport: 'net', host: '10.0.0.1', port: 8008, key: FEED },
    { transport: 'ws', host: '10.0.0.1', port: 8989, key: `@${KEY2}.ed25519` },
  ])
  assert.deepStrictEqual(findShsAddresses('unix:/s~noauth'), [])
  assert.throws(() => findShsAddresses('not an address'), InvalidAddressError)
})

test('where both parse an address, ours agrees with ssb-ref on host, port and key', () => {
  let compared = 0
  for (const text of addressStrings) {
    let address: ShsAddress
    try {
      address = parseShsAddress(text)
    } catch {
      continue
    }
    const theirs = quiet(() => ref.parseAddress!(text as never)) as unknown as
      | { host: string; port: number; key: string }
      | false
    if (!theirs) continue
    compared++
    const prefix =
      address.transport === 'ws' || address.transport === 'wss' ? `${address.transport}://` : ''
    // An empty net host: multiserver dials localhost, ssb-ref keeps '' (npm ip calls '' IPv6).
    const expectedHost = theirs.host === '' ? 'localhost' : theirs.host
    assert.equal(`${prefix}${address.host}`, expectedHost, text)
    assert.equal(theirs.port, address.port, text)
    assert.equal(theirs.key, address.key, text)
  }
  assert.ok(compared >= 10, `only ${compared} addresses compared`)
})

test('legacy addresses: string and object forms, converted as ssb-ref converts them', () => {
  const legacy = [
    `145.12.20.3:8080:${FEED}`,
    `example.com:8008:${FEED}`,
    `xyz.onion:8008:${FEED}`,
    `ws://example.com:8989:${FEED}`,
    `wss://example.com:443:${FEED}`,
    `::1:8080:${FEED}`,
    `2a03:2267::ba27:ebff:fe8c:5a4d:8080:${FEED}`,
  ]
  for (const text of legacy) {
    const address = parseLegacyAddress(text)
    assert.equal(stringifyLegacyAddress(address), text, text)
    assert.equal(
      stringifyShsAddress(address),
      quiet(() => ref.toMultiServerAddress!(ref.parseAddress!(text as never) as never)),
      text,
    )
  }
  assert.deepStrictEqual(parseLegacyAddress({ host: 'xyz.onion', port: 8008, key: FEED }), {
    transport: 'onion',
    host: 'xyz.onion',
    port: 8008,
    key: FEED,
  })
  assert.equal(parseLegacyAddress(`ws://[::1]:8989:${FEED}`).host, '::1')
  for (const bad of [
    `145.12.20.3:8080:@${KEY}.sha256`,
    `145.12.20.3:8080:@${NONCANONICAL_KEY}.ed25519`,
    `145.12.20.3::${FEED}`,
    `145.12.20.3:0x10:${FEED}`,
    `:8080:${FEED}`,
    FEED,
    'garbage',
    { host: 'h.com', port: '8008', key: FEED },
    { host: 'h.com', port: 8008 },
    { host: 5, port: 8008, key: FEED },
    null,
    42,
  ]) {
    assert.throws(() => parseLegacyAddress(bad as string), InvalidAddressError, String(bad))
  }
})

test('isStrictFeedId accepts only the written form of a key', () => {
  assert.equal(isStrictFeedId(FEED), true)
  assert.equal(isStrictFeedId(`@${KEY}.sha256`), false)
  assert.equal(isStrictFeedId(`@${KEY}xed25519`), false)
  assert.equal(isStrictFeedId(`@${NONCANONICAL_KEY}.ed25519`), false)
  assert.equal(isStrictFeedId(null), false)
})
