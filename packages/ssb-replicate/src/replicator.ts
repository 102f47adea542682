/**
 * The legacy replication driver (`ssb-protocol.md` §7.2): which feeds we want, which peers may
 * have them, one live `createHistoryStream` per requested feed and connection, and what each
 * stream's messages become (see feed-ingest.ts).
 *
 * Where it differs from ssb-replicate 1.3.5, and why:
 * - It asks on every new connection at once, in both roles. The reference, as a server, waits
 *   for the peer's first createHistoryStream (§4.8); asking first is what makes a reference
 *   that dialled us (and failed `ebt.replicate`) start its own requests.
 * - A peer that misbehaves on a feed's stream loses that stream for the rest of the session,
 *   and the reason is logged once (`bad-inputs.md` §8). The reference keeps writing whatever
 *   arrives and logs every error.
 * - Messages from several peers for one feed are merged by sequence before validation, so
 *   duplicates cost a comparison, not a signature check.
 */

import type { SsbDb } from '@scuttlekit/ssb-db'
import { type FeedId, InvalidFeedIdError, isFeedId, type MsgId } from '@scuttlekit/ssb-ref'
import type { RpcSession } from '@scuttlekit/ssb-rpc'
import type { Logger } from 'pino'
import { FeedIngest, type IngestContext, type IngestStream } from './feed-ingest.js'
import { Subscription } from './live.js'
import type {
  PeerStatus,
  RejectReason,
  ReplicateApi,
  ReplicateChange,
  ReplicateOptions,
  ReplicateProgress,
  ReplicateStatus,
  UptoItem,
} from './types.js'

/** Restarts of one peer's stream for one feed per session, before we stop asking. */
const MAX_RESTARTS = 32

/** One connection to a peer, as replication sees it. */
class Peer {
  readonly streams = new Map<FeedId, FeedStream>()
  readonly rejected = new Map<FeedId, RejectReason>()
  /** feeds whose stream the peer ended (or failed): not asked again in this session */
  readonly ended = new Set<FeedId>()
  readonly restarts = new Map<FeedId, number>()
  /** the peer does not serve createHistoryStream to us at all */
  refused = false
  received = 0
  stored = 0
  /** set while we wait, as the accepting side, for the peer to be ready (see onSession) */
  startTimer: NodeJS.Timeout | undefined

  constructor(
    readonly session: RpcSession,
    readonly id: FeedId,
  ) {}
}

/** One live createHistoryStream we opened. */
class FeedStream implements IngestStream {
  readonly controller = new AbortController()
  /** resolves when the stream is aborted, to cut any wait short */
  readonly aborted: Promise<void>
  next: number
  done = false
  /** still delivering old messages, as far as we can tell */
  syncing = true
  /** paused by us (backpressure or a pending chain check), so silence means nothing */
  waiting = false
  lastActivity = Date.now()

  constructor(
    readonly peer: Peer,
    readonly feed: FeedId,
    readonly from: number,
  ) {
    this.next = from
    this.aborted = new Promise((resolve) =>
      this.controller.signal.addEventListener('abort', () => resolve(), { once: true }),
    )
  }
}

type Inspected =
  | { msg: Record<string, unknown>; seq: number }
  | { reason: RejectReason; detail: Record<string, unknown> }
  | 'sync'

/**
 * The checks every item of a stream passes before anything else looks at it: a message object
 * (a `{key, value}` wrapper is unwrapped, for peers that ignore `keys: false`), of the stream's
 * feed, with exactly the next sequence of the stream.
 */
function inspect(raw: unknown, feed: FeedId, expected: number): Inspected {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { reason: 'junk', detail: { item: typeof raw } }
  }
  let v = raw as Record<string, unknown>
  if (v.sync === true && Object.keys(v).length === 1) return 'sync'
  if (
    !('author' in v) &&
    typeof v.key === 'string' &&
    v.value !== null &&
    typeof v.value === 'object' &&
    !Array.isArray(v.value)
  ) {
    v = v.value as Record<string, unknown>
  }
  if (v.author !== feed) {
    return typeof v.author === 'string'
      ? { reason: 'wrong-feed', detail: { author: v.author.slice(0, 60) } }
      : { reason: 'junk', detail: { item: 'no author' } }
  }
  const seq = v.sequence
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    return { reason: 'junk', detail: { item: 'no sequence' } }
  }
  if (seq < expected) return { reason: 'out-of-order', detail: { sequence: seq, expected } }
  if (seq > expected) return { reason: 'gap', detail: { sequence: seq, expected } }
  return { msg: v, seq }
}

/** What the replicator is built from. */
export interface ReplicatorDeps {
  id: FeedId
  db: SsbDb
  logger: Logger
  /** `caps.sign` as bytes, `null` on the main network */
  hmacKey: Uint8Array | null
  /** `false` keeps the API but opens no streams (`replicate.legacy: false`) */
  legacy: boolean
  options: ReplicateOptions
}

/** The replication driver; also the in-process {@link ReplicateApi}. */
export class Replicator implements ReplicateApi {
  readonly id: FeedId
  private readonly db: SsbDb
  private readonly logger: Logger
  private readonly legacy: boolean
  private readonly requestedSet = new Set<FeedId>()
  private readonly blocks = new Map<FeedId, Set<FeedId>>()
  private readonly peers = new Set<Peer>()
  private readonly ingests = new Map<FeedId, FeedIngest<FeedStream>>()
  private readonly uptoSubs = new Set<Subscription<UptoItem | { sync: true }>>()
  private readonly changeSubs = new Set<Subscription<ReplicateChange>>()
  private readonly ctx: IngestContext<FeedStream>
  private readonly maxBuffered: number
  private readonly feedHigh: number
  private readonly syncIdleMs: number
  private readonly changesDebounceMs: number
  private readonly serverStartMs: number
  private bufferedTotal = 0
  private roomWaiters: { ingest: FeedIngest<FeedStream>; resolve: () => void }[] = []
  private closed = false
  private syncTimer: NodeJS.Timeout | undefined
  private changesTimer: NodeJS.Timeout | undefined
  private lastChange = ''
  private readonly unsubscribeRecords: () => void
  private counts = { received: 0, stored: 0, skipped: 0, rejected: 0 }
  private rateStart = Date.now()
  private rateCount = 0
  private rateValue = 0

  constructor(deps: ReplicatorDeps) {
    this.id = deps.id
    this.db = deps.db
    this.logger = deps.logger
    this.legacy = deps.legacy
    const o = deps.options
    const batchSize = Math.max(1, o.batchSize ?? 256)
    const maxInflight = Math.max(1, o.maxInflight ?? 2)
    this.maxBuffered = Math.max(batchSize, o.maxBuffered ?? 1024)
    this.feedHigh = batchSize * (maxInflight + 2)
    this.syncIdleMs = o.syncIdleMs ?? 500
    this.changesDebounceMs = o.changesDebounceMs ?? 200
    this.serverStartMs = o.serverStartMs ?? 250
    this.ctx = {
      db: deps.db,
      hmacKey: deps.hmacKey,
      batchSize,
      maxInflight,
      closing: () => this.closed,
      reject: (st, reason, detail) => this.reject(st, reason, detail),
      restart: (st) => this.restart(st),
      forked: (feed) => this.onForked(feed),
      stored: (st, n) => {
        st.peer.stored += n
        this.counts.stored += n
        this.rateCount += n
        this.markChanged()
      },
      skipped: (n) => {
        this.counts.skipped += n
      },
      buffered: (delta) => {
        this.bufferedTotal += delta
        if (delta < 0) this.wake()
      },
      dbFailure: (feed, err) => {
        if (!this.closed)
          this.logger.error({ feed, err: String(err) }, 'storing replicated messages failed')
      },
    }
    this.requestedSet.add(this.id)
    this.unsubscribeRecords = this.db.onRecords((records) => {
      let touched = false
      for (const { kvt } of records) {
        const ing = this.ingests.get(kvt.value.author)
        if (ing) {
          ing.observe(kvt.value.sequence, kvt.key as MsgId)
          touched = true
        }
      }
      if (touched) this.markChanged()
    })
  }

  // ------------------------------------------------------------------ policy

  request(feed: string | { id: string; replicate?: boolean }, replicate?: boolean): void {
    let id: unknown = feed
    let on = replicate
    if (feed !== null && typeof feed === 'object') {
      id = feed.id
      on = feed.replicate
    }
    if (!isFeedId(id)) throw new InvalidFeedIdError(id)
    if (on === false) {
      // our own feed is always replicated (a peer may hold more of it than we do: a restore)
      if (id === this.id || !this.requestedSet.delete(id)) return
      for (const peer of this.peers) {
        const st = peer.streams.get(id)
        if (st) this.drop(st)
      }
      const ing = this.ingests.get(id)
      if (ing) {
        ing.detach()
        this.ingests.delete(id)
      }
      this.pushUpto({ id, sequence: -1 })
    } else {
      if (this.requestedSet.has(id)) return
      this.requestedSet.add(id)
      this.pushUpto({ id, sequence: this.held(id) })
      for (const peer of this.peers) this.openStream(peer, id)
    }
    this.markChanged()
  }

  block(
    from: string | { from: string; to: string; blocking?: boolean },
    to?: string,
    blocking?: boolean,
  ): void {
    let a: unknown = from
    let b: unknown = to
    let on: unknown = blocking
    if (from !== null && typeof from === 'object') {
      a = from.from
      b = from.to
      on = from.blocking
    }
    if (!isFeedId(a)) throw new InvalidFeedIdError(a)
    if (!isFeedId(b)) throw new InvalidFeedIdError(b)
    if (on) {
      const set = this.blocks.get(a) ?? new Set<FeedId>()
      set.add(b)
      this.blocks.set(a, set)
    } else {
      const set = this.blocks.get(a)
      if (!set?.delete(b)) return
      if (set.size === 0) this.blocks.delete(a)
    }
    for (const peer of this.peers) {
      for (const st of [...peer.streams.values()]) if (!this.allowed(peer, st.feed)) this.drop(st)
      if (!on) for (const feed of this.requestedSet) this.openStream(peer, feed)
    }
  }

  /** Whether `from` blocks `to` (the rule createHistoryStream applies when serving, §7.1). */
  isBlocked(from: FeedId, to: FeedId): boolean {
    return this.blocks.get(from)?.has(to) === true
  }

  requested(): FeedId[] {
    return [...this.requestedSet]
  }

  isRequested(feed: string): boolean {
    return this.requestedSet.has(feed as FeedId)
  }

  /** Whether we ask `peer` for `feed`: neither we block the peer or the feed, nor the feed's author the peer. */
  private allowed(peer: Peer, feed: FeedId): boolean {
    const ours = this.blocks.get(this.id)
    if (ours?.has(peer.id)) return false
    if (feed !== this.id && ours?.has(feed)) return false
    return !this.blocks.get(feed)?.has(peer.id)
  }

  // ------------------------------------------------------------------ connections

  /**
   * A new connection, either role: ask it for every requested feed (our own first).
   *
   * When the peer dialled us, we ask once it has called createHistoryStream on us, or after
   * `serverStartMs`, whichever comes first. A JS peer registers the listener that starts its
   * own legacy requests (on our first createHistoryStream call) only after it has fed the bytes
   * already received to muxrpc (secret-stack 6 `setupRPC`), so requests sent right behind the
   * handshake are seen before anyone listens, and that peer would never ask us for anything.
   */
  onSession(session: RpcSession, isClient: boolean): void {
    if (this.closed || session.isClosed) return
    const remote = session.info.remoteId
    // our own key is a local client (the CLI), not a peer
    if (remote === this.id || !isFeedId(remote)) return
    const peer = new Peer(session, remote)
    this.peers.add(peer)
    session.onClose(() => this.dropPeer(peer))
    if (isClient) this.start(peer)
    else {
      peer.startTimer = setTimeout(() => this.start(peer), this.serverStartMs)
      peer.startTimer.unref()
    }
  }

  /** The peer called createHistoryStream on us: it is ready for our requests. */
  noteHistoryRequest(requester: FeedId): void {
    for (const peer of this.peers) if (peer.id === requester && peer.startTimer) this.start(peer)
  }

  private start(peer: Peer): void {
    if (peer.startTimer) clearTimeout(peer.startTimer)
    peer.startTimer = undefined
    if (!this.peers.has(peer)) return
    for (const feed of this.requestedSet) this.openStream(peer, feed)
  }

  private dropPeer(peer: Peer): void {
    if (peer.startTimer) clearTimeout(peer.startTimer)
    peer.startTimer = undefined
    if (!this.peers.delete(peer)) return
    for (const st of [...peer.streams.values()]) this.drop(st)
    // another connection to the same peer takes over what this one streamed
    for (const other of this.peers) {
      if (other.id === peer.id) for (const feed of this.requestedSet) this.openStream(other, feed)
    }
    this.markChanged()
  }

  private ensureIngest(feed: FeedId): FeedIngest<FeedStream> {
    const found = this.ingests.get(feed)
    if (found) return found
    const ing = new FeedIngest(feed, this.ctx)
    this.ingests.set(feed, ing)
    return ing
  }

  /** Opens `peer`'s stream for `feed`, unless something says not to. */
  private openStream(peer: Peer, feed: FeedId): void {
    if (this.closed || !this.legacy || peer.refused || peer.session.isClosed) return
    if (peer.startTimer) return // not started yet: start() asks for everything
    if (!this.requestedSet.has(feed) || peer.streams.has(feed)) return
    if (peer.rejected.has(feed) || peer.ended.has(feed) || !this.allowed(peer, feed)) return
    for (const other of this.peers) {
      if (other !== peer && other.id === peer.id && other.streams.has(feed)) return
    }
    const ing = this.ensureIngest(feed)
    if (ing.forked || this.db.isForked(feed)) return
    const st = new FeedStream(peer, feed, ing.nextSeq)
    peer.streams.set(feed, st)
    ing.streams.add(st)
    this.startSyncTimer()
    this.markChanged()
    void this.run(st, ing)
  }

  /** Reads one stream until it ends, fails, or we drop it. */
  private async run(st: FeedStream, ing: FeedIngest<FeedStream>): Promise<void> {
    const { peer, feed } = st
    let failure: unknown
    try {
      // exactly the reference's arguments, `seq` and not `sequence` (§7.2)
      const source = peer.session.source(
        'createHistoryStream',
        [{ id: feed, seq: st.from, live: true, keys: false }],
        { signal: st.controller.signal },
      )
      for await (const raw of source) {
        if (st.done) break
        st.lastActivity = Date.now()
        peer.received++
        this.counts.received++
        const item = inspect(raw, feed, st.next)
        if (item === 'sync') {
          st.syncing = false
          continue
        }
        if ('reason' in item) {
          this.reject(st, item.reason, item.detail)
          break
        }
        st.next = item.seq + 1
        const parked = ing.offer(st, item.msg, item.seq)
        if (parked) await this.pause(st, parked)
        if (st.done) break
        if (this.mustWait(ing)) await this.pause(st, this.room(ing))
        if (st.done) break
      }
    } catch (err) {
      failure = err
    }
    if (!st.done) this.ended(st, failure)
  }

  private async pause(st: FeedStream, p: Promise<void>): Promise<void> {
    st.waiting = true
    await Promise.race([p, st.aborted])
    st.waiting = false
    st.lastActivity = Date.now()
  }

  private mustWait(ing: FeedIngest<FeedStream>): boolean {
    return ing.bufferedCount >= this.feedHigh || this.bufferedTotal >= this.maxBuffered
  }

  private room(ingest: FeedIngest<FeedStream>): Promise<void> {
    return new Promise((resolve) => this.roomWaiters.push({ ingest, resolve }))
  }

  private wake(): void {
    if (this.roomWaiters.length === 0) return
    const keep: typeof this.roomWaiters = []
    for (const w of this.roomWaiters) {
      if (this.closed || !this.mustWait(w.ingest)) w.resolve()
      else keep.push(w)
    }
    this.roomWaiters = keep
  }

  /** The peer ended a stream, or it failed: not asked again in this session. */
  private ended(st: FeedStream, err: unknown): void {
    st.done = true
    this.detach(st)
    const { peer, feed } = st
    peer.ended.add(feed)
    if (err === undefined) {
      this.logger.debug({ peer: peer.id, feed }, 'peer ended the history stream')
      return
    }
    const e = err as { name?: string; message?: string }
    if (peer.session.isClosed || e.name === 'ConnectionClosedError') return
    const message = String(e.message ?? err)
    if (/no (source|async):|not in list of allowed|is on list of disallowed/.test(message)) {
      // a client, or a peer that lets us read nothing: stop asking it
      peer.refused = true
      this.logger.debug({ peer: peer.id, err: message }, 'peer does not serve createHistoryStream')
      for (const other of [...peer.streams.values()]) this.drop(other)
      return
    }
    this.logger.debug({ peer: peer.id, feed, err: message }, 'history stream failed')
  }

  /** Drops a stream for misbehaviour; logged once, and not asked again in this session. */
  private reject(st: FeedStream, reason: RejectReason, detail: Record<string, unknown>): void {
    if (st.done) return
    st.peer.rejected.set(st.feed, reason)
    this.counts.rejected++
    this.logger.warn(
      { peer: st.peer.id, feed: st.feed, reason, ...detail },
      'replication stream rejected',
    )
    this.drop(st)
  }

  /** Drops a stream and asks again from what we hold (the stream had run past a rollback). */
  private restart(st: FeedStream): void {
    if (st.done) return
    const { peer, feed } = st
    const n = (peer.restarts.get(feed) ?? 0) + 1
    peer.restarts.set(feed, n)
    this.drop(st)
    if (n > MAX_RESTARTS) {
      peer.ended.add(feed)
      this.logger.debug({ peer: peer.id, feed }, 'too many restarts; not asking again')
      return
    }
    this.openStream(peer, feed)
  }

  /** Aborts a stream of ours (no penalty). */
  private drop(st: FeedStream): void {
    if (st.done) return
    st.done = true
    st.controller.abort()
    this.detach(st)
  }

  private detach(st: FeedStream): void {
    if (st.peer.streams.get(st.feed) === st) st.peer.streams.delete(st.feed)
    this.ingests.get(st.feed)?.streams.delete(st)
    this.markChanged()
  }

  private onForked(feed: FeedId): void {
    this.logger.warn({ feed }, 'feed forked; it is no longer replicated')
    const ing = this.ingests.get(feed)
    if (ing) for (const st of [...ing.streams]) this.drop(st)
    this.markChanged()
  }

  // ------------------------------------------------------------------ progress

  /**
   * The sequence we hold of a feed (0 for none). The database's state is committed before the
   * intake learns its batch is stored, so it can be ahead of `validSeq` for a moment.
   */
  private held(feed: FeedId): number {
    return Math.max(this.ingests.get(feed)?.validSeq ?? 0, this.db.feeds().get(feed)?.sequence ?? 0)
  }

  private startSyncTimer(): void {
    if (this.syncTimer || this.closed) return
    const every = Math.max(10, Math.min(250, this.syncIdleMs / 2))
    this.syncTimer = setInterval(() => this.checkSync(), every)
    this.syncTimer.unref()
  }

  /** Streams that went quiet have caught up (legacy streams carry no sync marker). */
  private checkSync(): void {
    const now = Date.now()
    let syncing = 0
    let changed = false
    for (const peer of this.peers) {
      for (const st of peer.streams.values()) {
        if (!st.syncing) continue
        if (!st.waiting && now - st.lastActivity >= this.syncIdleMs) {
          st.syncing = false
          changed = true
        } else syncing++
      }
    }
    if (changed) this.markChanged()
    if (syncing === 0 && this.syncTimer) {
      clearInterval(this.syncTimer)
      this.syncTimer = undefined
    }
  }

  progress(): ReplicateProgress {
    let target = 0
    let current = 0
    for (const peer of this.peers) {
      for (const st of peer.streams.values()) {
        target++
        if (!st.syncing) current++
      }
    }
    return { start: 0, current, target }
  }

  private rate(): number {
    const now = Date.now()
    const dt = now - this.rateStart
    if (dt >= 1000) {
      this.rateValue = (this.rateCount * 1000) / dt
      this.rateCount = 0
      this.rateStart = now
    }
    return Math.round(this.rateValue)
  }

  status(): ReplicateStatus {
    const peers: Record<string, PeerStatus> = {}
    for (const peer of this.peers) {
      let syncing = 0
      for (const st of peer.streams.values()) if (st.syncing) syncing++
      const prev = peers[peer.id]
      const rejected = Object.fromEntries(peer.rejected) as Record<string, RejectReason>
      peers[peer.id] = {
        streams: (prev?.streams ?? 0) + peer.streams.size,
        syncing: (prev?.syncing ?? 0) + syncing,
        received: (prev?.received ?? 0) + peer.received,
        stored: (prev?.stored ?? 0) + peer.stored,
        rejected: { ...prev?.rejected, ...rejected },
      }
    }
    let forked = 0
    for (const feed of this.requestedSet) if (this.db.isForked(feed)) forked++
    return {
      requested: this.requestedSet.size,
      forked,
      ...this.counts,
      rate: this.rate(),
      peers,
    }
  }

  private snapshot(): ReplicateChange {
    const pendingPeers: Record<string, number> = {}
    const incomplete = new Set<FeedId>()
    for (const peer of this.peers) {
      let n = 0
      for (const st of peer.streams.values()) {
        if (!st.syncing) continue
        n++
        incomplete.add(st.feed)
      }
      if (n) pendingPeers[peer.id] = (pendingPeers[peer.id] ?? 0) + n
    }
    let progress = 0
    let total = 0
    for (const feed of this.requestedSet) {
      const ing = this.ingests.get(feed)
      const held = this.held(feed)
      progress += held
      total += Math.max(held, ing?.highest ?? 0)
    }
    return {
      id: this.id,
      rate: this.rate(),
      feeds: this.requestedSet.size,
      pendingPeers,
      incompleteFeeds: incomplete.size,
      progress,
      total,
    }
  }

  private markChanged(): void {
    if (this.changeSubs.size === 0 || this.changesTimer || this.closed) return
    this.changesTimer = setTimeout(() => {
      this.changesTimer = undefined
      this.emitChange()
    }, this.changesDebounceMs)
    this.changesTimer.unref()
  }

  private emitChange(): void {
    const snap = this.snapshot()
    const text = JSON.stringify(snap)
    if (text === this.lastChange) return
    this.lastChange = text
    for (const sub of this.changeSubs) sub.push(snap)
  }

  private pushUpto(item: UptoItem): void {
    for (const sub of this.uptoSubs) sub.push(item)
  }

  upto(
    opts: { live?: boolean } = {},
    signal?: AbortSignal,
  ): AsyncIterable<UptoItem | { sync: true }> {
    const list: UptoItem[] = this.requested().map((id) => ({ id, sequence: this.held(id) }))
    if (!opts?.live) {
      return (async function* () {
        yield* list
      })()
    }
    const sub: Subscription<UptoItem | { sync: true }> = new Subscription(
      (v) => ('id' in v ? v.id : ''),
      () => this.uptoSubs.delete(sub),
      signal,
    )
    for (const item of list) sub.push(item)
    sub.push({ sync: true })
    if (!this.closed) this.uptoSubs.add(sub)
    else sub.end()
    return sub
  }

  changes(signal?: AbortSignal): AsyncIterable<ReplicateChange> {
    const sub: Subscription<ReplicateChange> = new Subscription(
      () => 'change',
      () => this.changeSubs.delete(sub),
      signal,
    )
    sub.push(this.snapshot())
    if (!this.closed) this.changeSubs.add(sub)
    else sub.end()
    return sub
  }

  // ------------------------------------------------------------------ life cycle

  /** Stops every stream, ends the live sources, and waits for batches the database still holds. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.syncTimer) clearInterval(this.syncTimer)
    if (this.changesTimer) clearTimeout(this.changesTimer)
    this.syncTimer = undefined
    this.changesTimer = undefined
    this.unsubscribeRecords()
    for (const peer of this.peers) {
      if (peer.startTimer) clearTimeout(peer.startTimer)
      for (const st of [...peer.streams.values()]) this.drop(st)
    }
    this.peers.clear()
    for (const ing of this.ingests.values()) ing.detach()
    this.wake()
    for (const sub of [...this.uptoSubs, ...this.changeSubs]) sub.end()
    await Promise.all([...this.ingests.values()].map((ing) => ing.idle()))
  }
}
