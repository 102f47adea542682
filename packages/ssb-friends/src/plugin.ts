/**
 * The `friends` plugin: indexes `contact` messages into a {@link FollowGraph}, serves ssb-friends
 * 4.1.4's methods (`reference-features.md` §1.6), enforces blocks (§5.5: a peer we block is
 * refused at the handshake and disconnected; a feed's history is not served to a peer its author
 * blocks, `ssb-protocol.md` §7.1) and gives other plugins the hops in process.
 */

import type { Located, SsbDb } from '@scuttlekit/ssb-db'
import type { FeedId } from '@scuttlekit/ssb-ref'
import type { Plugin, PluginContext, PluginInstance } from '@scuttlekit/ssb-server'
import { FriendsOptionsError, InProcessOnlyError } from './errors.js'
import {
  BLOCK,
  type ContactEdge,
  contactEdge,
  FollowGraph,
  type HopChange,
  hopsQuery,
} from './graph.js'
import { friendsHelp } from './help.js'
import { LiveSource } from './internal/live-source.js'
import { type LegacyEdge, legacyGet, legacyGraph, toLegacyValue } from './legacy.js'

/** Options of {@link friendsPlugin}. */
export interface FriendsOptions {
  /**
   * How many hops to replicate; overrides `config.friends.hops`. Without either (or
   * `config.replicate.hops`), 2, the default ssb-config gives.
   */
  hops?: number
}

/**
 * What the plugin offers other plugins in process, through `server.plugin<FriendsApi>('friends')`.
 * Everything is synchronous: the graph is in memory and up to date as soon as a message is
 * committed to the database (before `publish`/`add` resolve).
 */
export interface FriendsApi {
  /** Our feed id, at hop 0. */
  readonly id: FeedId
  /** The configured maximum (`friends.hops`). */
  readonly max: number
  /**
   * Hop distances from us: `0 ≤ h ≤ max` for the feeds to replicate, negative for feeds that are
   * blocked (−1 for the ones we block ourselves). A live view: do not modify it; copy it to keep
   * it.
   */
  hops(): ReadonlyMap<FeedId, number>
  /**
   * Calls `fn` with the feeds whose hops changed, once per committed group of messages;
   * `hops: null` means the feed left the map. Replicate a feed when `hops !== null && hops >= 0`.
   * Returns the function that unsubscribes.
   */
  onHopsChange(fn: (changes: readonly HopChange[]) => void): () => void
  /** Whether `source`'s latest contact message about `dest` follows it. */
  isFollowing(source: FeedId, dest: FeedId): boolean
  /** Whether `source`'s latest contact message about `dest` blocks (or flags) it. */
  isBlocking(source: FeedId, dest: FeedId): boolean
  /** The feeds `source` blocks. */
  blocks(source: FeedId): FeedId[]
  /**
   * Calls `fn` for every contact message indexed after start, in log order, whether or not it
   * changed anything (the reference's `onEdge`). Returns the function that unsubscribes.
   */
  onEdge(fn: (edge: ContactEdge) => void): () => void
}

/** A stored message as the database hands it over. */
type KVT = Located['kvt']

/** `friends.hops` from the options and configuration. */
function maxHops(options: FriendsOptions, config: Record<string, unknown>): number {
  if (typeof options.hops === 'number' && !Number.isNaN(options.hops)) return options.hops
  for (const section of ['friends', 'replicate']) {
    const s = config[section] as { hops?: unknown } | undefined
    if (typeof s?.hops === 'number' && s.hops >= 0) return s.hops
  }
  return 2
}

function optionsOf(arg: unknown): Record<string, unknown> {
  return typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>) : {}
}

/** A source-dest pair from `isFollowing`/`isBlocking` arguments. */
function pairOf(method: string, arg: unknown): [FeedId, FeedId] | undefined {
  if (typeof arg !== 'object' || arg === null) throw new FriendsOptionsError(method)
  const { source, dest } = arg as { source?: unknown; dest?: unknown }
  if (typeof source !== 'string' || typeof dest !== 'string') return undefined
  return [source as FeedId, dest as FeedId]
}

class Friends {
  readonly graph: FollowGraph
  private readonly hopListeners = new Set<(changes: readonly HopChange[]) => void>()
  private readonly edgeListeners = new Set<(edge: ContactEdge) => void>()
  private readonly sources = new Set<LiveSource<unknown>>()
  private unsubscribe: (() => void) | undefined
  private removeGuard: (() => void) | undefined
  readonly api: FriendsApi

  constructor(
    private readonly ctx: PluginContext,
    max: number,
  ) {
    const graph = new FollowGraph(ctx.id, max)
    this.graph = graph
    this.api = {
      id: ctx.id,
      max,
      hops: () => graph.hops(),
      onHopsChange: (fn) => {
        this.hopListeners.add(fn)
        return () => this.hopListeners.delete(fn)
      },
      isFollowing: (source, dest) => graph.isFollowing(source, dest),
      isBlocking: (source, dest) => graph.isBlocking(source, dest),
      blocks: (source) => graph.blocks(source),
      onEdge: (fn) => {
        this.edgeListeners.add(fn)
        return () => this.edgeListeners.delete(fn)
      },
    }
  }

  /** The edge a stored message makes, reading private content we can open. */
  private edgeOf(db: SsbDb, kvt: KVT): ContactEdge | undefined {
    const content = db.indexedContent(kvt)
    if ((content as { type?: unknown } | null)?.type !== 'contact') return undefined
    return contactEdge(kvt.value.author, content)
  }

  /**
   * Reads every stored contact message, then follows new ones. Records committed while the old
   * ones are read are buffered; receive timestamps strictly increase along the log, so a buffered
   * record the old part already had is recognised by its timestamp.
   */
  async start(): Promise<void> {
    const { db, logger } = this.ctx
    const started = performance.now()
    let buffered: Located[] | undefined = []
    this.unsubscribe = db.onRecords((records) => {
      if (buffered) buffered.push(...records)
      else this.onRecords(records)
    })
    const edges: ContactEdge[] = []
    let last = Number.NEGATIVE_INFINITY
    const take = (kvt: KVT): void => {
      const edge = this.edgeOf(db, kvt)
      if (edge) edges.push(edge)
    }
    for await (const item of db.messagesByType({ type: 'contact' })) {
      const kvt = item as KVT
      if (kvt.timestamp > last) last = kvt.timestamp
      take(kvt)
    }
    for (const rec of buffered) if (rec.kvt.timestamp > last) take(rec.kvt)
    buffered = undefined
    this.graph.load(edges)
    this.removeGuard = this.ctx.server.guardHistory(
      (feed, requester) => !this.graph.isBlocking(feed, requester),
    )
    logger.debug(
      { edges: this.graph.size, ms: Math.round(performance.now() - started) },
      'follow graph loaded',
    )
  }

  private onRecords(records: readonly Located[]): void {
    // Runs inside the database's commit: nothing may escape.
    try {
      const merged = new Map<FeedId, { hops: number | null; previous: number | null }>()
      for (const { kvt } of records) {
        const edge = this.edgeOf(this.ctx.db, kvt)
        if (!edge) continue
        const before = this.graph.weight(edge.from, edge.to)
        for (const c of this.graph.set(edge.from, edge.to, edge.weight)) {
          const m = merged.get(c.feed)
          if (m) m.hops = c.hops
          else merged.set(c.feed, { hops: c.hops, previous: c.previous })
        }
        for (const fn of this.edgeListeners) this.safely(() => fn(edge))
        if (edge.from === this.ctx.id && edge.weight === BLOCK && before !== BLOCK) {
          this.disconnect(edge.to)
        }
      }
      const changes: HopChange[] = []
      for (const [feed, { hops, previous }] of merged) {
        if (hops !== previous) changes.push({ feed, hops, previous })
      }
      if (changes.length === 0) return
      for (const fn of this.hopListeners) this.safely(() => fn(changes))
    } catch (err) {
      this.ctx.logger.error({ err }, 'indexing contact messages failed')
    }
  }

  private safely(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.ctx.logger.error({ err }, 'a friends listener failed')
    }
  }

  /** Closes every connection to a peer we have just blocked (as ssb-ebt's block does). */
  private disconnect(peer: FeedId): void {
    if (peer === this.ctx.id) return
    for (const session of this.ctx.server.sessions()) {
      if (session.info.remoteId !== peer) continue
      this.ctx.logger.info({ peer }, 'closing the connection of a peer we blocked')
      void session.close()
    }
  }

  private track<T>(source: LiveSource<T>): LiveSource<T> {
    this.sources.add(source as LiveSource<unknown>)
    return source
  }

  /** `hopStream`: the hops map, then (when live) coalesced diffs of the feeds that got a value. */
  hopStream(arg: unknown, signal?: AbortSignal): AsyncIterable<Record<string, number>> {
    const opts = optionsOf(arg)
    const snapshot = (): Record<string, number> => Object.fromEntries(this.graph.hops())
    if (opts.live !== true) {
      // as layered-graph: one map, even with old: false
      const map = snapshot()
      return (async function* () {
        yield map
      })()
    }
    let first: Record<string, number> | undefined = opts.old !== false ? snapshot() : undefined
    let pending = new Map<FeedId, number>()
    const listener = (changes: readonly HopChange[]): void => {
      for (const c of changes) {
        // a feed that left the map is not announced (layered-graph's diffs never do)
        if (c.hops === null) pending.delete(c.feed)
        else pending.set(c.feed, c.hops)
      }
      source.wake()
    }
    const source = this.track(
      new LiveSource<Record<string, number>>(
        () => {
          const out: Record<string, number>[] = []
          if (first) out.push(first)
          first = undefined
          if (pending.size > 0) out.push(Object.fromEntries(pending))
          pending = new Map()
          return out
        },
        () => {
          this.hopListeners.delete(listener)
          this.sources.delete(source as LiveSource<unknown>)
        },
        signal,
      ),
    )
    this.hopListeners.add(listener)
    return source
  }

  /**
   * `createFriendStream`: the feeds of the first map with hops ≥ 0, then every feed of each diff
   * (blocked ones included), as ids or, with `meta`, `{id, hops}`.
   */
  createFriendStream(arg: unknown, signal?: AbortSignal): AsyncIterable<unknown> {
    const opts = optionsOf(arg)
    const inner = this.hopStream(opts, signal)
    const meta = Boolean(opts.meta)
    return (async function* () {
      let first = true
      for await (const chunk of inner) {
        for (const [id, hops] of Object.entries(chunk)) {
          if (first && !(hops >= 0)) continue
          yield meta ? { id, hops } : id
        }
        first = false
      }
    })()
  }

  /**
   * `stream`: the legacy graph, then each new edge. Live unless `live: false` (the reference
   * ignores its options and never ends).
   */
  stream(arg: unknown, signal?: AbortSignal): AsyncIterable<unknown> {
    const opts = optionsOf(arg)
    if (opts.live === false) {
      const graph = legacyGraph(this.graph)
      return (async function* () {
        yield graph
      })()
    }
    let first: unknown = legacyGraph(this.graph)
    let pending = new Map<string, LegacyEdge>()
    const listener = (edge: ContactEdge): void => {
      const key = `${edge.from} ${edge.to}`
      pending.delete(key)
      pending.set(key, { from: edge.from, to: edge.to, value: toLegacyValue(edge.weight) })
      source.wake()
    }
    const source = this.track(
      new LiveSource<unknown>(
        () => {
          const out: unknown[] = []
          if (first !== undefined) out.push(first)
          first = undefined
          out.push(...pending.values())
          pending = new Map()
          return out
        },
        () => {
          this.edgeListeners.delete(listener)
          this.sources.delete(source)
        },
        signal,
      ),
    )
    this.edgeListeners.add(listener)
    return source
  }

  instance(): PluginInstance {
    const graph = this.graph
    return {
      api: this.api,
      methods: {
        hopStream: { type: 'source', fn: (args, call) => this.hopStream(args[0], call.signal) },
        onEdge: {
          type: 'sync',
          fn: () => {
            throw new InProcessOnlyError('onEdge')
          },
        },
        isFollowing: {
          type: 'async',
          fn: (args) => {
            const pair = pairOf('isFollowing', args[0])
            return pair ? graph.isFollowing(...pair) : false
          },
        },
        isBlocking: {
          type: 'async',
          fn: (args) => {
            const pair = pairOf('isBlocking', args[0])
            return pair ? graph.isBlocking(...pair) : false
          },
        },
        hops: {
          type: 'async',
          fn: (args) => Object.fromEntries(hopsQuery(graph, optionsOf(args[0]))),
        },
        help: { type: 'sync', fn: () => friendsHelp },
        get: { type: 'async', fn: (args) => legacyGet(graph, args[0]) },
        createFriendStream: {
          type: 'source',
          fn: (args, call) => this.createFriendStream(args[0], call.signal),
        },
        stream: { type: 'source', fn: (args, call) => this.stream(args[0], call.signal) },
      },
      authorize: (remoteId) => {
        if (!graph.isBlocking(this.ctx.id, remoteId)) return undefined
        this.ctx.logger.info({ peer: remoteId }, 'refused a peer we block')
        return false
      },
      status: () => {
        let feeds = 0
        let blocked = 0
        for (const h of graph.hops().values()) {
          if (h >= 0) feeds++
          else blocked++
        }
        return { max: graph.max, edges: graph.size, feeds, blocked }
      },
      close: () => {
        this.unsubscribe?.()
        this.removeGuard?.()
        for (const source of [...this.sources]) void source.return()
        this.hopListeners.clear()
        this.edgeListeners.clear()
      },
    }
  }
}

/**
 * The `friends` plugin for `startServer`. It reads every stored contact message before the
 * server listens, so the first handshake is already checked against our blocks.
 *
 * ```ts
 * const server = await startServer({ config, plugins: [friendsPlugin()] })
 * const friends = server.plugin<FriendsApi>('friends')!
 * friends.onHopsChange((changes) => console.log(changes))
 * ```
 */
export function friendsPlugin(options: FriendsOptions = {}): Plugin {
  return {
    name: 'friends',
    async init(ctx) {
      const friends = new Friends(ctx, maxHops(options, ctx.config))
      await friends.start()
      return friends.instance()
    },
  }
}
