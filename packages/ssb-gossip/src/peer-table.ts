/**
 * The peer table: every peer we know an address for, keyed by feed id, with where we heard of it
 * and how connecting to it has gone. The record shape is ssb-gossip 1.1.1's, so that
 * `gossip.peers()` and `gossip.json` read the same as the reference's
 * (`reference-features.md` §1.4, §4 "gossip.json").
 */

import type { FeedId } from '@scuttlekit/ssb-ref'
import { type PeerAddress, parsePeerAddress } from './address.js'
import { InvalidPeerSourceError, PeerTableFullError } from './errors.js'
import { emptyStats, type Stats, toStats } from './stats.js'

/**
 * Where a peer came from: `manual` (`gossip.add`/`connect`), `pub` (a `pub` message), `local`
 * (a LAN beacon), `seed` (`config.seeds`, invites), `friends`, `stored` (`gossip.json`).
 */
export type PeerSource = 'manual' | 'pub' | 'local' | 'seed' | 'friends' | 'stored'

/** Every {@link PeerSource}. */
export const PEER_SOURCES: readonly PeerSource[] = Object.freeze([
  'manual',
  'pub',
  'local',
  'seed',
  'friends',
  'stored',
])

/** Where a connection to a peer stands; absent when there is none. */
export type PeerState = 'connecting' | 'connected' | 'disconnecting'

/** Round-trip time and clock skew measured by `gossip.ping` (§4.9), in milliseconds. */
export interface PeerPing {
  rtt: Stats
  skew: Stats
  /** The peer answered our ping with an error (it has no `gossip.ping`). */
  fail?: boolean
}

/**
 * One peer, as `gossip.peers()`, `gossip.get()` and the `changes` events show it. Times are
 * `Date.now()` milliseconds.
 */
export interface GossipPeer {
  /** The multiserver address (several `;`-joined routes for some LAN peers). */
  address: string
  key: FeedId
  host: string
  port: number
  source: PeerSource
  /** How many times the peer was announced (added again) from a non-LAN source. */
  announcers: number
  /** Lengths of past connections (0 for each failed attempt), or `null` before the first. */
  duration: Stats | null
  /** When `state` last changed (connect, failure, disconnect). */
  stateChange?: number
  /** Failed attempts since the last successful connection we made. */
  failure?: number
  state?: PeerState
  /** Whether we dialled the current (or last) connection. */
  client?: boolean
  /** Message of the last failed attempt. */
  error?: string
  ping?: PeerPing
}

/** The fields of a peer on top of its address, as read from a stored record. */
type StoredFields = Pick<
  GossipPeer,
  'announcers' | 'duration' | 'stateChange' | 'failure' | 'client' | 'error' | 'ping'
>

/** One table entry: the public record plus what the plugin needs to dial it. */
export interface PeerEntry {
  readonly peer: GossipPeer
  /** See {@link PeerAddress.dial}. */
  dial: string | null
}

/** What happened to the table. */
export interface TableEvent {
  type: 'discover' | 'remove'
  entry: PeerEntry
  source?: PeerSource
}

/** Limits of a {@link PeerTable}. */
export interface PeerTableLimits {
  /** Most peers in the table; `manual` adds are always taken (default 10 000). */
  maxPeers?: number
  /** Most peers whose source is `local` (default 100): a LAN flood cannot fill the table. */
  maxLocalPeers?: number
}

/** True for one of the {@link PEER_SOURCES}. */
export function isPeerSource(value: unknown): value is PeerSource {
  return typeof value === 'string' && (PEER_SOURCES as readonly string[]).includes(value)
}

function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/** The extra fields of a stored record that have the right types; the rest is dropped. */
function storedFields(raw: Record<string, unknown>): Partial<StoredFields> {
  const out: Partial<StoredFields> = {}
  const announcers = finiteNumber(raw.announcers)
  if (announcers !== undefined && announcers >= 0) out.announcers = Math.floor(announcers)
  const duration = toStats(raw.duration)
  if (duration) out.duration = duration
  const stateChange = finiteNumber(raw.stateChange)
  if (stateChange !== undefined && stateChange >= 0) out.stateChange = stateChange
  const failure = finiteNumber(raw.failure)
  if (failure !== undefined && failure >= 0) out.failure = Math.min(Math.floor(failure), 64)
  if (typeof raw.client === 'boolean') out.client = raw.client
  if (typeof raw.error === 'string') out.error = raw.error.slice(0, 500)
  if (typeof raw.ping === 'object' && raw.ping !== null) {
    const p = raw.ping as Record<string, unknown>
    const rtt = toStats(p.rtt)
    const skew = toStats(p.skew)
    if (rtt)
      out.ping = { rtt, skew: skew ?? emptyStats(), ...(p.fail === true ? { fail: true } : {}) }
  }
  return out
}

/** A copy of a peer record that later changes to the table do not touch. */
export function copyPeer(peer: GossipPeer): GossipPeer {
  const out: GossipPeer = { ...peer }
  if (peer.duration) out.duration = { ...peer.duration }
  if (peer.ping) out.ping = { ...peer.ping, rtt: { ...peer.ping.rtt }, skew: { ...peer.ping.skew } }
  return out
}

/**
 * The table. Adding follows ssb-gossip: never our own key; a known peer is not replaced (its
 * address stays), a `friends` or `local` announcement takes over the source, any other
 * announcement counts in `announcers`. Unlike the reference, a peer loaded from `gossip.json`
 * (`stored`) takes the source of the next announcement, so a seed stays a seed across restarts.
 */
export class PeerTable {
  private readonly entries = new Map<FeedId, PeerEntry>()
  private readonly listeners = new Set<(event: TableEvent) => void>()
  private readonly maxPeers: number
  private readonly maxLocalPeers: number
  private localCount = 0

  constructor(
    readonly ownId: FeedId,
    limits: PeerTableLimits = {},
  ) {
    this.maxPeers = limits.maxPeers ?? 10_000
    this.maxLocalPeers = limits.maxLocalPeers ?? 100
  }

  /** Calls `fn` for every discover and remove. Returns the function that stops it. */
  onEvent(fn: (event: TableEvent) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(event: TableEvent): void {
    for (const fn of this.listeners) fn(event)
  }

  /** Number of peers. */
  get size(): number {
    return this.entries.size
  }

  /** The live entries, in the order they were added. */
  list(): PeerEntry[] {
    return [...this.entries.values()]
  }

  /** The entry of a feed id. */
  get(key: string): PeerEntry | undefined {
    return this.entries.get(key as FeedId)
  }

  /**
   * Adds an address with a source (default `manual`) and returns the entry, new or known, or
   * `undefined` for our own key. Throws `InvalidAddressError` for a bad address,
   * {@link InvalidPeerSourceError} for an unknown source and {@link PeerTableFullError} when a
   * new non-manual peer would go over the limits.
   */
  add(input: unknown, source: unknown = 'manual'): PeerEntry | undefined {
    if (source === undefined || source === null) source = 'manual'
    if (!isPeerSource(source)) throw new InvalidPeerSourceError(source)
    const parsed = parsePeerAddress(input)
    return this.insert(parsed, source)
  }

  /**
   * Adds a record read from `gossip.json`: its address with source `stored`, keeping the
   * statistics fields (duration, ping, failures) that have the right types.
   */
  restore(raw: unknown): PeerEntry | undefined {
    const entry = this.add(raw, 'stored')
    if (entry && typeof raw === 'object' && raw !== null && entry.peer.source === 'stored') {
      Object.assign(entry.peer, storedFields(raw as Record<string, unknown>))
    }
    return entry
  }

  private insert(parsed: PeerAddress, source: PeerSource): PeerEntry | undefined {
    if (parsed.key === this.ownId) return undefined
    const known = this.entries.get(parsed.key)
    if (known) {
      const peer = known.peer
      if (source === 'friends' || source === 'local') {
        if (peer.source === 'local' && source !== 'local') this.localCount--
        if (peer.source !== 'local' && source === 'local') this.localCount++
        peer.source = source
      } else if (peer.source === 'stored' && source !== 'stored') {
        peer.source = source
      } else if (peer.source !== 'local') {
        peer.announcers++
      }
      return known
    }
    if (source !== 'manual' && this.entries.size >= this.maxPeers) {
      throw new PeerTableFullError(this.maxPeers)
    }
    if (source === 'local' && this.localCount >= this.maxLocalPeers) {
      throw new PeerTableFullError(this.maxLocalPeers)
    }
    const peer: GossipPeer = {
      address: parsed.address,
      key: parsed.key,
      host: parsed.host,
      port: parsed.port,
      source,
      announcers: 1,
      duration: null,
    }
    const entry: PeerEntry = { peer, dial: parsed.dial }
    this.entries.set(parsed.key, entry)
    if (source === 'local') this.localCount++
    this.emit({ type: 'discover', entry, source })
    return entry
  }

  /**
   * Gives a known peer a new address (same key), e.g. after `gossip.connect` reached it at an
   * address other than the one in the table. Returns false when the key differs or is unknown.
   */
  readdress(parsed: PeerAddress): boolean {
    const entry = this.entries.get(parsed.key)
    if (!entry) return false
    entry.peer.address = parsed.address
    entry.peer.host = parsed.host
    entry.peer.port = parsed.port
    entry.dial = parsed.dial
    return true
  }

  /** Removes a peer by feed id; returns the removed entry. */
  remove(key: string): PeerEntry | undefined {
    const entry = this.entries.get(key as FeedId)
    if (!entry) return undefined
    this.entries.delete(key as FeedId)
    if (entry.peer.source === 'local') this.localCount--
    this.emit({ type: 'remove', entry })
    return entry
  }

  /**
   * The records to store in `gossip.json`: every peer but LAN ones (they are rediscovered), without
   * `state`, as the reference writes them.
   */
  toStored(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = []
    for (const { peer } of this.entries.values()) {
      if (peer.source === 'local') continue
      const { state: _state, ...rest } = copyPeer(peer)
      out.push(rest)
    }
    return out
  }
}
