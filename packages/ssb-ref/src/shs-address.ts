/**
 * Typed shs addresses: a reachable host and port plus the peer's ed25519 key, the thing gossip
 * dials (`ssb-protocol.md` §1.5). Three spellings exist on the network:
 *
 * - multiserver `net:<host>:<port>~shs:<key>` (also `onion:`, `ws://host:port`, `wss://...`),
 *   optionally `~shs:<key>:<seed>` for an invite;
 * - the legacy string `<host>:<port>:@<key>.ed25519`;
 * - the legacy object `{host, port, key}` of `pub` messages.
 *
 * These functions are stricter than ssb-ref (see `compat-address.ts` for its exact verdicts):
 * the port is decimal and at most 65535, the key must be a canonical 32-byte key with the
 * `.ed25519` suffix, a seed must be 43 base64 characters and `=` (32 bytes), and bad input
 * throws {@link InvalidAddressError}. Host names are not checked beyond being non-empty and
 * representable in a multiserver address: DNS is the judge of those.
 */
import { InvalidAddressError } from './errors.js'
import { isPortNumber } from './hosts.js'
import type { FeedId } from './ids.js'
import {
  type MultiserverProtocol,
  type MultiserverRoute,
  parseMultiserverAddress,
  stringifyMultiserverAddress,
} from './multiserver.js'

/** The transports that carry secret-handshake connections to another peer. */
export type ShsTransport = 'net' | 'onion' | 'ws' | 'wss'

const shsTransports: readonly string[] = ['net', 'onion', 'ws', 'wss']

/** A `net:` shs address (or a legacy one): where to dial and whose key to expect. */
export interface NetShsAddress {
  /** Host name or IP; IPv6 without brackets (`::1`). */
  host: string
  /** TCP port, 0-65535. */
  port: number
  /** The peer's feed id, `@<base64>.ed25519`. */
  key: FeedId
  /** Base64 of the 32-byte seed of an invite key pair, only in invite codes. */
  seed?: string
}

/** An shs address over any of the {@link ShsTransport}s. */
export interface ShsAddress extends NetShsAddress {
  transport: ShsTransport
}

const strictFeedIdPattern = /^@[a-zA-Z0-9/+]{42}[AEIMQUYcgkosw048]=\.ed25519$/
const seedPattern = /^[A-Za-z0-9/+]{43}=$/
const portPattern = /^\d{1,5}$/

/** True for a feed id in exactly the form keys are written: canonical 32 bytes, `.ed25519`. */
export function isStrictFeedId(value: unknown): value is FeedId {
  return typeof value === 'string' && strictFeedIdPattern.test(value)
}

/** True for an invite seed as ssb-invite writes it: 43 base64 characters and `=` (32 bytes). */
export function isInviteSeed(value: unknown): value is string {
  return typeof value === 'string' && seedPattern.test(value)
}

function defaultPort(transport: ShsTransport): number | undefined {
  return transport === 'ws' ? 80 : transport === 'wss' ? 443 : undefined
}

function parsePort(text: string | undefined, input: unknown): number {
  const port = text !== undefined && portPattern.test(text) ? Number(text) : Number.NaN
  if (!isPortNumber(port)) throw new InvalidAddressError(input, `bad port ${JSON.stringify(text)}`)
  return port
}

// Escaped `!`, `~`, `;` or `:` inside a host or port field would not survive the round trip
// (the fields are joined with `:`), and no real host contains them.
function hasSpecial(field: string): boolean {
  return /[!~;:]/.test(field)
}

function parseShs(shs: MultiserverProtocol | undefined, input: unknown) {
  if (shs?.name !== 'shs') throw new InvalidAddressError(input, 'expected a shs transform')
  if (shs.data.length < 1 || shs.data.length > 2) {
    throw new InvalidAddressError(input, 'shs takes a key and an optional seed')
  }
  const key = `@${shs.data[0]}.ed25519`
  if (!isStrictFeedId(key))
    throw new InvalidAddressError(input, 'shs key is not 32 bytes of base64')
  const seed = shs.data[1]
  if (seed !== undefined && !isInviteSeed(seed)) {
    throw new InvalidAddressError(input, 'shs seed is not 32 bytes of base64')
  }
  return { key, seed }
}

const wsAuthority = /^\/\/(?:\[([0-9A-Fa-f:.]+)\]|([^/?#@[\]:]+))(?::([^/?#]*))?$/

/**
 * Reads one route as an shs address. The route must be exactly a `net`, `onion`, `ws` or `wss`
 * transport followed by one `shs` transform. For `net` and `onion` the last field is the port
 * and the others joined with `:` are the host (so bare IPv6 works); an empty `net` host means
 * `localhost`, as in multiserver. For `ws`/`wss` the data is a URL authority `//host:port` (IPv6
 * in brackets, port defaulting to 80/443) without path.
 */
export function shsAddressFromRoute(route: MultiserverRoute, input: unknown = route): ShsAddress {
  const { name, data } = route.transport
  if (!shsTransports.includes(name)) {
    throw new InvalidAddressError(
      input,
      `transport ${JSON.stringify(name)} is not net, onion, ws or wss`,
    )
  }
  const transport = name as ShsTransport
  if (route.transforms.length !== 1) {
    throw new InvalidAddressError(input, 'expected one shs transform')
  }
  const { key, seed } = parseShs(route.transforms[0], input)

  let host: string
  let port: number
  if (transport === 'ws' || transport === 'wss') {
    const match = data.some(hasSpecial) ? null : wsAuthority.exec(data.join(':'))
    if (!match) {
      throw new InvalidAddressError(input, 'expected //host:port after ws: or wss:')
    }
    host = match[1] ?? match[2]!
    port = match[3] === undefined ? defaultPort(transport)! : parsePort(match[3], input)
  } else {
    if (data.length < 2) {
      throw new InvalidAddressError(input, `${transport} needs a host and a port`)
    }
    if (data.some(hasSpecial)) throw new InvalidAddressError(input, 'escaped characters in host')
    port = parsePort(data[data.length - 1], input)
    host = data.slice(0, -1).join(':')
    if (host === '') {
      if (transport !== 'net') throw new InvalidAddressError(input, 'empty host')
      host = 'localhost'
    }
  }
  const address: ShsAddress = { transport, host, port, key }
  if (seed !== undefined) address.seed = seed
  return address
}

/**
 * Parses a one-route multiserver shs address such as `net:10.0.0.1:8008~shs:<key>`,
 * `net:::1:8008~shs:<key>`, `ws://example.com:8989~shs:<key>` or `onion:x.onion:8008~shs:<key>`,
 * with an optional `:<seed>`. Throws {@link InvalidAddressError} for anything else, including
 * several `;`-routes (use {@link findShsAddresses}).
 */
export function parseShsAddress(text: string): ShsAddress {
  const routes = parseMultiserverAddress(text)
  if (routes.length !== 1) throw new InvalidAddressError(text, 'expected a single route')
  return shsAddressFromRoute(routes[0]!, text)
}

/**
 * Parses `net:<host>:<port>~shs:<key>[:<seed>]` into `{host, port, key, seed?}`. Throws
 * {@link InvalidAddressError} for any other transport or a malformed address.
 */
export function parseNetShsAddress(text: string): NetShsAddress {
  const { transport, ...address } = parseShsAddress(text)
  if (transport !== 'net') throw new InvalidAddressError(text, 'not a net: address')
  return address
}

/**
 * Every route of a multiserver address that is a valid shs address, in order; routes with other
 * transports (`unix`, `noauth`, unknown ones) or malformed shs data are skipped. Throws
 * {@link InvalidAddressError} only when the text is outside the multiserver grammar.
 */
export function findShsAddresses(text: string): ShsAddress[] {
  const found: ShsAddress[] = []
  for (const route of parseMultiserverAddress(text)) {
    try {
      found.push(shsAddressFromRoute(route, text))
    } catch (error) {
      if (!(error instanceof InvalidAddressError)) throw error
    }
  }
  return found
}

function checkShsAddress(address: ShsAddress, input: unknown = address): void {
  if (typeof address !== 'object' || address === null) {
    throw new InvalidAddressError(input, 'not an object')
  }
  if (!shsTransports.includes(address.transport)) {
    throw new InvalidAddressError(input, 'transport is not net, onion, ws or wss')
  }
  if (!isPortNumber(address.port)) throw new InvalidAddressError(input, 'bad port')
  if (!isStrictFeedId(address.key)) throw new InvalidAddressError(input, 'bad key')
  if (address.seed !== undefined && !isInviteSeed(address.seed)) {
    throw new InvalidAddressError(input, 'bad seed')
  }
  const { host } = address
  const isWs = address.transport === 'ws' || address.transport === 'wss'
  // Hosts must be plain multiserver data; a colon only as in IPv6.
  const hostPattern = isWs ? /^(?:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[^/?#@[\]:]+)$/ : /^[^!~;]+$/
  if (typeof host !== 'string' || host === '' || !hostPattern.test(host) || hasBadChar(host)) {
    throw new InvalidAddressError(input, 'bad host')
  }
}

// Characters that no multiserver data field can carry (space, controls, DEL, non-ASCII).
function hasBadChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code <= 0x20 || code >= 0x7f || code === 0x21 || code === 0x3b || code === 0x7e) {
      return true
    }
  }
  return false
}

/** The route of an shs address, for {@link stringifyMultiserverAddress}. */
export function shsAddressToRoute(address: ShsAddress): MultiserverRoute {
  checkShsAddress(address)
  const { transport, host, port } = address
  const shs: MultiserverProtocol = {
    name: 'shs',
    data: [address.key.slice(1, -'.ed25519'.length), ...(address.seed ? [address.seed] : [])],
  }
  let data: string[]
  if (transport === 'ws' || transport === 'wss') {
    data = [`//${host.includes(':') ? `[${host}]` : host}`, String(port)]
    // `[::1]` spans fields: the transport's data is everything split at `:`.
    data = data.join(':').split(':')
  } else {
    data = [...host.split(':'), String(port)]
  }
  return { transport: { name: transport, data }, transforms: [shs] }
}

/**
 * Writes an shs address as a multiserver string: `net:<host>:<port>~shs:<key>[:<seed>]`,
 * `onion:...`, or `ws://<host>:<port>~shs:...` (IPv6 in brackets for ws; the port is always
 * written, even 80 or 443, because ssb-ref cannot read a ws address without one). Throws
 * {@link InvalidAddressError} for a bad field.
 */
export function stringifyShsAddress(address: ShsAddress): string {
  return stringifyMultiserverAddress([shsAddressToRoute(address)])
}

/** Writes `{host, port, key, seed?}` as `net:<host>:<port>~shs:<key>[:<seed>]`. */
export function stringifyNetShsAddress(address: NetShsAddress): string {
  return stringifyShsAddress({ ...address, transport: 'net' })
}

function transportOfLegacyHost(host: string): [ShsTransport, string] {
  const ws = /^(wss?):\/\/(?:\[([^\]]*)\]$)?/.exec(host)
  if (ws) return [ws[1] as ShsTransport, ws[2] ?? host.slice(ws[0].length)]
  return [/\.onion$/.test(host) ? 'onion' : 'net', host]
}

/**
 * Reads a legacy address, the string `<host>:<port>:@<key>.ed25519` (host may be bare IPv6) or
 * the object `{host, port, key}`, as an {@link ShsAddress}. As ssb-ref's conversion does, a host
 * ending in `.onion` means the `onion` transport and a `ws://`/`wss://` prefix means ws.
 * Throws {@link InvalidAddressError}.
 */
export function parseLegacyAddress(
  input: string | { host: string; port: number; key: string },
): ShsAddress {
  let rawHost: unknown
  let port: unknown
  let key: unknown
  if (typeof input === 'string') {
    const parts = input.split(':')
    key = parts.pop()
    port = parsePort(parts.pop(), input)
    rawHost = parts.join(':')
  } else if (typeof input === 'object' && input !== null) {
    rawHost = input.host
    port = input.port
    key = input.key
  } else {
    throw new InvalidAddressError(input, 'not a string or an object')
  }
  if (typeof rawHost !== 'string' || rawHost === '')
    throw new InvalidAddressError(input, 'bad host')
  if (!isStrictFeedId(key)) throw new InvalidAddressError(input, 'bad key')
  const [transport, host] = transportOfLegacyHost(rawHost)
  const address: ShsAddress = { transport, host, port: port as number, key }
  checkShsAddress(address, input)
  return address
}

/**
 * Writes the legacy string `<host>:<port>:@<key>.ed25519` (`ws://` or `wss://` before the host
 * of a ws address). The seed, if any, is not part of this form.
 */
export function stringifyLegacyAddress(address: ShsAddress | NetShsAddress): string {
  const full: ShsAddress = { transport: 'net', ...address }
  checkShsAddress(full)
  const prefix = full.transport === 'ws' || full.transport === 'wss' ? `${full.transport}://` : ''
  return `${prefix}${full.host}:${full.port}:${full.key}`
}
