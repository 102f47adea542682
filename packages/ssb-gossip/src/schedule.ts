/**
 * The connection scheduler's decisions, as pure functions over the peer table
 * (`reference-features.md` §5.4, ssb-gossip 1.1.1 `schedule.js`). Each tick looks at the peers
 * group by group; a group has a quota of connections, and a peer that failed `n` times in a row
 * waits `min(2^n × factor, max)` after its last state change before the next attempt. A group
 * also waits `groupMin` after the latest state change of any of its unconnected peers, so that
 * failures do not turn into a storm of attempts. Connections we dialled to peers that are
 * neither long-term (answer `gossip.ping`) nor on the LAN are closed after a while, and a group
 * more than twice over its quota is trimmed.
 *
 * Differences from the reference, all deliberate:
 * - friends are the peers at 1 hop (we follow them) according to the friends plugin, as well as
 *   peers added with source `friends` (which nobody adds in ssb-server 16);
 * - a peer the friends plugin says we block (hops −1) is never dialled, and a connection we
 *   dialled to one is closed;
 * - a LAN peer is one heard on the LAN (source `local`), loopback addresses included, so that
 *   discovery works between nodes on one machine;
 * - "long-term" means that a ping round trip was measured (the reference wants its mean above
 *   0 ms, which a LAN or loopback peer may never reach);
 * - only connections we dialled are dropped (not long-term, over quota): an incoming connection
 *   is the other side's choice, and the idle timeout closes dead ones;
 * - all intervals can be scaled (`scale`) so that tests run in milliseconds.
 */

import type { GossipPeer } from './peer-table.js'

/** One group's limits, in milliseconds (before scaling). */
export interface GroupOptions {
  /** Connections wanted in this group. */
  quota: number
  /** Base of the exponential back-off. */
  factor: number
  /** Longest back-off. */
  max: number
  /** Pause of the whole group after the latest state change among its unconnected peers. */
  groupMin: number
}

/** The back-off after `failures` consecutive failures: `min(2^failures × factor, max)`. */
export function backoff(failures: number, factor: number, max: number): number {
  return Math.min(2 ** failures * factor, max > 0 ? max : Number.POSITIVE_INFINITY)
}

/** When a peer may be tried again. */
export function nextAttempt(peer: GossipPeer, opts: GroupOptions): number {
  return (peer.stateChange ?? 0) + backoff(peer.failure ?? 0, opts.factor, opts.max)
}

/** Whether a peer has a connection, or an attempt under way. */
export function isConnectedOrConnecting(peer: GossipPeer): boolean {
  return peer.state === 'connected' || peer.state === 'connecting'
}

/** Never tried. */
export function isUnattempted(peer: GossipPeer): boolean {
  return !peer.stateChange
}

/** Tried, but never connected for any length of time. */
export function isInactive(peer: GossipPeer): boolean {
  return Boolean(peer.stateChange) && (!peer.duration || peer.duration.mean === 0)
}

/** Answers pings: a round trip has been measured on a connection we made. */
export function isLongterm(peer: GossipPeer): boolean {
  return (peer.ping?.rtt.count ?? 0) > 0
}

/** Connected for a while in the past, but never measured as long-term. */
export function isLegacy(peer: GossipPeer): boolean {
  return Boolean(peer.duration && peer.duration.mean > 0) && !isLongterm(peer)
}

/**
 * The peers of a group to dial now: at most `quota` minus the connected ones, the unconnected
 * peers whose back-off has passed, oldest state change first; none while the group pauses.
 */
export function selectPeers(
  peers: readonly GossipPeer[],
  now: number,
  filter: (peer: GossipPeer) => boolean,
  opts: GroupOptions,
): GossipPeer[] {
  const group = peers.filter(filter)
  const unconnected = group.filter((p) => !isConnectedOrConnecting(p))
  const count = Math.max(opts.quota - (group.length - unconnected.length), 0)
  if (count === 0) return []
  const latest = unconnected.reduce((m, p) => Math.max(m, p.stateChange ?? 0), 0)
  if (now < latest + opts.groupMin) return []
  return unconnected
    .filter((p) => nextAttempt(p, opts) < now)
    .sort((a, b) => (a.stateChange ?? 0) - (b.stateChange ?? 0))
    .slice(0, count)
}

/** Which groups are on (`gossip.<type>` in the config, `gossip.enable/disable`). */
export interface GossipSwitches {
  global: boolean
  local: boolean
  friends: boolean
  seed: boolean
}

/** What a tick needs to know besides the peers. */
export interface PlanContext {
  switches: GossipSwitches
  /** Multiplies every factor, max and groupMin (1 = the reference's timings). */
  scale: number
  /** Closes our non-long-term connections this long after they opened (10 000 ms). */
  dropAfter: number
  isFriend(peer: GossipPeer): boolean
  isLocal(peer: GossipPeer): boolean
  isBlocked(peer: GossipPeer): boolean
  /** Can be dialled now: has a net route, network is up. */
  canDial(peer: GossipPeer): boolean
  /** Our only connections to this peer are ones we dialled. */
  isOutgoingOnly(peer: GossipPeer): boolean
}

/** The outcome of a tick. */
export interface Plan {
  connect: GossipPeer[]
  disconnect: GossipPeer[]
}

const MIN = 60_000
const HOUR = 60 * MIN

/**
 * One tick of the scheduler over the whole table. Groups run in the reference's order, and a
 * peer chosen by one group counts as connecting (changed now) for the next ones, so it is
 * picked once.
 */
export function planTick(peers: readonly GossipPeer[], now: number, ctx: PlanContext): Plan {
  // Peers chosen by a group are seen by the later groups as ssb-gossip sees them after
  // `gossip.connect`: connecting, with a state change now.
  const view = peers.slice()
  const original = new Map<GossipPeer, GossipPeer>(peers.map((p) => [p, p]))
  const chosen = new Set<GossipPeer>()
  const dropping = new Set<GossipPeer>()
  const s = ctx.scale
  const usable = (p: GossipPeer) => !ctx.isBlocked(p) && ctx.canDial(p)

  const group = (filter: (p: GossipPeer) => boolean, o: GroupOptions) => {
    const scaled: GroupOptions = {
      quota: o.quota,
      factor: o.factor * s,
      max: o.max * s,
      groupMin: o.groupMin * s,
    }
    const connected = peers.filter((p) => isConnectedOrConnecting(p) && filter(p))
    if (connected.length > o.quota * 2) {
      // over twice the quota: close the oldest ones beyond the quota (that we dialled)
      connected
        .filter((p) => p.state === 'connected' && ctx.isOutgoingOnly(p))
        .sort((a, b) => (a.stateChange ?? 0) - (b.stateChange ?? 0))
        .slice(0, connected.length - o.quota)
        .forEach((p) => {
          dropping.add(p)
        })
      return
    }
    for (const v of selectPeers(view, now, (q) => filter(q) && usable(q), scaled)) {
      const p = original.get(v)!
      chosen.add(p)
      const shadow: GossipPeer = { ...p, state: 'connecting', stateChange: now }
      original.set(shadow, p)
      view[view.indexOf(v)] = shadow
    }
  }

  const friend = ctx.isFriend
  const local = ctx.isLocal
  const connectedOthers = peers.filter(
    (p) => isConnectedOrConnecting(p) && !local(p) && !friend(p),
  ).length
  const connectedFriends = peers.filter((p) => isConnectedOrConnecting(p) && friend(p)).length

  const sw = ctx.switches
  if (sw.friends) group(friend, { quota: 3, factor: 2e3, max: 10 * MIN, groupMin: 1e3 })
  if (sw.seed) {
    group((p) => p.source === 'seed', { quota: 3, factor: 2e3, max: 10 * MIN, groupMin: 1e3 })
  }
  if (sw.local) group(local, { quota: 3, factor: 2e3, max: 10 * MIN, groupMin: 1e3 })
  if (sw.global) {
    group((p) => friend(p) && isLongterm(p), {
      quota: 2,
      factor: 10e3,
      max: 10 * MIN,
      groupMin: 5e3,
    })
    if (connectedFriends < 2) {
      group((p) => friend(p) && isUnattempted(p), { quota: 1, factor: 0, max: 0, groupMin: 0 })
    }
    group((p) => friend(p) && isInactive(p), {
      quota: 3,
      factor: 60e3,
      max: 3 * HOUR,
      groupMin: 5 * MIN,
    })
    group((p) => isLongterm(p) && !friend(p) && !local(p), {
      quota: 2,
      factor: 10e3,
      max: 10 * MIN,
      groupMin: 5e3,
    })
    if (connectedOthers === 0) {
      group(isUnattempted, { quota: 1, factor: 0, max: 0, groupMin: 0 })
    }
    group(isInactive, { quota: 3, factor: 5 * MIN, max: 3 * HOUR, groupMin: 250e3 })
    const longterm = peers.filter((p) => isConnectedOrConnecting(p) && isLongterm(p)).length
    group(isLegacy, {
      quota: Math.max(3 - longterm, 0),
      factor: 5 * MIN,
      max: 3 * HOUR,
      groupMin: 5 * MIN,
    })
  }

  for (const p of peers) {
    if (p.state !== 'connected') continue
    if (ctx.isBlocked(p) && ctx.isOutgoingOnly(p)) dropping.add(p)
    const permanent = isLongterm(p) || local(p)
    if (!permanent && ctx.isOutgoingOnly(p) && (p.stateChange ?? 0) + ctx.dropAfter < now) {
      dropping.add(p)
    }
  }
  return { connect: [...chosen].filter((p) => !dropping.has(p)), disconnect: [...dropping] }
}
