import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import * as api from '@scuttlekit/ssb-ref'
import {
  addressStrings,
  BLOB,
  FEED,
  garbage,
  idStrings,
  inviteStrings,
  MSG,
  randomStrings,
  ref,
  same,
} from './helpers.js'

// A plain copy of the namespace, so tests can look functions up by name.
const ours = { ...api }

const require = createRequire(import.meta.url)
const querystring = require('node:querystring') as { parse(text: string): unknown }

// ssb-ref's own test vectors (node_modules/ssb-ref/test/{blobs,feeds,messages}.js).
const blobUrls = [
  'http://localhost:7777/#/blob/%2651ZXxNYIvTDCoNTE9R94NiEg3JAZAxWtKn4h4SmBwyY%3D.sha256',
  'http://localhost:7777/#/blob/&51ZXxNYIvTDCoNTE9R94NiEg3JAZAxWtKn4h4SmBwyY=.sha256',
  'http://localhost:7777/%2651ZXxNYIvTDCoNTE9R94NiEg3JAZAxWtKn4h4SmBwyY%3D.sha256',
  'http://localhost:7777/&51ZXxNYIvTDCoNTE9R94NiEg3JAZAxWtKn4h4SmBwyY=.sha256?foo=bar',
  'http://localhost:7777/&amp;51ZXxNYIvTDCoNTE9R94NiEg3JAZAxWtKn4h4SmBwyY=.sha256?foo=bar',
]
const feedUrls = [
  'http://localhost:7777/#/profile/%40jEA8WSl0URsB%2Fg%2FXYG5zCGBkMOyTeBZfGtbw3RJMIuk%3D.ed25519',
  'http://localhost:7777/@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ed25519?foo=bar',
]
const msgUrls = [
  'http://localhost:7777/#/msg/%25pGzeEydYdHjKW1iIchR0Yumydsr3QSp8%2BFuYcwVwi8Q%3D.sha256',
  'http://localhost:7777/%pGzeEydYdHjKW1iIchR0Yumydsr3QSp8+FuYcwVwi8Q=.sha256?foo=bar',
  encodeURIComponent(MSG),
  encodeURIComponent('%09abcdefghyq9KH6dYMc/g17L04jDbl1py8arGQmL1I=.sha256'),
]
const extractInputs = [
  ...blobUrls,
  ...feedUrls,
  ...msgUrls,
  `see ${FEED} and ${MSG}`,
  `%E0%A4%A ${encodeURIComponent(BLOB)}`,
  `%E0%A4%A`,
  'no link here',
  `[link](${BLOB.replace('=', '%3D')})`,
  `${FEED.slice(0, 20)}\n${FEED.slice(20)}`,
  `&amp;${BLOB.slice(1)}`,
  `%26amp;${BLOB.slice(1)}`,
  `@${'A'.repeat(43)}=.`,
  `@${'A'.repeat(43)}=._x_`,
]

const linkInputs = [...idStrings, ...garbage, ...extractInputs, 'x'.repeat(100_000)]

test('isLink, isBlobLink and isMsgLink agree with ssb-ref', () => {
  for (const name of ['isLink', 'isBlobLink', 'isMsgLink'] as const) {
    for (const input of linkInputs) {
      same(
        name,
        input,
        () => ours[name](input),
        () => ref[name]!(input as never),
      )
    }
  }
  assert.throws(() => ours.isBlobLink(null), TypeError)
})

test('extract agrees with ssb-ref, URL-encoded and &amp; forms included', () => {
  for (const input of [...linkInputs, ...addressStrings]) {
    same(
      'extract',
      input,
      () => ours.extract(input),
      () => ref.extract!(input as never),
    )
  }
  for (const url of blobUrls) assert.equal(ours.extract(url), BLOB)
})

test('parseLink agrees with ssb-ref, query strings included', () => {
  const queries = [
    'unbox=abcdefgqAYfzLrychmP5KchZ6JaLHyYv1aYOviDnSZk=.boxs&another=test',
    'unbox=AZlr+tZIJQ iHq',
    'unbox=a&unbox=b',
    'unbox=a%2Bb+c',
    'a=1&a=2&a=3',
    'a',
    'a=',
    '=a',
    '&',
    '&&a=1&&',
    '==',
    'a==b',
    '+=+',
    'a%20b=c%20d',
    'a%2=%zz',
    '%=%',
    '%41%zz=%E0%A4%A',
    'k%41%41=é%',
    'k%41=%ff%fe',
    'é=ü&ü=%C3%BC',
    '__proto__=x&constructor=y&toString=z',
    'hasOwnProperty=1&hasOwnProperty=2',
    '\ud800=\udc00',
    `${'a=1&'.repeat(1200)}b=2`,
    `${'&'.repeat(1200)}b=2`,
  ]
  const inputs: unknown[] = [...linkInputs]
  for (const q of queries) {
    inputs.push(`${BLOB}?${q}`, `${MSG}?${q}`)
  }
  for (const input of inputs) {
    same(
      'parseLink',
      input,
      () => ours.parseLink(input),
      () => ref.parseLink!(input as never),
    )
  }
})

test('the query parser matches node:querystring on random strings', () => {
  const alphabet = [
    'a',
    'b',
    '=',
    '&',
    '+',
    '%',
    '2',
    'B',
    'f',
    'F',
    'z',
    'é',
    '\ud83d',
    ' ',
    '%C3',
    '%A9',
    '%zz',
  ]
  for (const q of randomStrings(3, 5000, alphabet, 14)) {
    // `?` with nothing after it is not a link at all (the pattern needs `?.+`).
    if (q === '') continue
    const parsed = ours.parseLink(`${BLOB}?${q}`)
    const expected = querystring.parse(q) as Record<string, unknown>
    if (typeof expected.unbox === 'string') expected.unbox = expected.unbox.replace(/ /g, '+')
    assert.deepStrictEqual(parsed?.query, expected, JSON.stringify(q))
  }
})

test('normalizeChannel agrees with ssb-ref', () => {
  const inputs = [
    ...garbage,
    'hello',
    'WORLD',
    '👍👍👍',
    '!@#$%^&*()_',
    'a'.repeat(63),
    'A'.repeat(63),
    '!#()',
    ' Scuttle Butt, [dev] ',
    `${'é'.repeat(29)}👍`,
    'İSTANBUL',
    '\u00a0\u2003tab\t',
  ]
  for (const input of inputs) {
    same(
      'normalizeChannel',
      input,
      () => ours.normalizeChannel(input),
      () => ref.normalizeChannel!(input as never),
    )
  }
})

test('type agrees with ssb-ref on ids, addresses, invites and garbage', () => {
  for (const input of [...idStrings, ...garbage, ...addressStrings, ...inviteStrings]) {
    same(
      'type',
      input,
      () => ours.type(input),
      () => ref.type!(input as never),
    )
    assert.equal(ours.refType(input), ours.type(input))
  }
})
