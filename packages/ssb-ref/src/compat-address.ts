/**
 * Drop-in versions of npm `ssb-ref` 2.16's address functions (`ssb-protocol.md` §1.5), for code
 * ported from JavaScript and for deciding exactly what a JS peer would accept (gossip, pub
 * messages). They keep the reference's results, quirks and return conventions: `false` instead
 * of an error, inputs returned unchanged, `+port` number parsing (`0x1f40`, `-5` and `1e3` are
 * ports), and the first shs route winning even when its host is bad. They do not log deprecation
 * traces. New code should prefer the typed functions in `shs-address.ts`.
 */
import { InvalidAddressError } from './errors.js'
import { isHost, isPort } from './hosts.js'
import { type FeedId, isFeedId } from './ids.js'
import {
  isMultiserverAddress,
  type MultiserverAddress,
  parseMultiserverAddress,
} from './multiserver.js'

/** ssb-ref's `{host, port, key}` address (the "legacy address" of pub messages and gossip). */
export interface LegacyAddress {
  host: string
  port: number
  key: FeedId
}

/** A {@link LegacyAddress} that may carry an invite seed (see {@link toLegacyAddress}). */
export interface LegacyAddressWithSeed extends LegacyAddress {
  seed?: string
}

/** What {@link parseAddress} makes of a legacy string: split, not validated. */
export interface LooseLegacyAddress {
  host: string
  port: number
  key: string
  seed?: string
}

/** ssb-ref's default port for legacy addresses without one. */
export const DEFAULT_PORT = 8008

// ssb-ref's internal isMultiServerAddress: in the grammar and containing `~` after a character
// other than `!` (so `net:a!!~shs:K`, whose `~` really separates, is not one).
function isSsbMultiserverAddress(text: string): boolean {
  return isMultiserverAddress(text) && /[^!]~/.test(text)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// JavaScript's unary plus, which ssb-ref applies to ports: '' is 0, '0x1f40' is 8000, and a
// symbol or bigint throws a TypeError.
function unaryPlus(value: unknown): number {
  return +(value as number)
}

/**
 * `ssb-ref.isAddress`: a `{host, port, key}` object (port may be a numeric string), a legacy
 * `host:port:@key.ed25519` string, or any multiserver string with a transform (`~`), which is
 * accepted without further checks. Returns a real boolean where ssb-ref sometimes returns
 * `undefined` (an object whose `host` is not a string).
 */
export function isAddress(data: unknown): boolean {
  let host: unknown
  let port: unknown
  let key: unknown
  if (isPlainObject(data)) {
    key = data.key
    host = data.host
    port = data.port
  } else if (typeof data !== 'string') {
    return false
  } else if (isSsbMultiserverAddress(data)) {
    return true
  } else {
    const parts = data.split(':')
    key = parts.pop()
    port = parts.pop()
    host = parts.join(':')
  }
  return isFeedId(key) && isPort(unaryPlus(port)) && isHost(host)
}

/**
 * `ssb-ref.isLegacyAddress`: an object with a valid `host`, an integer `port` ≤ 65536 and a feed
 * id `key`. Returns a real boolean where ssb-ref returns a falsy non-object argument itself.
 */
export function isLegacyAddress(address: unknown): address is LegacyAddress {
  return (
    isPlainObject(address) && isHost(address.host) && isPort(address.port) && isFeedId(address.key)
  )
}

/**
 * `ssb-ref.toLegacyAddress` (its internal `parseMultiServerAddress`): takes the **first** route
 * whose transport is `net`, `ws`, `wss` or `onion` and whose first transform's name starts with
 * `shs`, and returns `{host, port, key}`; `false` when there is none or that route fails the
 * host, port or key check. The last transport field is the port (so bare IPv6 works), a ws host
 * keeps its `ws:` prefix (`ws://h`), and the port goes through `+` (`0x10` is 16). Quirk kept:
 * `seed` is read from the **third** shs field, so the usual `shs:<key>:<seed>` yields no seed.
 */
export function toLegacyAddress(data: unknown): LegacyAddressWithSeed | false {
  if (typeof data !== 'string') return false
  let routes: MultiserverAddress
  try {
    routes = parseMultiserverAddress(data)
  } catch {
    return false
  }
  const route = routes.find(
    (r) =>
      r.transforms[0] !== undefined &&
      /^(net|wss?|onion)$/.test(r.transport.name) &&
      /^shs/.test(r.transforms[0].name),
  )
  if (!route) return false
  const fields = [...route.transport.data]
  const port = unaryPlus(fields.pop())
  const name = route.transport.name
  const host = (/^wss?$/.test(name) ? `${name}:` : '') + fields.join(':')
  const shs = route.transforms[0]!
  const key = `@${shs.data[0]}.ed25519`
  const seed = shs.data[2]
  if (!(isHost(host) && isPort(port) && isFeedId(key))) return false
  const address: LegacyAddressWithSeed = { host, port, key }
  if (seed) address.seed = seed
  return address
}

/**
 * `ssb-ref.toMultiServerAddress`: a string in the multiserver grammar is returned unchanged;
 * otherwise `{host, port, key}` becomes `net:<host>:<port>~shs:<key body>` (`onion:` for a host
 * ending in `.onion`, the host itself when it starts with `ws:`/`wss:`). Throws
 * {@link InvalidAddressError} for a bad port, host or key, in that order.
 *
 * Quirks kept: the grammar test is on `String(address)`, so `null` and `undefined` come back
 * unchanged; the key body ends at the first `.`, so a key like `@<base64>xed25519` (valid by the
 * unescaped-dot quirk) produces `~shs:@`.
 */
export function toMultiServerAddress(address: LegacyAddress | string): string {
  if (isMultiserverAddress(`${address}`)) return address as string
  const { port } = address as LegacyAddress
  if (!isPort(port)) throw new InvalidAddressError(address, `invalid port: ${String(port)}`)
  const { host } = address as LegacyAddress
  if (!isHost(host)) throw new InvalidAddressError(address, `invalid host: ${String(host)}`)
  const { key } = address as LegacyAddress
  if (!isFeedId(key)) throw new InvalidAddressError(address, `invalid key: ${String(key)}`)
  const prefix = /^wss?:/.test(host)
    ? host
    : /\.onion$/.test(host)
      ? `onion:${host}`
      : `net:${host}`
  return `${prefix}:${port}~shs:${key.substring(1, key.indexOf('.'))}`
}

/**
 * `ssb-ref.parseAddress`: a string containing `~` goes to {@link toLegacyAddress}; any other
 * string is split as `host:port:key` **without validation** (`port` through `+`, 8008 when
 * empty); anything else is returned unchanged.
 */
export function parseAddress(address: string): LooseLegacyAddress | false
export function parseAddress<T>(address: T): T
export function parseAddress(address: unknown): unknown {
  if (typeof address !== 'string') return address
  if (address.includes('~')) return toLegacyAddress(address)
  const parts = address.split(':')
  const key = parts.pop()!
  const port = parts.pop()
  const host = parts.join(':')
  return { host, port: unaryPlus(port || DEFAULT_PORT), key }
}

/**
 * `ssb-ref.toAddress`: {@link parseAddress}, then a falsy `port` becomes 8008 and a falsy `host`
 * becomes `localhost`. An object argument is **modified in place** and returned; `false` (a
 * failed multiserver parse) comes back as `false`; `null` and `undefined` throw a `TypeError`.
 */
export function toAddress(address: string): LooseLegacyAddress | false
export function toAddress<T>(address: T): T & { host: string; port: number }
export function toAddress(address: unknown): unknown {
  const parsed: unknown = parseAddress(address)
  if (parsed === null || parsed === undefined) {
    throw new TypeError(`Cannot read properties of ${parsed} (reading 'port')`)
  }
  const target = parsed as { port?: unknown; host?: unknown }
  const writable = typeof parsed === 'object' || typeof parsed === 'function'
  // Reflect.set fails quietly (frozen objects), like the reference's sloppy-mode assignment;
  // on a primitive the reference's assignment is silently dropped.
  const port = target.port || DEFAULT_PORT
  if (writable) Reflect.set(target, 'port', port)
  const host = target.host || 'localhost'
  if (writable) Reflect.set(target, 'host', host)
  return parsed
}

/**
 * `ssb-ref.getKeyFromAddress`: `address.key` when it is truthy; otherwise the feed id built from
 * the first data field of the first protocol whose name starts with `shs` in a multiserver
 * string (`'@undefined.ed25519'` when that protocol has no data, as in the reference); otherwise
 * `undefined` (also for text outside the grammar, where the reference logs an error).
 * `null` and `undefined` throw a `TypeError`, as in the reference.
 */
export function getKeyFromAddress(address: string | { key?: string }): string | undefined {
  const key = (address as { key?: unknown }).key
  if (key) return key as string
  let routes: MultiserverAddress
  try {
    // A String object parses like its string; other objects fail like bad text.
    const text = (address as unknown) instanceof String ? String(address) : address
    routes = parseMultiserverAddress(text as string)
  } catch {
    // The reference builds a log message with `+ address` here, which throws for objects
    // without a prototype and for symbols; the message itself is not logged.
    // biome-ignore lint/style/useTemplate: `+` converts like the reference (valueOf first)
    void ('malformed multiserver-address ' + (address as unknown as string))
    return undefined
  }
  for (const route of routes) {
    for (const protocol of [route.transport, ...route.transforms]) {
      if (/^shs/.test(protocol.name)) return `@${protocol.data[0]}.ed25519`
    }
  }
  return undefined
}
