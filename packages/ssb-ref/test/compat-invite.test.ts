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
  KEY2,
  randomStrings,
  ref,
  SEED,
  same,
} from './helpers.js'

// A plain copy of the namespace, so tests can look functions up by name.
const ours = { ...api }

const inputs: unknown[] = [
  ...inviteStrings,
  ...addressStrings,
  ...idStrings,
  ...garbage,
  `${'a'.repeat(2000)}~${SEED}`,
  `net:${'a'.repeat(2000)}:8008~shs:${KEY}:${SEED}#${'x'.repeat(2000)}`,
  ...randomStrings(
    41,
    1500,
    [
      'net:',
      'h.com',
      ':8008',
      ':',
      '~',
      '#',
      `@${KEY}.ed25519`,
      SEED,
      `shs:${KEY}`,
      '::1',
      'ws://',
      '\n',
    ],
    7,
  ),
]

test('isInvite, isLegacyInvite and isMultiServerInvite agree with ssb-ref', () => {
  for (const name of ['isInvite', 'isLegacyInvite', 'isMultiServerInvite'] as const) {
    for (const input of inputs) {
      same(
        name,
        input,
        () => ours[name](input),
        () => ref[name]!(input as never),
      )
    }
  }
})

test('parseInvite, parseLegacyInvite and parseMultiServerInvite agree with ssb-ref', () => {
  for (const name of ['parseInvite', 'parseLegacyInvite', 'parseMultiServerInvite'] as const) {
    for (const input of inputs) {
      same(
        name,
        input,
        () => (ours[name] as (code: unknown) => unknown)(input),
        () => ref[name]!(input as never),
      )
    }
  }
})

test('ssb-ref test vectors (test/invites.js)', () => {
  const invite1 = `net:145.12.20.3:8080~shs:${KEY}:${SEED}`
  const invite2 = `145.12.20.3:8080:${FEED}~${SEED}`
  const invite1ws = `ws://145.12.20.3:8080~shs:${KEY}:${SEED}`
  const cjdnsInvite2 = `net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:${KEY2}:${SEED}`
  const cjdnsInvite = `fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008:@${KEY2}.ed25519~${SEED}`
  const remote = `net:145.12.20.3:8080~shs:${KEY}`
  const cjdnsRemote = `net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:${KEY2}`
  const rand = '0.123456'

  assert.ok(ours.isInvite(`2a03:2267::ba27:ebff:fe8c:5a4d:8080:${FEED}~${SEED}`))
  assert.ok(ours.isInvite(`::1:8080:${FEED}~${SEED}`))
  assert.ok(ours.isAddress(`net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:${KEY2}`))
  assert.ok(ours.isMultiServerInvite(invite1))
  assert.deepStrictEqual(ours.parseMultiServerInvite(invite1), {
    invite: invite1,
    remote,
    key: FEED,
    redirect: null,
  })
  assert.deepStrictEqual(ours.parseInvite(invite1ws), {
    invite: invite1ws,
    remote: `ws://145.12.20.3:8080~shs:${KEY}`,
    key: FEED,
    redirect: null,
  })
  assert.deepStrictEqual(ours.parseMultiServerInvite(`${invite1}#${rand}`), {
    invite: invite1,
    remote,
    key: FEED,
    redirect: `#${rand}`,
  })
  assert.deepStrictEqual(ours.parseInvite(`${cjdnsInvite2}#${rand}`), {
    invite: cjdnsInvite2,
    remote: cjdnsRemote,
    key: `@${KEY2}.ed25519`,
    redirect: `#${rand}`,
  })
  assert.deepStrictEqual(ours.parseInvite(`${cjdnsInvite}#${rand}`), {
    invite: cjdnsInvite2,
    remote: cjdnsRemote,
    key: `@${KEY2}.ed25519`,
    redirect: `#${rand}`,
  })
  assert.ok(ours.isLegacyInvite(invite2))
  assert.deepStrictEqual(ours.parseLegacyInvite(`${invite2}#${rand}`), {
    invite: invite1,
    key: FEED,
    remote,
    redirect: `#${rand}`,
  })
  assert.equal(ours.isInvite('http://example.com'), false)
  assert.equal(ours.parseInvite('http://example.com'), null)
})

test('quirks: a plain address is a "multiserver invite"; legacy ports 0 and junk become 8008', () => {
  assert.equal(ours.isMultiServerInvite(`net:h.com:8008~shs:${KEY}`), true)
  assert.equal(
    ours.parseLegacyInvite(`h.com:0:${FEED}~${SEED}`).remote,
    `net:h.com:8008~shs:${KEY}`,
  )
  assert.equal(
    ours.parseLegacyInvite(`h.com:abc:${FEED}~${SEED}`).remote,
    `net:h.com:8008~shs:${KEY}`,
  )
  assert.equal(ours.parseLegacyInvite(`h.com:1:${FEED}`).invite, `net:h.com:1~shs:${KEY}:undefined`)
  assert.throws(() => ours.parseLegacyInvite('garbage'), ours.InvalidInviteError)
  assert.throws(() => ours.parseMultiServerInvite(5 as never), TypeError)
})
