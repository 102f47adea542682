import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  InvalidAddressError,
  InvalidInviteError,
  type InviteCode,
  parseInviteCode,
  stringifyInviteCode,
} from '@scuttlekit/ssb-ref'
import { FEED, garbage, KEY, KEY2, NONCANONICAL_KEY, quiet, ref, SEED } from './helpers.js'

type RefInvite = { invite: string; remote: string; key: string; redirect: string | null }

const codes = [
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}`,
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}#0.5`,
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}#`,
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}#a#b`,
  `ws://145.12.20.3:8080~shs:${KEY}:${SEED}`,
  `wss://example.com:443~shs:${KEY}:${SEED}`,
  `onion:xyz.onion:8008~shs:${KEY}:${SEED}`,
  `net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:${KEY2}:${SEED}`,
  `145.12.20.3:8080:${FEED}~${SEED}`,
  `145.12.20.3:8080:${FEED}~${SEED}#0.123`,
  `fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008:@${KEY2}.ed25519~${SEED}`,
  `::1:8080:${FEED}~${SEED}`,
  `xyz.onion:8008:${FEED}~${SEED}`,
  `ws://example.com:8989:${FEED}~${SEED}#r`,
]

test('parse then stringify gives every invite code back', () => {
  for (const code of codes) {
    const invite = parseInviteCode(code)
    assert.equal(stringifyInviteCode(invite), code, code)
  }
})

test('the multiserver form of a code is what ssb-ref converts it to', () => {
  for (const code of codes) {
    const theirs = quiet(() => ref.parseInvite!(code as never)) as unknown as RefInvite
    const invite = parseInviteCode(code)
    const hash = code.indexOf('#')
    assert.equal(
      stringifyInviteCode({ ...invite, redirect: undefined }, 'multiserver'),
      theirs.invite,
      code,
    )
    assert.equal(theirs.key, invite.address.key, code)
    assert.equal(theirs.redirect, hash === -1 ? null : code.slice(hash), code)
  }
})

test('the parsed shape', () => {
  assert.deepStrictEqual(parseInviteCode(`145.12.20.3:8080:${FEED}~${SEED}#x`), {
    form: 'legacy',
    address: { transport: 'net', host: '145.12.20.3', port: 8080, key: FEED },
    seed: SEED,
    redirect: 'x',
  } satisfies InviteCode)
  assert.deepStrictEqual(parseInviteCode(`net:::1:8008~shs:${KEY}:${SEED}`), {
    form: 'multiserver',
    address: { transport: 'net', host: '::1', port: 8008, key: FEED },
    seed: SEED,
  } satisfies InviteCode)
  assert.equal(
    stringifyInviteCode(parseInviteCode(`net:::1:8008~shs:${KEY}:${SEED}`), 'legacy'),
    `::1:8008:${FEED}~${SEED}`,
  )
})

test('bad codes throw InvalidInviteError, with the address error as cause', () => {
  const bad = [
    `net:145.12.20.3:8080~shs:${KEY}`,
    `net:145.12.20.3:8080~shs:${KEY}:${SEED.slice(0, 43)}`,
    `net:145.12.20.3:8080~shs:${NONCANONICAL_KEY}:${SEED}`,
    `net:145.12.20.3:0x1f40~shs:${KEY}:${SEED}`,
    `net:145.12.20.3:8080~shs:${KEY}:${SEED};net:h:1~shs:${KEY}:${SEED}`,
    `unix:/s~noauth`,
    `145.12.20.3:8080:${FEED}`,
    `145.12.20.3:8080:${FEED}~`,
    `145.12.20.3:8080:${FEED}~${SEED.slice(0, 43)}`,
    `145.12.20.3:8080:${FEED}~${SEED}~${SEED}`,
    `145.12.20.3::${FEED}~${SEED}`,
    `145.12.20.3:8080:@${KEY}.sha256~${SEED}`,
    `:8080:${FEED}~${SEED}`,
    `"net:145.12.20.3:8080~shs:${KEY}:${SEED}"`,
    'http://example.com',
    'garbage',
    '',
    'x'.repeat(100_000),
  ]
  for (const code of bad) {
    assert.throws(() => parseInviteCode(code), InvalidInviteError, code.slice(0, 80))
  }
  for (const value of garbage) {
    assert.throws(() => parseInviteCode(value as string), InvalidInviteError)
  }
  try {
    parseInviteCode(`net:145.12.20.3:8080~shs:${NONCANONICAL_KEY}:${SEED}`)
    assert.fail('should throw')
  } catch (error) {
    assert.ok(error instanceof InvalidInviteError)
    assert.equal(error.name, 'InvalidInviteError')
    assert.ok(error.cause instanceof InvalidAddressError)
  }
  const good = parseInviteCode(codes[0]!)
  assert.throws(() => stringifyInviteCode({ ...good, seed: 'x' }), InvalidInviteError)
  assert.throws(
    () => stringifyInviteCode({ ...good, address: { ...good.address, port: -1 } }),
    InvalidInviteError,
  )
})
