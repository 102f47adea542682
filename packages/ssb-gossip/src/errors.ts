/**
 * Errors of the gossip plugin. Remote callers see `name` and `message` only (muxrpc carries no
 * `code`), so each condition has its own class. A bad address is ssb-ref's
 * `InvalidAddressError`, re-exported here because `gossip.add` and `gossip.connect` throw it.
 */

import { ScuttlekitError } from '@scuttlekit/ssb-ref'

export { InvalidAddressError } from '@scuttlekit/ssb-ref'

/**
 * `gossip.connect(feedId)` for a peer that is not in the table: there is no address to dial.
 * The message is the reference's (`no known address for peer:@…`).
 */
export class UnknownPeerError extends ScuttlekitError {
  constructor(readonly id: string) {
    super(`no known address for peer:${id}`)
  }
}

/**
 * `get`, `remove` or `disconnect` was given something that names no peer: neither a feed id, nor
 * `{key}`, nor an address with a key. The message is the reference's (`must provide id:…`).
 */
export class PeerIdRequiredError extends ScuttlekitError {
  constructor(readonly value: unknown) {
    super(`must provide id:${safeJson(value)}`)
  }
}

/** `gossip.add(address, source)` with a source that is not one of {@link PEER_SOURCES}. */
export class InvalidPeerSourceError extends ScuttlekitError {
  constructor(readonly value: unknown) {
    super(`unknown peer source: ${safeJson(value)}`)
  }
}

/** `gossip.enable(type)` / `gossip.disable(type)` with a type other than global, local, friends, seed. */
export class InvalidGossipTypeError extends ScuttlekitError {
  constructor(readonly value: unknown) {
    super(`gossip type must be global, local, friends or seed, not ${safeJson(value)}`)
  }
}

/**
 * The peer's address has no route this server can dial: only `net:` with `shs` is served here;
 * `onion:`, `ws:` and `wss:` peers stay in the table but are never dialled.
 */
export class NotDialableError extends ScuttlekitError {
  constructor(readonly address: string) {
    super(`no net~shs route to dial in ${address}`)
  }
}

/** The peer table is full (see `GossipOptions.maxPeers`); the address was not added. */
export class PeerTableFullError extends ScuttlekitError {
  constructor(readonly limit: number) {
    super(`the peer table is full (${limit} peers)`)
  }
}

/** The plugin has closed (the server is shutting down); nothing more is dialled. */
export class GossipClosedError extends ScuttlekitError {
  constructor() {
    super('gossip is closed')
  }
}

/**
 * A `gossip.changes` reader fell too far behind (see `Channel`): its stream ends with this error
 * instead of the process holding an unbounded queue. Open a new stream to go on.
 */
export class ChangesOverflowError extends ScuttlekitError {
  constructor(readonly limit: number) {
    super(`gossip.changes reader is more than ${limit} events behind`)
  }
}

/** JSON for an error message, bounded, never throwing (cycles, BigInt). */
export function safeJson(value: unknown): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}
