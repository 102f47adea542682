import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  escapeMultiserverData,
  InvalidAddressError,
  isMultiserverAddress,
  isMultiserverName,
  type MultiserverAddress,
  parseMultiserverAddress,
  stringifyMultiserverAddress,
} from '@scuttlekit/ssb-ref'
import {
  addressStrings,
  garbage,
  inviteStrings,
  KEY,
  msAddress,
  randomStrings,
  SEED,
} from './helpers.js'

function decodeWithReference(text: string): MultiserverAddress {
  return msAddress
    .decode(text)
    .map(([transport, ...transforms]) => ({ transport: transport!, transforms }))
}

const grammarCorpus = [
  ...addressStrings,
  ...inviteStrings,
  ...randomStrings(
    21,
    6000,
    [
      'net',
      'a',
      'z',
      '0',
      '-',
      ':',
      '~',
      ';',
      '!',
      '!!',
      '!:',
      '!~',
      '!;',
      '!a',
      ' ',
      '"',
      '}',
      '<',
      '=',
      '/',
      'é',
      '\n',
      'A',
    ],
    10,
  ),
]

test('isMultiserverAddress and parseMultiserverAddress agree with npm multiserver-address', () => {
  for (const text of grammarCorpus) {
    const expected = msAddress.check(text)
    assert.equal(isMultiserverAddress(text), expected, JSON.stringify(text))
    if (expected) {
      assert.deepStrictEqual(
        parseMultiserverAddress(text),
        decodeWithReference(text),
        JSON.stringify(text),
      )
    } else {
      assert.throws(() => msAddress.decode(text))
      assert.throws(() => parseMultiserverAddress(text), InvalidAddressError, JSON.stringify(text))
    }
  }
  for (const value of garbage) {
    if (typeof value !== 'string') assert.equal(isMultiserverAddress(value), false)
  }
})

test('parse then stringify gives the input back, escapes included', () => {
  const forms = [
    `net:145.12.20.3:8008~shs:${KEY}`,
    `net:145.12.20.3:8008~shs:${KEY}:${SEED}`,
    `net:::1:8008~shs:${KEY}`,
    `net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:${KEY}`,
    `ws://145.12.20.3:8989~shs:${KEY}`,
    `wss://example.com:443~shs:${KEY}`,
    `ws://[::1]:8989~shs:${KEY}`,
    `onion:xyz.onion:8008~shs:${KEY}`,
    'unix:/home/u/.ssb/socket~noauth',
    'noauth',
    'net::8008',
    `net:10.0.0.1:8008~shs:${KEY};ws://10.0.0.1:8989~shs:${KEY};unix:/s~noauth`,
    'x-1:a!!b!~c!:d!;e::~y2:!!',
    'ab:',
    'ab::',
  ]
  for (const text of [...forms, ...grammarCorpus.filter((t) => msAddress.check(t))]) {
    assert.equal(stringifyMultiserverAddress(parseMultiserverAddress(text)), text, text)
  }
})

test('the model: transport first, transforms after, data unescaped', () => {
  assert.deepStrictEqual(parseMultiserverAddress('net:a!!b!~c!:d!;e:f~shs'), [
    {
      transport: { name: 'net', data: ['a!b~c:d;e', 'f'] },
      transforms: [{ name: 'shs', data: [] }],
    },
  ])
  assert.deepStrictEqual(parseMultiserverAddress('net:::1:8008'), [
    { transport: { name: 'net', data: ['', '', '1', '8008'] }, transforms: [] },
  ])
})

test('stringify rejects what the grammar cannot carry', () => {
  const route = (name: string, data: string[]) => [{ transport: { name, data }, transforms: [] }]
  assert.throws(() => stringifyMultiserverAddress([]), InvalidAddressError)
  assert.throws(() => stringifyMultiserverAddress(route('n', [])), InvalidAddressError)
  assert.throws(() => stringifyMultiserverAddress(route('Net', [])), InvalidAddressError)
  assert.throws(() => stringifyMultiserverAddress(route('net', ['a b'])), InvalidAddressError)
  assert.throws(() => stringifyMultiserverAddress(route('net', ['é'])), InvalidAddressError)
  assert.throws(() => stringifyMultiserverAddress(route('net', ['\x7f'])), InvalidAddressError)
  assert.equal(escapeMultiserverData('a!b~c:d;e'), 'a!!b!~c!:d!;e')
  assert.equal(isMultiserverName('ab'), true)
  assert.equal(isMultiserverName('a'), false)
  assert.equal(isMultiserverName('1a'), false)
})

test('very long input is handled in linear time (the reference is quadratic)', () => {
  const long = `net:${'a'.repeat(1_000_000)}:8008~shs:${KEY}`
  assert.equal(isMultiserverAddress(long), true)
  assert.equal(parseMultiserverAddress(long)[0]!.transport.data[0]!.length, 1_000_000)
  assert.equal(isMultiserverAddress(`${';'.repeat(1_000_000)}`), false)
  assert.equal(parseMultiserverAddress('ab;'.repeat(100_000).slice(0, -1)).length, 100_000)
})
