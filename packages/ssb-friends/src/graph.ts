/**
 * The follow graph as a pure data structure: edges from `contact` messages and signed hop
 * distances from one start feed, with the rules of npm ssb-friends 4.1.4 (its layered-graph and
 * dynamic-dijkstra), `ssb-protocol.md` §8.2 and `reference-features.md` §1.6, §5.5.
 *
 * Hop values:
 * - the start feed is 0;
 * - a feed followed by a feed at `h` (with `0 ≤ h < max`) gets `h + 1`;
 * - a feed blocked (or flagged) by a feed at `h` gets `−(h + 1)`, and one unfollowed by it
 *   `−(h + 2)`;
 * - of all the values a feed is offered, the one nearest zero wins, and at equal distance the
 *   positive one: a friend's follow beats another friend's block at the same distance, while a
 *   block of ours (−1) beats every follow path (≥ 1);
 * - only feeds at `0 ≤ h < max` pass values on, so followed feeds end at `max`, and a feed with a
 *   negative value (blocked) passes nothing on.
 *
 * Feeds no expanded feed points at are absent. All values are integers: contact messages never
 * produce the zero-weight ("same-as") edges for which layered-graph would use 0.1.
 */

import { type FeedId, isFeedId, safeNumber } from '@scuttlekit/ssb-ref'

/** The weight of a contact edge: follow, block (or flag), unfollow (`ssb-protocol.md` §8.2). */
export type EdgeWeight = 1 | -1 | -2

/** Weight of a follow (`following: true`). */
export const FOLLOW = 1 as const
/** Weight of a block (`blocking` or `flagged` truthy; these win over `following`). */
export const BLOCK = -1 as const
/** Weight of anything else, an unfollow (`following: false`, or no `following` at all). */
export const UNFOLLOW = -2 as const

/** One edge of the graph: the author of a contact message, its `contact`, and the weight. */
export interface ContactEdge {
  readonly from: FeedId
  readonly to: FeedId
  readonly weight: EdgeWeight
}

/** A feed whose hop value changed; `null` means absent from the hops map. */
export interface HopChange {
  readonly feed: FeedId
  readonly hops: number | null
  readonly previous: number | null
}

/** The weight a contact message's content gives its edge (ssb-friends' `contacts2` reduce). */
export function contactWeight(content: unknown): EdgeWeight {
  const c = (typeof content === 'object' && content !== null ? content : {}) as Record<
    string,
    unknown
  >
  if (c.blocking || c.flagged) return BLOCK
  return c.following === true ? FOLLOW : UNFOLLOW
}

/**
 * The edge a message makes, or `undefined` when it makes none: the author and `content.contact`
 * must both be feed ids (ssb-ref's `isFeed`), as the reference's reduce requires. `content` is
 * the readable content (decrypted, for a private message we can open).
 */
export function contactEdge(author: unknown, content: unknown): ContactEdge | undefined {
  if (typeof content !== 'object' || content === null) return undefined
  const to = (content as { contact?: unknown }).contact
  if (!isFeedId(author) || !isFeedId(to)) return undefined
  return { from: author, to, weight: contactWeight(content) }
}

/**
 * The value a feed at `h` (expanded: `0 ≤ h < max`) offers along an edge of weight `w`:
 * `h + w` for a follow, `−h + w` for a block or unfollow.
 */
function offer(h: number, w: number): number {
  return w >= 0 ? h + w : -h + w
}

/**
 * Of two values, the one the graph keeps: the nearest zero, the positive one on a tie
 * (dynamic-dijkstra's `simple.min`). `undefined` is "no value".
 */
function better(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  const x = Math.abs(a)
  const y = Math.abs(b)
  if (x === y) return a > b ? a : b
  return x < y ? a : b
}

type Adjacency = ReadonlyMap<FeedId, ReadonlyMap<FeedId, EdgeWeight>>

/**
 * Signed hop distances from `start` over `adj`, expanding feeds at `0 ≤ h < max`; the same
 * result as dynamic-dijkstra's `traverse` with the `simple` metric. Breadth first: positive
 * values only grow by one per edge, so once layer `h` is done every feed at `h + 1` is final.
 */
export function traverse(adj: Adjacency, start: FeedId, max: number): Map<FeedId, number> {
  const hops = new Map<FeedId, number>([[start, 0]])
  let layer: FeedId[] = [start]
  for (let h = 0; h < max && layer.length > 0; h++) {
    const next: FeedId[] = []
    for (const j of layer) {
      if (hops.get(j) !== h) continue
      const edges = adj.get(j)
      if (!edges) continue
      for (const [k, w] of edges) {
        const cur = hops.get(k)
        const b = better(cur, offer(h, w))
        if (b === cur || b === undefined) continue
        hops.set(k, b)
        if (b > 0) next.push(k)
      }
    }
    layer = next
  }
  return hops
}

/**
 * The follow graph with hop distances from one feed, kept up to date edge by edge. Pure: no
 * I/O, no timers; the plugin feeds it contact messages in log order (the latest message of an
 * author about a feed wins, as the reference's reduce keeps it).
 */
export class FollowGraph {
  private readonly out = new Map<FeedId, Map<FeedId, EdgeWeight>>()
  private readonly in = new Map<FeedId, Map<FeedId, EdgeWeight>>()
  private readonly current: Map<FeedId, number>
  private edgeCount = 0

  /**
   * @param start the feed hops are counted from (our own feed), always at 0
   * @param max feeds at `0 ≤ h < max` pass values on (`friends.hops`)
   */
  constructor(
    readonly start: FeedId,
    readonly max: number,
  ) {
    this.current = new Map([[start, 0]])
  }

  /** The number of edges. */
  get size(): number {
    return this.edgeCount
  }

  /** The weight of the edge `from → to`, if there is one. */
  weight(from: FeedId, to: FeedId): EdgeWeight | undefined {
    return this.out.get(from)?.get(to)
  }

  /** The edges out of `from` (what `from` follows, blocks, unfollowed). */
  edgesOf(from: FeedId): ReadonlyMap<FeedId, EdgeWeight> {
    return this.out.get(from) ?? EMPTY
  }

  /** The edges into `to` (who follows, blocks, unfollowed `to`). */
  edgesInto(to: FeedId): ReadonlyMap<FeedId, EdgeWeight> {
    return this.in.get(to) ?? EMPTY
  }

  /** Every edge, grouped by source (the reference's `getGraph()`). */
  edges(): Adjacency {
    return this.out
  }

  /** Hops from `start` (negative for blocked feeds). Live: do not mutate, copy to keep. */
  hops(): ReadonlyMap<FeedId, number> {
    return this.current
  }

  /** Signed hop distances from another start, or over a different `max`, or along reversed edges. */
  traverse(start: FeedId, max: number, reverse = false): Map<FeedId, number> {
    return traverse(reverse ? this.in : this.out, start, max)
  }

  private store(from: FeedId, to: FeedId, weight: EdgeWeight): EdgeWeight | undefined {
    let row = this.out.get(from)
    if (!row) {
      row = new Map()
      this.out.set(from, row)
    }
    const old = row.get(to)
    row.set(to, weight)
    let col = this.in.get(to)
    if (!col) {
      col = new Map()
      this.in.set(to, col)
    }
    col.set(from, weight)
    if (old === undefined) this.edgeCount++
    return old
  }

  /**
   * Sets many edges (later ones win) and recomputes all hops once, without reporting changes:
   * for the initial index.
   */
  load(edges: Iterable<ContactEdge>): void {
    for (const e of edges) this.store(e.from, e.to, e.weight)
    this.replace(traverse(this.out, this.start, this.max))
  }

  /** Swaps in new hops, keeping the map's identity (callers may hold it). */
  private replace(hops: ReadonlyMap<FeedId, number>): void {
    this.current.clear()
    for (const [k, h] of hops) this.current.set(k, h)
  }

  /**
   * Sets one edge and updates the hops, returning the feeds whose value changed (including
   * feeds that left the map, with `hops: null`).
   *
   * Only feeds whose value may rest on the edge's target are recomputed: the target and, from
   * it, every feed whose value equals what an affected feed offers it. Their values are
   * dropped, re-seeded from unaffected neighbours, and a breadth-first pass from the lowest seed
   * settles them; feeds outside that set can only improve, and the pass reaches those that do.
   */
  set(from: FeedId, to: FeedId, weight: EdgeWeight): HopChange[] {
    const old = this.store(from, to, weight)
    if (old === weight) return []
    const hf = this.current.get(from)
    // an edge out of a feed that does not expand, into the start, or to itself changes nothing
    if (hf === undefined || hf < 0 || !(hf < this.max) || to === this.start || from === to) {
      return []
    }
    const hops = this.current
    const affected = new Set<FeedId>([to])
    const stack: FeedId[] = [to]
    while (stack.length > 0) {
      const j = stack.pop()!
      const h = hops.get(j)
      if (h === undefined || h < 0 || !(h < this.max)) continue
      for (const [k, w] of this.edgesOf(j)) {
        if (affected.has(k) || k === this.start) continue
        if (hops.get(k) === offer(h, w)) {
          affected.add(k)
          stack.push(k)
        }
      }
    }
    const previous = new Map<FeedId, number | undefined>()
    for (const k of affected) {
      previous.set(k, hops.get(k))
      hops.delete(k)
    }
    const buckets = new Map<number, FeedId[]>()
    const enqueue = (k: FeedId, h: number): void => {
      if (!(h < this.max)) return
      const b = buckets.get(h)
      if (b) b.push(k)
      else buckets.set(h, [k])
    }
    let lowest = Number.POSITIVE_INFINITY
    for (const k of affected) {
      let v: number | undefined
      for (const [j, w] of this.edgesInto(k)) {
        const h = hops.get(j)
        if (h === undefined || h < 0 || !(h < this.max)) continue
        v = better(v, offer(h, w))
      }
      if (v === undefined) continue
      hops.set(k, v)
      if (v > 0) {
        enqueue(k, v)
        if (v < lowest) lowest = v
      }
    }
    for (let h = lowest; buckets.size > 0; h++) {
      const layer = buckets.get(h)
      if (!layer) continue
      buckets.delete(h)
      for (const j of layer) {
        if (hops.get(j) !== h) continue
        for (const [k, w] of this.edgesOf(j)) {
          const cur = hops.get(k)
          const b = better(cur, offer(h, w))
          if (b === cur || b === undefined) continue
          if (!previous.has(k)) previous.set(k, cur)
          hops.set(k, b)
          // A feed outside the recomputed set that passed values on and is now blocked (only
          // possible with max ≥ 4) withdraws what it offered: recompute everything instead.
          if (b < 0 && cur !== undefined && cur >= 0 && cur < this.max && !affected.has(k)) {
            return this.recompute(previous)
          }
          if (b > 0) enqueue(k, b)
        }
      }
    }
    const changes: HopChange[] = []
    for (const [feed, was] of previous) {
      const now = hops.get(feed)
      if (now !== was) changes.push({ feed, hops: now ?? null, previous: was ?? null })
    }
    return changes
  }

  /**
   * Replaces the hops with a full traversal and reports the differences from the state before
   * the current update (`previous` holds the old values of feeds already touched).
   */
  private recompute(previous: ReadonlyMap<FeedId, number | undefined>): HopChange[] {
    const before = this.current
    const was = (k: FeedId) => (previous.has(k) ? previous.get(k) : before.get(k))
    const after = traverse(this.out, this.start, this.max)
    const changes: HopChange[] = []
    const seen = new Set<FeedId>()
    for (const k of [...previous.keys(), ...before.keys(), ...after.keys()]) {
      if (seen.has(k)) continue
      seen.add(k)
      const old = was(k)
      const now = after.get(k)
      if (now !== old) changes.push({ feed: k, hops: now ?? null, previous: old ?? null })
    }
    this.replace(after)
    return changes
  }

  /** Whether `source` follows `dest` (its latest contact about `dest` follows it). */
  isFollowing(source: FeedId, dest: FeedId): boolean {
    return this.weight(source, dest) === FOLLOW
  }

  /** Whether `source` blocks (or flagged) `dest`. */
  isBlocking(source: FeedId, dest: FeedId): boolean {
    return this.weight(source, dest) === BLOCK
  }

  /** The feeds `source` blocks. */
  blocks(source: FeedId): FeedId[] {
    const out: FeedId[] = []
    for (const [to, w] of this.edgesOf(source)) if (w === BLOCK) out.push(to)
    return out
  }
}

const EMPTY: ReadonlyMap<FeedId, EdgeWeight> = new Map()

/**
 * The reference's `hops({start, max, reverse})` over a graph: our own hops when `start` is ours
 * and `max` the configured one; when `max` is lower, our hops filtered to `≤ max` (which keeps
 * every negative value, as layered-graph's `getHops` does); otherwise a fresh traversal. A
 * `max` of 0 or none means the configured one (the reference's `opts.max || max`).
 */
export function hopsQuery(
  graph: FollowGraph,
  opts: { start?: unknown; max?: unknown; reverse?: unknown } = {},
): Map<FeedId, number> {
  const start =
    typeof opts.start === 'string' && opts.start !== '' ? (opts.start as FeedId) : graph.start
  const max = safeNumber(opts.max) || graph.max
  if (opts.reverse === true) return graph.traverse(start, max, true)
  if (start !== graph.start || max > graph.max) return graph.traverse(start, max)
  if (max === graph.max) return new Map(graph.hops())
  const out = new Map<FeedId, number>()
  for (const [k, h] of graph.hops()) if (h <= max) out.set(k, h)
  return out
}
