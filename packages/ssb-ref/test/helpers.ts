// Shared by the tests: the reference packages, a way to compare a call on both sides, inputs.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
// ssb-ref's own dependencies, resolved from where ssb-ref loads them.
const fromSsbRef = createRequire(require.resolve('ssb-ref'))

type Fn = (...args: never[]) => unknown
/** npm ssb-ref 2.16.0. */
export const ref = require('ssb-ref') as Record<string, Fn> & Record<string, RegExp>
/** npm multiserver-address, as ssb-ref loads it. */
export const msAddress = fromSsbRef('multiserver-address') as {
  check(text: unknown): boolean
  decode(text: string): Array<Array<{ name: string; data: string[] }>>
}
/** npm ip, as ssb-ref loads it. */
export const ip = fromSsbRef('ip') as {
  isV4Format(text: string): boolean
  isV6Format(text: string): boolean
}
/** npm is-valid-domain, as ssb-ref loads it. */
export const isValidDomain = fromSsbRef('is-valid-domain') as (text: unknown) => boolean
/** npm is-canonical-base64, as ssb-ref loads it. */
export const canonicalBase64 = fromSsbRef('is-canonical-base64') as (
  prefix?: string,
  suffix?: string,
  length?: number,
) => RegExp

type Outcome = { value: unknown } | { threw: true }

/** Calls `fn` with the reference's console.trace / console.error deprecation noise muted. */
export function quiet<T>(fn: () => T): T {
  const { trace, error } = console
  console.trace = () => {}
  console.error = () => {}
  try {
    return fn()
  } finally {
    console.trace = trace
    console.error = error
  }
}

function outcome(fn: () => unknown): Outcome {
  try {
    return { value: quiet(fn) }
  } catch {
    return { threw: true }
  }
}

/** Describes a test input for assertion messages, whatever it is. */
export function show(value: unknown): string {
  if (typeof value === 'symbol' || typeof value === 'bigint') return String(value)
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return String(value)
    return text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/**
 * Asserts that ours and theirs return deeply equal values (prototypes included) or both throw.
 * `map` is applied to both results first (e.g. `Boolean` for predicates).
 */
export function same(
  name: string,
  input: unknown,
  ours: () => unknown,
  theirs: () => unknown,
  map: (value: unknown) => unknown = (v) => v,
): void {
  const a = outcome(ours)
  const b = outcome(theirs)
  const message = `${name}(${show(input)})`
  if ('threw' in b) {
    assert.ok(
      'threw' in a,
      `${message}: reference throws, ours returned ${show((a as { value: unknown }).value)}`,
    )
    return
  }
  assert.ok('value' in a, `${message}: ours throws, reference returned ${show(b.value)}`)
  assert.deepStrictEqual(map(a.value), map(b.value), message)
}

/** A small deterministic PRNG (mulberry32), so fuzz inputs are the same on every run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `count` random strings of up to `maxLength` pieces drawn from `alphabet`. */
export function randomStrings(
  seed: number,
  count: number,
  alphabet: readonly string[],
  maxLength: number,
): string[] {
  const random = prng(seed)
  const out: string[] = []
  for (let n = 0; n < count; n++) {
    const length = Math.floor(random() * (maxLength + 1))
    let text = ''
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)]
    out.push(text)
  }
  return out
}

// Keys and seeds used in the corpora below.
export const KEY = 'gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc='
export const KEY2 = 'ppdSxn1pSozJIqtDE4pYgwaQGmswCT9y15VJJcXRntI='
export const SEED = 'DxiHEv+ds+zUzA49efDgZk8ssGeqrp/5kgvRVzTM7vU='
export const FEED = `@${KEY}.ed25519`
/** KEY with its last base64 digit changed so the padding bits are not zero. */
export const NONCANONICAL_KEY = `${KEY.slice(0, 42)}d=`
export const MSG = '%pGzeEydYdHjKW1iIchR0Yumydsr3QSp8+FuYcwVwi8Q=.sha256'
export const BLOB = '&51ZXxNYIvTDCoNTE9R94NiEg3JAZAxWtKn4h4SmBwyY=.sha256'

/** Values that are not strings, or barely; fresh objects on every call. */
export const makeGarbage = (): unknown[] => [
  null,
  undefined,
  0,
  1,
  -1,
  8008,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  '',
  ' ',
  {},
  [],
  ['x'],
  [FEED],
  { toString: () => FEED },
  new String(FEED),
  () => FEED,
  10n,
  Object.create(null),
  Symbol('x'),
]

/** {@link makeGarbage}, made once (do not pass these to functions that modify arguments). */
export const garbage: readonly unknown[] = makeGarbage()

/** Ids, near-ids and strings around them. */
export const idStrings: readonly string[] = [
  FEED,
  MSG,
  BLOB,
  '@jEA8WSl0URsB/g/XYG5zCGBkMOyTeBZfGtbw3RJMIuk=.ed25519',
  '%zoYYzPzPqekTHlErnLC29mrkofpPDuQbUh+DgQYD6H4=.cloaked',
  `@${KEY}.sha256`,
  `@${KEY}xed25519`,
  `@${KEY}.ed25519x`,
  `@${KEY}..ed25519`,
  `%${KEY}xsha256`,
  `&${KEY}!sha256`,
  `%${KEY}.cloaked`,
  `%${KEY}Xcloaked`,
  `@${KEY}.ED25519`,
  `@${NONCANONICAL_KEY}.ed25519`,
  `%${NONCANONICAL_KEY}.sha256`,
  `@${KEY.slice(0, 43)}.ed25519`,
  `@${KEY.slice(1)}.ed25519`,
  `@A${KEY}.ed25519`,
  `@${KEY}.ed25519\n`,
  `\n@${KEY}.ed25519`,
  ` @${KEY}.ed25519`,
  `@${KEY.replace('+', '-')}.ed25519`,
  `@${KEY}`,
  `${KEY}.ed25519`,
  `@${Buffer.from('the quick brown fox jumped!').toString('base64')}.bamboo-2`,
  `%${Buffer.from('the quick brown fox jumped!').toString('base64')}.gabster-v2`,
  `&${Buffer.from('abc').toString('base64')}.sha256`,
  `@${Buffer.from('ab').toString('base64')}.x`,
  `@${Buffer.from('a').toString('base64')}.x`,
  '@.ed25519',
  '@=.x',
  '@cat',
  '%cat=.sha256',
  `@${Buffer.alloc(64, 1).toString('base64')}.sig.ed25519`,
  `@${KEY}.bab.bab`,
  `@${KEY}.bab+2`,
  `@${KEY}.`,
  `${MSG}?unbox=abc`,
  `${BLOB}?unbox=AZlr+tZIJQiHq gwCa%2B0Gg&another=test`,
  `${FEED}?`,
  `${MSG}?a=b\nc`,
  'http://example.com',
  'ssb:message/sha256/pGzeEydYdHjKW1iIchR0Yumydsr3QSp8-FuYcwVwi8Q=',
]

/** Address-like strings in every form the network uses, valid and not. */
export const addressStrings: readonly string[] = [
  `net:145.12.20.3:8080~shs:${KEY}`,
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}`,
  `net:145.12.20.3:8080~shs:${KEY}:x:${SEED}`,
  `net:example.com:8008~shs:${KEY}`,
  `net:localhost:8008~shs:${KEY}`,
  `net::8008~shs:${KEY}`,
  `net:::1:8008~shs:${KEY}`,
  `net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:${KEY2}`,
  `net:2a03:2267::ba27:ebff:fe8c:5a4d:8080~shs:${KEY}`,
  `net:[::1]:8008~shs:${KEY}`,
  `net:145.12.20.3~shs:${KEY}`,
  `net~shs:${KEY}`,
  `net:145.12.20.3:0x1f40~shs:${KEY}`,
  `net:145.12.20.3:-5~shs:${KEY}`,
  `net:145.12.20.3:1e3~shs:${KEY}`,
  `net:145.12.20.3:65536~shs:${KEY}`,
  `net:145.12.20.3:65537~shs:${KEY}`,
  `net:145.12.20.3:8008.5~shs:${KEY}`,
  `net:145.12.20.3:~shs:${KEY}`,
  `net:145.12.20.3:08008~shs:${KEY}`,
  `net:145.12.20.3:8008~shs:${NONCANONICAL_KEY}`,
  `net:145.12.20.3:8008~shs:${KEY.slice(0, 43)}`,
  `net:145.12.20.3:8008~shs:${KEY}:${SEED.slice(0, 43)}`,
  `net:145.12.20.3:8008~shs:${KEY}:${NONCANONICAL_KEY}`,
  `net:145.12.20.3:8008~shs`,
  `net:145.12.20.3:8008~shs2:${KEY}`,
  `net:145.12.20.3:8008~shsx:${KEY}`,
  `net:145.12.20.3:8008~noauth`,
  `net:145.12.20.3:8008~shs:${KEY}~noauth`,
  `net:145.12.20.3:8008`,
  `net:a_b.example.com:8008~shs:${KEY}`,
  `net:a.co.uk*:8008~shs:${KEY}`,
  `net:999.999.999.999:8008~shs:${KEY}`,
  `net:exa mple.com:8008~shs:${KEY}`,
  `net:a!!b:8008~shs:${KEY}`,
  `net:a!!~shs:${KEY}`,
  `net:a!~b:8008~shs:${KEY}`,
  `net:a!;b:8008~shs:${KEY}`,
  `net:a!:b:8008~shs:${KEY}`,
  `net:a!xb:8008~shs:${KEY}`,
  `onion:xyz.onion:8080~shs:${KEY}`,
  `onion:7e2vqxyz3bvanm4ezcrxm4yfvd2aebkdhxqlacq4d3rdbelhmqjsihyd.onion:8008~shs:${KEY}`,
  `onion::8008~shs:${KEY}`,
  `ws://145.12.20.3:8080~shs:${KEY}`,
  `ws://145.12.20.3:8080~shs:${KEY}:${SEED}`,
  `wss://example.com:443~shs:${KEY}`,
  `wss://example.com~shs:${KEY}`,
  `ws://example.com~shs:${KEY}`,
  `ws://[::1]:8989~shs:${KEY}`,
  `ws://example.com:8989/path~shs:${KEY}`,
  `ws:example.com:8989~shs:${KEY}`,
  'unix:/home/u/.ssb/socket~noauth',
  `unix:/home/u/.ssb/socket~shs:${KEY}`,
  'noauth',
  'net:145.12.20.3:8008',
  `net:10.0.0.1:8008~shs:${KEY};ws://10.0.0.1:8989~shs:${KEY}`,
  `unix:/s~noauth;net:10.0.0.1:8008~shs:${KEY}`,
  `net:bad host:8008~shs:${KEY};net:10.0.0.1:8008~shs:${KEY}`,
  `net:_:8008~shs:${KEY};net:10.0.0.1:8008~shs:${KEY}`,
  `tor:10.0.0.1:8008~shs:${KEY};net:10.0.0.1:8008~shs:${KEY2}`,
  `net:10.0.0.1:8008~shs:${KEY};`,
  `;net:10.0.0.1:8008~shs:${KEY}`,
  `net:10.0.0.1:8008~~shs:${KEY}`,
  `Net:10.0.0.1:8008~shs:${KEY}`,
  `n:10.0.0.1:8008~shs:${KEY}`,
  `net:10.0.0.1:8008~shs:${KEY} `,
  `145.12.20.3:8080:@${KEY}.ed25519`,
  `145.12.20.3:8080:@${KEY}.sha256`,
  `145.12.20.3:8080:@${KEY}xed25519`,
  `145.12.20.3::@${KEY}.ed25519`,
  `145.12.20.3:@${KEY}.ed25519`,
  `:8080:@${KEY}.ed25519`,
  `145.12.20.3:0x10:@${KEY}.ed25519`,
  `145.12.20.3:-1:@${KEY}.ed25519`,
  `145.12.20.3:0:@${KEY}.ed25519`,
  `145.12.20.3:abc:@${KEY}.ed25519`,
  `145.12.20.3:8080:@${NONCANONICAL_KEY}.ed25519`,
  `example.com:8008:@${KEY}.ed25519`,
  `xyz.onion:8008:@${KEY}.ed25519`,
  `ws://example.com:8989:@${KEY}.ed25519`,
  `wss://example.com:443:@${KEY}.ed25519`,
  `localhost:8008:@${KEY}.ed25519`,
  `::1:8080:@${KEY}.ed25519`,
  `2a03:2267::ba27:ebff:fe8c:5a4d:8080:@${KEY}.ed25519`,
  `fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008:@${KEY2}.ed25519`,
  `@${KEY}.ed25519`,
  'http://example.com',
  'https://example.com:443/path',
  'INVITE sip:0019294040830@51.15.166.54:8008 SIP/2.0',
  'a',
  'ab',
  'shs:abc',
  `shs:${KEY}`,
]

/** Invite codes in both forms, with redirects, and broken ones. */
export const inviteStrings: readonly string[] = [
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}`,
  `145.12.20.3:8080:@${KEY}.ed25519~${SEED}`,
  `ws://145.12.20.3:8080~shs:${KEY}:${SEED}`,
  `wss://example.com:443~shs:${KEY}:${SEED}`,
  `net:fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008~shs:${KEY2}:${SEED}`,
  `fcbc:6c66:bcd4:d3b5:2a2a:60b3:9b86:498f:8008:@${KEY2}.ed25519~${SEED}`,
  `2a03:2267::ba27:ebff:fe8c:5a4d:8080:@${KEY}.ed25519~${SEED}`,
  `::1:8080:@${KEY}.ed25519~${SEED}`,
  `xyz.onion:8008:@${KEY}.ed25519~${SEED}`,
  `onion:xyz.onion:8008~shs:${KEY}:${SEED}`,
  `ws://example.com:8989:@${KEY}.ed25519~${SEED}`,
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}#0.5`,
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}#a#b`,
  `net:145.12.20.3:8080~shs:${KEY}:${SEED}#`,
  `145.12.20.3:8080:@${KEY}.ed25519~${SEED}#0.123`,
  `145.12.20.3:8080:@${KEY}.ed25519~${SEED}#a#b`,
  `145.12.20.3:8080:@${KEY}.ed25519~${SEED}#a\nb`,
  `145.12.20.3:8080:@${KEY}.ed25519~${SEED}\n`,
  `145.12.20.3:8080:@${KEY}.ed25519~${NONCANONICAL_KEY}`,
  `145.12.20.3:8080:@${KEY}.ed25519~${SEED.slice(0, 43)}`,
  `145.12.20.3:8080:@${KEY}.ed25519~${SEED}~${SEED}`,
  `145.12.20.3:8080:@${KEY}.ed25519`,
  `145.12.20.3:8080:@${KEY}.ed25519~`,
  `145.12.20.3:0x1f40:@${KEY}.ed25519~${SEED}`,
  `145.12.20.3::@${KEY}.ed25519~${SEED}`,
  `145.12.20.3:0:@${KEY}.ed25519~${SEED}`,
  `145.12.20.3:-1:@${KEY}.ed25519~${SEED}`,
  `145.12.20.3:8080:@${NONCANONICAL_KEY}.ed25519~${SEED}`,
  `bad host:8080:@${KEY}.ed25519~${SEED}`,
  `:8080:@${KEY}.ed25519~${SEED}`,
  `net:145.12.20.3:8080~shs:${KEY}`,
  `net:145.12.20.3:8080~shs:${KEY}:${SEED.slice(0, 43)}`,
  `net:145.12.20.3:0x1f40~shs:${KEY}:${SEED}`,
  `net:h#x:8080~shs:${KEY}:${SEED}`,
  `"net:145.12.20.3:8080~shs:${KEY}:${SEED}"`,
  `unix:/s~noauth`,
  'http://example.com',
  'garbage',
  '',
]

/**
 * Replaces functions (fresh in every input) by a plain marker, deeply, keeping prototypes, so
 * results that hand back their argument can be compared across two calls.
 */
export function normalize(value: unknown): unknown {
  if (typeof value === 'function') return { function: normalize({ ...value }) }
  if (typeof value === 'symbol') return { symbol: value.description }
  if (Array.isArray(value)) return value.map(normalize)
  if (typeof value === 'object' && value !== null && !(value instanceof String)) {
    const out = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>
    for (const [key, entry] of Object.entries(value)) out[key] = normalize(entry)
    return out
  }
  return value
}
