/**
 * The legacy views of the graph that ssb-friends 4.1.4 still serves (`friends.get`,
 * `friends.stream`): edge weights as `true` (follow), `false` (block), `null` (unfollow).
 * Patchwork and ssb-ws use `get` (`reference-features.md` §1.6).
 */

import type { FeedId } from '@scuttlekit/ssb-ref'
import type { EdgeWeight, FollowGraph } from './graph.js'

/** A legacy edge value: `true` follow, `false` block, `null` unfollow (or no edge). */
export type LegacyValue = boolean | null

/** The legacy graph: `{from: {to: value}}`. */
export type LegacyGraph = Record<string, Record<string, LegacyValue>>

/** One edge as `friends.stream` sends it after the whole graph. */
export interface LegacyEdge {
  from: FeedId
  to: FeedId
  value: LegacyValue
}

/** A weight as a legacy value (ssb-friends' `toLegacyValue`). */
export function toLegacyValue(weight: EdgeWeight | undefined): LegacyValue {
  if (weight === undefined) return null
  if (weight >= 0) return true
  return weight === -1 ? false : null
}

function row(edges: ReadonlyMap<FeedId, EdgeWeight>): Record<string, LegacyValue> {
  const out: Record<string, LegacyValue> = {}
  for (const [to, w] of edges) out[to] = toLegacyValue(w)
  return out
}

/** The whole graph in legacy form. */
export function legacyGraph(graph: FollowGraph): LegacyGraph {
  const out: LegacyGraph = {}
  for (const [from, edges] of graph.edges()) if (edges.size > 0) out[from] = row(edges)
  return out
}

/**
 * `friends.get(opts)` as the reference answers it:
 * - `{source, dest}`: the value of that edge (`null` if there is none), but `{}` when `source`
 *   has no edges at all;
 * - `{source}`: that feed's row (`{}` if none);
 * - `{dest}`: `{from: value}` for every feed with an edge to `dest`;
 * - otherwise the whole graph.
 */
export function legacyGet(graph: FollowGraph, opts: unknown): unknown {
  const o = (typeof opts === 'object' && opts !== null ? opts : {}) as {
    source?: unknown
    dest?: unknown
  }
  if (o.source) {
    const edges = typeof o.source === 'string' ? graph.edgesOf(o.source as FeedId) : undefined
    if (edges && edges.size > 0 && o.dest) {
      return toLegacyValue(typeof o.dest === 'string' ? edges.get(o.dest as FeedId) : undefined)
    }
    return edges ? row(edges) : {}
  }
  if (o.dest) {
    return typeof o.dest === 'string' ? row(graph.edgesInto(o.dest as FeedId)) : {}
  }
  return legacyGraph(graph)
}
