import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import {
  isDomain,
  isHost,
  isIP,
  isIPv4Format,
  isIPv6Format,
  isPort,
  isPortNumber,
} from '@scuttlekit/ssb-ref'
import { garbage, ip, isValidDomain, randomStrings, show } from './helpers.js'

const require = createRequire(import.meta.url)
const fromSsbRef = createRequire(require.resolve('ssb-ref'))
const sldMap = fromSsbRef('is-valid-domain/data/sldMap.json') as Record<string, boolean>

const hosts = [
  '127.0.0.1',
  '999.999.999.999',
  '1.2.3',
  '1.2.3.4.5',
  '1234.1.1.1',
  '::1',
  '::',
  '1',
  'a:b',
  'fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f',
  '2a03:2267::ba27:ebff:fe8c:5a4d',
  '::ffff:192.168.1.1',
  'FE80::1',
  'fe80::1%eth0',
  'g::1',
  'localhost',
  'LOCALHOST',
  'example.com',
  'Example.COM.',
  'example.com..',
  'a.b',
  'a.1',
  'a.123',
  '1.com',
  'a_b.example.com',
  'a_b.com',
  'a_b.co.uk',
  'x.a_b.co.uk',
  'a.co.uk*',
  'a.com.ac_',
  'a.co.uk-x',
  'co.uk',
  '.co.uk',
  'a..co.uk',
  'xn--bcher-kva.example',
  'ab--cd.com',
  'xn--ab--cd.com',
  '-a.com',
  'a-.com',
  'a.xn--p1ai',
  'a.xn--',
  '*.example.com',
  'a*.com',
  `${'a'.repeat(63)}.com`,
  `${'a'.repeat(64)}.com`,
  `${'a.'.repeat(125)}com`,
  `${'a.'.repeat(126)}com`,
  'xyz.onion',
  '\u212Aelvin.com',
  'exa mple.com',
  'ws://example.com',
  'wss://127.0.0.1',
  'ws://ws://example.com',
  'ws:example.com',
  'http://example.com',
  '',
  '.',
  'com',
  'a.b.c.d.e.f.g',
  'a\n.com',
  'example.com\n',
]

test('isIPv4Format and isIPv6Format agree with npm ip 1.1.9', () => {
  const random = randomStrings(11, 4000, ['1', '9', '0', 'a', 'f', 'g', ':', '::', '.', '255'], 14)
  for (const input of [...hosts, ...random]) {
    assert.equal(isIPv4Format(input), ip.isV4Format(input), `v4 ${input}`)
    assert.equal(isIPv6Format(input), ip.isV6Format(input), `v6 ${input}`)
    assert.equal(isIP(input), ip.isV4Format(input) || ip.isV6Format(input), `ip ${input}`)
  }
})

test('isDomain agrees with npm is-valid-domain 0.0.20', () => {
  const random = randomStrings(
    12,
    6000,
    ['a', 'z', '0', '9', '-', '--', 'xn--', '_', '.', '*', 'co', 'uk', 'com', 'ac', 'A', 'é'],
    12,
  )
  const slds = Object.keys(sldMap).flatMap((sld) => [
    `x.${sld}`,
    `a_b.${sld}`,
    `x.${sld}*`,
    `a.b_c.${sld}`,
    sld,
  ])
  for (const input of [...hosts, ...random, ...slds, ...garbage]) {
    assert.equal(isDomain(input), isValidDomain(input), `domain ${show(input)}`)
  }
})

test('isHost follows ssb-ref: IP, domain or localhost after an optional ws(s):// prefix', () => {
  for (const input of hosts) {
    const bare = input.replace(/^wss?:\/\//, '')
    const expected =
      ip.isV4Format(bare) || ip.isV6Format(bare) || isValidDomain(bare) || bare === 'localhost'
    assert.equal(isHost(input), expected, input)
  }
  for (const value of garbage) {
    if (typeof value !== 'string') assert.equal(isHost(value), false)
  }
  // npm ip's IPv6 pattern matches the empty string, so ssb-ref takes '' for a host.
  assert.equal(isHost(''), true)
  assert.equal(isHost('cafe'), true)
})

test('isPort keeps ssb-ref looseness; isPortNumber is the real range', () => {
  assert.equal(isPort(-5), true)
  assert.equal(isPort(65536), true)
  assert.equal(isPort(65537), false)
  assert.equal(isPort(8008.5), false)
  assert.equal(isPort('8008'), false)
  assert.equal(isPortNumber(-5), false)
  assert.equal(isPortNumber(65536), false)
  assert.equal(isPortNumber(0), true)
  assert.equal(isPortNumber(65535), true)
})
