/**
 * Peer addresses as gossip meets them (`ssb-protocol.md` §1.5): a multiserver string
 * (`net:host:port~shs:<key>`, possibly several `;`-joined routes as LAN beacons carry), the
 * legacy string `host:port:@key.ed25519`, or the legacy object `{host, port, key}` of `pub`
 * messages and old `gossip.json` files.
 *
 * Every form is turned into one record with the peer's key, a host and port (from the first shs
 * route, as ssb-ref's `parseAddress` picks them) and the routes we can dial. ssb-gossip 1.1.1
 * kept a string's host undefined and its scheduler then crashed on `ip.isPrivate(undefined)`
 * (`reference-features.md` §5.13 defect 1); here a host is always present or the address is
 * refused.
 */

import {
  type FeedId,
  findShsAddresses,
  InvalidAddressError,
  parseLegacyAddress,
  type ShsAddress,
  stringifyShsAddress,
} from '@scuttlekit/ssb-ref'

/** Longest address text accepted (a LAN beacon with a few routes is far below this). */
export const MAX_ADDRESS_LENGTH = 2048

/** What a peer address is made of, whichever form it came in. */
export interface PeerAddress {
  /** The multiserver address as stored and shown (the text itself when a string was given). */
  address: string
  /** The peer's feed id. */
  key: FeedId
  /** Host of the first shs route. */
  host: string
  /** Port of the first shs route. */
  port: number
  /**
   * The routes of `address` this server can dial: `net:` with `shs` and the peer's key, without
   * invite seeds, `;`-joined. `null` when there is none (an onion- or ws-only peer).
   */
  dial: string | null
}

/** The input forms of {@link parsePeerAddress}. */
export type PeerAddressInput =
  | string
  | { address?: string; host?: string; port?: number | string; key?: string }

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fromRoutes(text: string, routes: ShsAddress[]): PeerAddress {
  const first = routes[0]
  if (!first) throw new InvalidAddressError(text, 'no shs route with a valid key')
  const dial = routes
    .filter((r) => r.transport === 'net' && r.key === first.key)
    .map((r) => stringifyShsAddress({ transport: 'net', host: r.host, port: r.port, key: r.key }))
  return {
    address: text,
    key: first.key,
    host: first.host,
    port: first.port,
    dial: dial.length ? [...new Set(dial)].join(';') : null,
  }
}

function parseText(text: string): PeerAddress {
  if (text.length > MAX_ADDRESS_LENGTH) throw new InvalidAddressError(text, 'too long')
  if (text.includes('~')) return fromRoutes(text, findShsAddresses(text))
  const legacy = parseLegacyAddress(text)
  return fromRoutes(stringifyShsAddress(legacy), [legacy])
}

/**
 * Reads any address form into a {@link PeerAddress}. An object's `address` field wins when it is
 * a usable multiserver address (as ssb-gossip's `coearseAddress` prefers it); otherwise
 * `{host, port, key}` is used, with a port given as a decimal string accepted (old files).
 * Throws {@link InvalidAddressError} for anything else: junk, a route without a 32-byte key, a
 * bad port, or a text over {@link MAX_ADDRESS_LENGTH} characters.
 */
export function parsePeerAddress(input: unknown): PeerAddress {
  if (typeof input === 'string') return parseText(input)
  if (!isPlainObject(input)) throw new InvalidAddressError(input, 'not a string or an object')
  if (typeof input.address === 'string') {
    try {
      const parsed = parseText(input.address)
      if (input.key !== undefined && input.key !== parsed.key) {
        throw new InvalidAddressError(input, 'key does not match the address')
      }
      return parsed
    } catch (err) {
      if (input.host === undefined) throw err
    }
  }
  let port = input.port
  if (typeof port === 'string' && /^\d{1,5}$/.test(port)) port = Number(port)
  const legacy = parseLegacyAddress({
    host: input.host as string,
    port: port as number,
    key: input.key as string,
  })
  return fromRoutes(stringifyShsAddress(legacy), [legacy])
}

/** The feed id named by a peer reference: a feed id, `{key}`, or an address; else `undefined`. */
export function peerKeyOf(value: unknown): FeedId | undefined {
  if (typeof value === 'string' && /^@[A-Za-z0-9/+]{43}=\.ed25519$/.test(value)) {
    return value as FeedId
  }
  if (isPlainObject(value) && typeof value.key === 'string') return peerKeyOf(value.key)
  try {
    return parsePeerAddress(value).key
  } catch {
    return undefined
  }
}

/** True for a host on this machine's loopback: `localhost`, `127.0.0.0/8`, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  return (
    h === 'localhost' ||
    h === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  )
}
