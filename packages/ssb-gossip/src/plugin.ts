/**
 * The `gossip` plugin: ssb-gossip 1.1.1 and ssb-local 1.0.0 in one (`ssb-protocol.md` §8.1,
 * §8.3, §4.8–4.9; `reference-features.md` §1.4, §5.2–5.4). It keeps the peer table (from
 * `config.seeds`, `pub` messages, LAN beacons, `gossip.add` and `gossip.json`), dials peers
 * on a schedule with back-off, tracks every connection both ways, measures round trips with
 * `gossip.ping`, and serves the `gossip.*` methods.
 */

import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { InvalidAddressError } from '@scuttlekit/ssb-ref'
import type { RpcSession } from '@scuttlekit/ssb-rpc'
import type { Plugin, PluginContext, PluginInstance } from '@scuttlekit/ssb-server'
import {
  isLoopbackHost,
  type PeerAddress,
  type PeerAddressInput,
  parsePeerAddress,
  peerKeyOf,
} from './address.js'
import { persistGossipSwitch } from './config-file.js'
import {
  ChangesOverflowError,
  GossipClosedError,
  InvalidGossipTypeError,
  NotDialableError,
  PeerIdRequiredError,
  UnknownPeerError,
} from './errors.js'
import { gossipHelp } from './help.js'
import { Channel } from './internal/channel.js'
import { LanDiscovery } from './lan.js'
import { loadPeerFile, PeerFileWriter } from './peer-store.js'
import {
  copyPeer,
  type GossipPeer,
  type PeerEntry,
  type PeerSource,
  PeerTable,
} from './peer-table.js'
import { measurePing, newPing, pingTimeoutOf, servePing } from './ping.js'
import { type GossipSwitches, planTick } from './schedule.js'
import { addSample, type Stats } from './stats.js'

/** The kinds of gossip `enable`/`disable` switch (`gossip.<type>` in the config). */
export type GossipType = keyof GossipSwitches

/** Every {@link GossipType}. */
export const GOSSIP_TYPES: readonly GossipType[] = Object.freeze([
  'global',
  'local',
  'friends',
  'seed',
])

/** Timings in milliseconds. The defaults are the reference's; tests shorten them. */
export interface GossipTimers {
  /** Scheduler tick (2000). */
  interval: number
  /** Random delay added to each tick, up to this (1000). */
  jitter: number
  /** Multiplies every back-off factor, maximum and group pause (1). */
  backoffScale: number
  /** Close our connections to peers that are neither long-term nor LAN after this (10 000). */
  dropAfter: number
  /** Write `gossip.json` at most this often (5000; the reference: every 10 s). */
  save: number
  /** LAN beacon interval (1000). */
  beacon: number
  /** Forget a LAN peer after this silence (10 000). */
  localExpiry: number
  /** Look for silent LAN peers this often (5000). */
  localCheck: number
  /** Ask the friends plugin for hops this often (5000). */
  hopsRefresh: number
  /**
   * Ping interval. Default: `config.timers.ping` clamped to 10 s – 30 min (5 min); this option
   * is not clamped.
   */
  ping: number
}

/** Options of {@link gossipPlugin}; every field is optional. */
export interface GossipOptions {
  timers?: Partial<GossipTimers>
  /** Where LAN beacons go; else `config.gossip.broadcastAddress`, else `255.255.255.255`. */
  broadcastAddress?: string
  /**
   * The UDP port of LAN discovery (bound and sent to); else `config.gossip.broadcastPort`, else
   * the port of our TCP address, as ssb-local (which uses `config.port`).
   */
  broadcastPort?: number
  /** Save `enable`/`disable` in `<path>/config` (default true). */
  persistConfig?: boolean
  /** Most peers in the table (10 000); `manual` adds are always taken. */
  maxPeers?: number
  /** Most LAN peers in the table (100). */
  maxLocalPeers?: number
  /** Most dials the scheduler has under way at once (4); `gossip.connect` is not limited. */
  maxDials?: number
  /** Peers up to this many hops away count as friends (1: the feeds we follow). */
  friendHops?: number
  /**
   * The follow graph's hop distances, `{feedId: hops}` or a Map, or a Promise of one. Default:
   * the `hops()` of the `friends` plugin's API, when there is one.
   */
  hops?: () => unknown
}

/** One `gossip.changes` event. `source` comes with `discover`. */
export interface GossipChange {
  type: 'discover' | 'connect' | 'connect-failure' | 'disconnect' | 'remove'
  peer: GossipPeer
  source?: PeerSource
}

/** A connected (or just changed) peer in `status().gossip`, as ssb-gossip's `simplify`. */
export interface PeerStatus {
  address?: string
  source?: PeerSource
  state?: string
  stateChange?: number
  failure?: number
  client?: boolean
  stats: { duration?: Stats; rtt?: Stats; skew?: Stats }
}

/**
 * The in-process API (`server.plugin<GossipApi>('gossip')`): the RPC methods with typed
 * results, for other plugins (invites add seeds here).
 */
export interface GossipApi {
  /** Copies of every peer record. */
  peers(): GossipPeer[]
  /** One peer by feed id, `{key}` or address; `undefined` if unknown. */
  get(peer: unknown): GossipPeer | undefined
  /** Adds an address (source default `manual`); `undefined` for our own key. */
  add(address: PeerAddressInput, source?: PeerSource): GossipPeer | undefined
  /** Removes a peer from the table; whether it was there. Its connections stay open. */
  remove(peer: unknown): boolean
  /** Dials a peer now (known feed id, or any address form, added as `manual`). */
  connect(address: unknown): Promise<GossipPeer>
  /** Closes every connection to a peer; whether there was one. */
  disconnect(peer: unknown): Promise<boolean>
  /** Table and connection events from now on; ends when `signal` aborts or gossip closes. */
  changes(signal?: AbortSignal): AsyncIterable<GossipChange>
  /** Closes every peer connection and runs the scheduler; returns the time (ms). */
  reconnect(): number
  enable(type?: string): string
  disable(type?: string): string
  /** The switches in force. */
  switches(): GossipSwitches
  /** An open connection to a peer, if any. */
  session(id: string): RpcSession | undefined
  /** Peers heard on the LAN, with when (ms). */
  lanPeers(): Record<string, number>
  /** Runs a scheduler tick now. */
  tick(): void
}

const DEFAULT_TIMERS: GossipTimers = {
  interval: 2000,
  jitter: 1000,
  backoffScale: 1,
  dropAfter: 10_000,
  save: 5000,
  beacon: 1000,
  localExpiry: 10_000,
  localCheck: 5000,
  hopsRefresh: 5000,
  ping: 0,
}

/** Most events waiting for a `changes` reader. */
const CHANGES_BUFFER = 1000

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function toHopsMap(value: unknown): Map<string, number> {
  const out = new Map<string, number>()
  const entries =
    value instanceof Map ? [...value.entries()] : isRecord(value) ? Object.entries(value) : []
  for (const [k, v] of entries) if (typeof k === 'string' && typeof v === 'number') out.set(k, v)
  return out
}

let networkCheckedAt = 0
let networkUp = true
/** Whether any non-internal interface exists (checked at most once a second). */
function hasNetwork(): boolean {
  const now = Date.now()
  if (now - networkCheckedAt > 1000) {
    networkCheckedAt = now
    networkUp = Object.values(networkInterfaces()).some((list) =>
      (list ?? []).some((i) => !i.internal),
    )
  }
  return networkUp
}

/** How often to look for a suspend (a late timer) or a network change. */
const WATCH_INTERVAL = 5000

/** The machine's non-internal addresses, as one comparable string. */
function externalAddresses(): string {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (!i.internal) out.push(i.address)
  }
  return out.sort().join(',')
}

/** A private IPv4 address of this machine, for beacons of a server bound to every interface. */
function lanIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (
        i.family === 'IPv4' &&
        !i.internal &&
        /^(10|192\.168|172\.(1[6-9]|2\d|3[01]))\./.test(i.address)
      ) {
        return i.address
      }
    }
  }
  return undefined
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * The gossip plugin. Methods (manifest `gossip`): `peers`, `get`, `add`, `remove` and
 * `reconnect`, `enable`, `disable`, `help` (sync); `connect`, `disconnect` (async); `changes`
 * (source); `ping` (duplex, open to anonymous peers).
 */
export function gossipPlugin(options: GossipOptions = {}): Plugin {
  return {
    name: 'gossip',
    anonymous: ['ping'],
    init: (ctx) => startGossip(ctx, options),
  }
}

async function startGossip(ctx: PluginContext, options: GossipOptions): Promise<PluginInstance> {
  const { config, logger, server } = ctx
  const ownId = ctx.id
  const conf = isRecord(config.gossip) ? config.gossip : {}
  const timers: GossipTimers = { ...DEFAULT_TIMERS, ...options.timers }
  const pingTimeout =
    options.timers?.ping ??
    pingTimeoutOf((config.timers as Record<string, unknown> | undefined)?.ping)
  const offline = Boolean(config.offline)
  const switches: GossipSwitches = {
    global: conf.global !== false,
    local: conf.local !== false,
    friends: conf.friends !== false,
    seed: conf.seed !== false,
  }
  const maxDials = options.maxDials ?? 4
  const friendHops = options.friendHops ?? 1
  const persist = options.persistConfig !== false

  const table = new PeerTable(ownId, {
    maxPeers: options.maxPeers,
    maxLocalPeers: options.maxLocalPeers,
  })
  const peerFile = join(config.path, 'gossip.json')
  const writer = new PeerFileWriter(peerFile, () => table.toStored(), timers.save, logger)

  /** Open connections per peer (our own key's, i.e. local clients, are not tracked). */
  const sessions = new Map<FeedId, Set<RpcSession>>()
  const isClientSession = new WeakMap<RpcSession, boolean>()
  const openedAt = new WeakMap<RpcSession, number>()
  const stopPing = new WeakMap<RpcSession, () => void>()
  /** When each peer's current connected period began. */
  const connectedSince = new Map<FeedId, number>()
  const inflight = new Map<FeedId, Promise<RpcSession>>()
  const readers = new Set<Channel<GossipChange>>()
  let closed = false
  let hops = new Map<string, number>()
  let hopsAt = 0
  let hopsLoading = false
  let lastMessageAt = 0
  let pausedTicks = 0
  let tickTimer: NodeJS.Timeout | undefined
  let wakeup = 0
  let stopInterval: () => void = () => {}
  const startedAt = Date.now()

  // ------------------------------------------------------------------ events

  function emit(type: GossipChange['type'], peer: GossipPeer, source?: PeerSource): void {
    if (readers.size === 0) return
    const change: GossipChange = { type, peer: copyPeer(peer) }
    if (source !== undefined) change.source = source
    for (const r of readers) r.push(change)
  }

  function changes(signal?: AbortSignal): AsyncIterable<GossipChange> {
    const onAbort = () => reader.end()
    const reader: Channel<GossipChange> = new Channel<GossipChange>({
      max: CHANGES_BUFFER,
      overflow: 'fail',
      overflowError: () => new ChangesOverflowError(CHANGES_BUFFER),
      onClose: () => {
        readers.delete(reader)
        signal?.removeEventListener('abort', onAbort)
      },
    })
    if (closed || signal?.aborted) reader.end()
    else {
      readers.add(reader)
      signal?.addEventListener('abort', onAbort, { once: true })
    }
    return reader
  }

  table.onEvent((ev) => {
    writer.changed()
    emit(ev.type, ev.entry.peer, ev.source)
    // a peer that is already connected to us (it dialled first) becomes a connected peer
    if (ev.type === 'discover') {
      const open = sessions.get(ev.entry.peer.key)
      const first = open && [...open][0]
      if (first) markConnected(ev.entry, first, isClientSession.get(first) ?? false)
    }
  })

  // ------------------------------------------------------------------ the table

  function add(address: unknown, source?: unknown): GossipPeer | undefined {
    const entry = table.add(address, source)
    return entry && copyPeer(entry.peer)
  }

  function keyOrThrow(ref: unknown): FeedId {
    const key = peerKeyOf(ref)
    if (!key) throw new PeerIdRequiredError(ref)
    return key
  }

  function get(ref: unknown): GossipPeer | undefined {
    const entry = table.get(keyOrThrow(ref))
    return entry && copyPeer(entry.peer)
  }

  function remove(ref: unknown): boolean {
    return table.remove(keyOrThrow(ref)) !== undefined
  }

  // ------------------------------------------------------------------ connections

  function firstSession(key: string): RpcSession | undefined {
    const set = sessions.get(key as FeedId)
    if (!set) return undefined
    for (const s of set) if (!s.isClosed) return s
    return undefined
  }

  function markConnected(entry: PeerEntry, session: RpcSession, isClient: boolean): void {
    const p = entry.peer
    const now = Date.now()
    const first = p.state !== 'connected'
    p.state = 'connected'
    p.client = isClient
    if (first) {
      p.stateChange = now
      connectedSince.set(p.key, openedAt.get(session) ?? now)
    }
    if (isClient) {
      p.failure = 0
      delete p.error
      if (!stopPing.has(session) && !session.isClosed) {
        p.ping = newPing()
        stopPing.set(session, measurePing(session, p.ping, pingTimeout))
      }
    }
    writer.changed()
    if (first) emit('connect', p)
  }

  function onSession(session: RpcSession, isClient: boolean): void {
    const id = session.info.remoteId
    if (id === ownId || closed) return
    let set = sessions.get(id)
    if (!set) {
      set = new Set()
      sessions.set(id, set)
    }
    set.add(session)
    isClientSession.set(session, isClient)
    openedAt.set(session, Date.now())
    logger.debug({ peer: id, isClient }, 'peer connected')
    const entry = table.get(id)
    if (entry) markConnected(entry, session, isClient)
    session.onClose(() => onSessionClosed(id, session))
  }

  function onSessionClosed(id: FeedId, session: RpcSession): void {
    stopPing.get(session)?.()
    const set = sessions.get(id)
    set?.delete(session)
    if (set && set.size === 0) sessions.delete(id)
    const entry = table.get(id)
    if (!entry) {
      if (!sessions.has(id)) connectedSince.delete(id)
      return
    }
    const p = entry.peer
    if (sessions.has(id)) {
      p.client = [...sessions.get(id)!].some((s) => isClientSession.get(s))
      return
    }
    const now = Date.now()
    const since = connectedSince.get(id)
    connectedSince.delete(id)
    if (since !== undefined) p.duration = addSample(p.duration, now - since)
    p.state = inflight.has(id) ? 'connecting' : undefined
    if (p.state === undefined) delete p.state
    p.stateChange = now
    writer.changed()
    emit('disconnect', p)
    scheduleTick()
  }

  function dial(entry: PeerEntry, target: string | null = entry.dial): Promise<RpcSession> {
    const p = entry.peer
    const open = firstSession(p.key)
    if (open) return Promise.resolve(open)
    const pending = inflight.get(p.key)
    if (pending) return pending
    if (closed) return Promise.reject(new GossipClosedError())
    if (!target) return Promise.reject(new NotDialableError(p.address))
    p.state = 'connecting'
    p.stateChange = Date.now()
    const attempt = (async () => {
      try {
        const session = await server.connect(target)
        if (closed) {
          void session.close()
          throw new GossipClosedError()
        }
        return session
      } catch (err) {
        if ((err as Error).name === 'ServerClosedError' || closed) {
          // shutting down: not the peer's failure
          if (!firstSession(p.key)) delete p.state
          throw err
        }
        p.error = messageOf(err).slice(0, 500)
        p.failure = (p.failure ?? 0) + 1
        p.stateChange = Date.now()
        p.duration = addSample(p.duration, 0)
        if (firstSession(p.key)) p.state = 'connected'
        else delete p.state
        writer.changed()
        emit('connect-failure', p)
        logger.debug({ peer: p.key, address: target, err: p.error }, 'connect failed')
        throw err
      } finally {
        inflight.delete(p.key)
      }
    })()
    inflight.set(p.key, attempt)
    return attempt
  }

  async function connect(input: unknown): Promise<GossipPeer> {
    if (closed) throw new GossipClosedError()
    if (input === undefined || input === null || input === '') {
      throw new InvalidAddressError(input, 'an address or a peer id must be provided')
    }
    let entry: PeerEntry | undefined
    let parsed: PeerAddress | undefined
    if (typeof input === 'string' && input.startsWith('@')) {
      entry = table.get(input)
      if (!entry) throw new UnknownPeerError(input)
    } else {
      parsed = parsePeerAddress(input)
      if (parsed.key === ownId) throw new InvalidAddressError(input, 'that is our own address')
      entry = table.add(input, 'manual')!
    }
    await dial(entry, parsed ? parsed.dial : entry.dial)
    // reached at the address we were given: the table learns it
    if (parsed && parsed.address !== entry.peer.address) table.readdress(parsed)
    return copyPeer(entry.peer)
  }

  async function disconnect(ref: unknown): Promise<boolean> {
    const key = keyOrThrow(ref)
    const set = sessions.get(key)
    if (!set || set.size === 0) return false
    const entry = table.get(key)
    if (entry) entry.peer.state = 'disconnecting'
    await Promise.all([...set].map((s) => s.close()))
    return true
  }

  function reconnect(): number {
    for (const set of sessions.values()) for (const s of set) void s.close()
    wakeup = Date.now()
    scheduleTick(0)
    return wakeup
  }

  // ------------------------------------------------------------------ switches

  function setSwitch(type: unknown, value: boolean): string {
    const t = type === undefined || type === null || type === '' ? 'global' : type
    if (typeof t !== 'string' || !(GOSSIP_TYPES as readonly string[]).includes(t)) {
      throw new InvalidGossipTypeError(type)
    }
    const name = t as GossipType
    switches[name] = value
    if (name === 'local') {
      if (value && !offline && !closed) lan.start()
      else lan.stop()
    }
    let note = ''
    if (persist) {
      const result = persistGossipSwitch(config.path, name, value)
      if (!result.saved) {
        note = ` (until restart: ${result.file} not rewritten, ${result.why})`
        logger.warn({ file: result.file, why: result.why }, 'gossip switch not saved')
      }
    }
    scheduleTick()
    return `${value ? 'enabled' : 'disabled'} gossip type ${name}${note}`
  }

  // ------------------------------------------------------------------ scheduler

  function refreshHops(): void {
    const now = Date.now()
    if (hopsLoading || now - hopsAt < timers.hopsRefresh) return
    hopsAt = now
    const source =
      options.hops ??
      (() => {
        const api = server.plugin<unknown>('friends')
        const fn = isRecord(api) ? api.hops : undefined
        return typeof fn === 'function' ? (fn as () => unknown).call(api) : undefined
      })
    hopsLoading = true
    void (async () => {
      try {
        hops = toHopsMap(await source())
      } catch (err) {
        logger.debug({ err: messageOf(err) }, 'friends hops unavailable')
      } finally {
        hopsLoading = false
      }
    })()
  }

  function isFriend(p: GossipPeer): boolean {
    if (p.source === 'friends') return true
    const h = hops.get(p.key)
    return h !== undefined && h > 0 && h <= friendHops
  }

  function isOutgoingOnly(p: GossipPeer): boolean {
    const set = sessions.get(p.key)
    if (!set || set.size === 0) return false
    for (const s of set) if (!isClientSession.get(s)) return false
    return true
  }

  function tick(): void {
    tickTimer = undefined
    if (closed || offline) return
    // as ssb-gossip: no new connections while messages are arriving (bounded here, so that a
    // busy stream cannot stop the scheduler for good)
    if (Date.now() - lastMessageAt < 500 && pausedTicks < 10) {
      pausedTicks++
      return
    }
    pausedTicks = 0
    // Wait until the server listens, i.e. every plugin has started and will see the sessions
    // we open (a server that never listens gets going after a grace period).
    if (server.address() === null && Date.now() - startedAt < 10_000) return
    refreshHops()
    const plan = planTick(
      table.list().map((e) => e.peer),
      Date.now(),
      {
        switches,
        scale: timers.backoffScale,
        dropAfter: timers.dropAfter,
        isFriend,
        isLocal: (p) => p.source === 'local' || lan.seen().has(p.key),
        isBlocked: (p) => hops.get(p.key) === -1,
        canDial: (p) => {
          const entry = table.get(p.key)
          return Boolean(entry?.dial) && (isLoopbackHost(p.host) || hasNetwork())
        },
        isOutgoingOnly,
      },
    )
    for (const p of plan.disconnect) {
      logger.debug({ peer: p.key }, 'scheduler closes connection')
      void disconnect(p.key).catch(() => {})
    }
    for (const p of plan.connect) {
      if (inflight.size >= maxDials) break
      const entry = table.get(p.key)
      if (entry) dial(entry).catch(() => {})
    }
  }

  function scheduleTick(delay = Math.random() * timers.jitter): void {
    if (tickTimer || closed || offline) return
    tickTimer = setTimeout(tick, delay)
    tickTimer.unref()
  }

  // ------------------------------------------------------------------ LAN

  function beacon(): string | null {
    const text = server.address('private') ?? server.address('local')
    if (!text?.includes('net:localhost:')) return text
    // a server bound to every interface reports `localhost`; tell the LAN a reachable address
    const ip = lanIPv4()
    return ip ? text.replaceAll('net:localhost:', `net:${ip}:`) : null
  }

  function lanPort(): number | undefined {
    const explicit = options.broadcastPort ?? Number(conf.broadcastPort ?? Number.NaN)
    if (Number.isInteger(explicit) && explicit > 0) return explicit
    const text = beacon()
    if (text) {
      try {
        return parsePeerAddress(text).port
      } catch {
        // fall through
      }
    }
    return typeof config.port === 'number' && config.port > 0 ? config.port : undefined
  }

  const lan = new LanDiscovery({
    ownId,
    broadcastAddress:
      options.broadcastAddress ??
      (typeof conf.broadcastAddress === 'string' ? conf.broadcastAddress : '255.255.255.255'),
    port: lanPort,
    beacon,
    interval: timers.beacon,
    expiry: timers.localExpiry,
    checkEvery: timers.localCheck,
    logger,
    onBeacon: (text, peer) => {
      if (table.get(peer.key)) return true
      try {
        table.add(text, 'local')
        return true
      } catch (err) {
        logger.debug({ err: messageOf(err) }, 'LAN peer not added')
        return false
      }
    },
    onExpire: (key) => {
      if (table.get(key)?.peer.source === 'local') table.remove(key)
    },
  })

  // ------------------------------------------------------------------ start

  const loaded = await loadPeerFile(peerFile, logger)
  let rejected = 0
  for (const record of loaded.records) {
    try {
      table.restore(record)
    } catch {
      rejected++
    }
  }
  if (rejected) logger.warn({ rejected, file: peerFile }, 'stored peers skipped')
  writer.loaded(loaded.problem ? [] : table.toStored())

  const offRecords = ctx.db.onRecords((records) => {
    for (const r of records) {
      if ((r.kvt.value as { author?: unknown }).author !== ownId) {
        lastMessageAt = Date.now()
        return
      }
    }
  })

  if (offline) {
    logger.info('offline: no seeds, pubs, LAN discovery or scheduled connections')
  } else {
    const seeds = config.seeds
    for (const seed of Array.isArray(seeds) ? seeds : [seeds]) {
      if (!seed) continue
      try {
        table.add(seed, 'seed')
      } catch (err) {
        logger.warn({ seed, err: messageOf(err) }, 'seed not added')
      }
    }
    if (conf.autoPopulate !== false && conf.pub !== false) void followPubs()
    if (switches.local) lan.start()
    const interval = setInterval(() => scheduleTick(), timers.interval)
    interval.unref()
    // as ssb-gossip (on-wakeup, on-change-network): start over after a suspend or when the
    // machine's addresses change
    let lastWatch = Date.now()
    let lastAddresses = externalAddresses()
    const watch = setInterval(() => {
      const now = Date.now()
      const addresses = externalAddresses()
      const slept = now - lastWatch > WATCH_INTERVAL + 30_000
      const moved = addresses !== lastAddresses
      lastWatch = now
      lastAddresses = addresses
      if (slept || moved) {
        logger.info({ slept, moved }, 'woke up or network changed: reconnecting')
        reconnect()
      }
    }, WATCH_INTERVAL)
    watch.unref()
    stopInterval = () => {
      clearInterval(interval)
      clearInterval(watch)
    }
    scheduleTick()
  }

  async function followPubs(): Promise<void> {
    try {
      for await (const item of ctx.db.messagesByType({ type: 'pub', live: true })) {
        if (closed) break
        const content = (item as { value?: { content?: unknown } }).value?.content
        if (!isRecord(content) || !content.address) continue
        try {
          table.add(content.address, 'pub')
        } catch (err) {
          logger.debug({ err: messageOf(err) }, 'pub address not added')
        }
      }
    } catch (err) {
      if (!closed) logger.warn({ err: messageOf(err) }, 'pub messages no longer followed')
    }
  }

  // ------------------------------------------------------------------ status and api

  function status(): Record<string, PeerStatus> {
    const out: Record<string, PeerStatus> = {}
    const now = Date.now()
    for (const { peer } of table.list()) {
      if (peer.state !== 'connected' && (peer.stateChange ?? 0) + 3000 <= now) continue
      const stats: PeerStatus['stats'] = {}
      if (peer.duration) stats.duration = { ...peer.duration }
      if (peer.ping) {
        stats.rtt = { ...peer.ping.rtt }
        stats.skew = { ...peer.ping.skew }
      }
      out[peer.key] = {
        address: peer.address,
        source: peer.source,
        state: peer.state,
        stateChange: peer.stateChange,
        failure: peer.failure,
        client: peer.client,
        stats,
      }
    }
    // peers that connected to us without being in the table
    for (const [id, set] of sessions) {
      if (out[id]) continue
      const list = [...set]
      out[id] = {
        state: 'connected',
        stateChange: Math.min(...list.map((s) => openedAt.get(s) ?? now)),
        client: list.some((s) => isClientSession.get(s)),
        stats: {},
      }
    }
    return out
  }

  const api: GossipApi = {
    peers: () => table.list().map((e) => copyPeer(e.peer)),
    get,
    add,
    remove,
    connect,
    disconnect,
    changes,
    reconnect,
    enable: (type) => setSwitch(type, true),
    disable: (type) => setSwitch(type, false),
    switches: () => ({ ...switches }),
    session: (id) => firstSession(id),
    lanPeers: () => Object.fromEntries(lan.seen()),
    tick: () => {
      if (tickTimer) clearTimeout(tickTimer)
      tick()
    },
  }

  return {
    api,
    methods: {
      peers: { type: 'sync', fn: () => api.peers() },
      get: { type: 'sync', fn: (args) => get(args[0]) },
      add: { type: 'sync', fn: (args) => add(args[0], args[1]) },
      remove: { type: 'sync', fn: (args) => remove(args[0]) },
      connect: { type: 'async', fn: (args) => connect(args[0]) },
      disconnect: { type: 'async', fn: (args) => disconnect(args[0]) },
      changes: { type: 'source', fn: (_args, call) => changes(call.signal) },
      reconnect: { type: 'sync', fn: () => reconnect() },
      enable: { type: 'sync', fn: (args) => setSwitch(args[0], true) },
      disable: { type: 'sync', fn: (args) => setSwitch(args[0], false) },
      ping: {
        type: 'duplex',
        fn: (_args, call) => servePing(call.input, pingTimeout, call.signal),
      },
      help: { type: 'sync', fn: () => gossipHelp },
    },
    onSession,
    status,
    async close() {
      if (closed) return
      closed = true
      stopInterval()
      if (tickTimer) clearTimeout(tickTimer)
      offRecords()
      lan.stop(false)
      for (const r of [...readers]) r.end()
      for (const set of sessions.values()) for (const s of set) stopPing.get(s)?.()
      await writer.flush()
    },
  }
}
