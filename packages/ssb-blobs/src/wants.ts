/**
 * Blob replication: the want/have protocol of ssb-blobs 1.2.2 (`ssb-protocol.md` §6.3) with the
 * limits the reference forgets.
 *
 * On every connection both sides call `blobs.createWants` on each other. We read the peer's
 * frames (`{id: -hops}` wants, `{id: size}` haves) on the stream we opened, and send ours on the
 * stream it opened on us. A want we cannot serve is relayed one hop further while its distance is
 * within `sympathy`; a blob we want is fetched with `blobs.get({key, max})` from a peer that has
 * it, and every received byte is hashed and counted before anything is stored.
 *
 * Where the reference trusts the sender, we do not:
 * - bytes past the cap end the download at once; bytes that do not hash to the id are thrown
 *   away; either way the peer is distrusted for the rest of the session and another peer is
 *   tried;
 * - a download that stalls is dropped after `fetchTimeoutMs`;
 * - wants relayed for other peers are capped per peer and in total, and forgotten when every peer
 *   that asked has gone, so a flood of wants cannot grow our tables or our broadcasts;
 * - what a peer says it has is remembered for a bounded number of ids.
 */

import { setMaxListeners } from 'node:events'
import { BLOBS_DEFAULTS } from '@scuttlekit/ssb-config'
import type { BlobId, FeedId } from '@scuttlekit/ssb-ref'
import type { RpcSession } from '@scuttlekit/ssb-rpc'
import { EMPTY_BLOB_ID, isValidBlobId } from './blob-id.js'
import {
  BlobChunkTypeError,
  BlobHashMismatchError,
  BlobTooLargeError,
  InvalidBlobIdError,
} from './errors.js'
import { WantOutbox } from './outbox.js'
import type { BlobMeta, BlobStore } from './store.js'

/** The settings of blob replication (`config.blobs`, `reference-features.md` §3). */
export interface BlobReplicationOptions {
  /** Largest blob fetched from peers, inclusive (default 5 MiB). */
  readonly max: number
  /** How many hops away a want may come from and still be relayed (default 3). */
  readonly sympathy: number
  /** How many peers must report having a pushed blob before we stop advertising it (default 3). */
  readonly pushy: number
  /** Answer wants only for blobs we push (default false). */
  readonly stingy: boolean
  /** Fall back to `blobs.changes` and `blobs.has` with peers without `createWants` (default true). */
  readonly legacy: boolean
  /** Wants relayed for one peer at a time (default 1000). */
  readonly maxRelayedPerPeer: number
  /** Wants relayed for all peers together (default 10,000). */
  readonly maxRelayed: number
  /** Ids remembered per peer of what it has (default 10,000). */
  readonly maxHavesPerPeer: number
  /**
   * Downloads at once (default 1024). Their requests all go out; the store opens a bounded
   * number of temp files at once (`maxOpenWrites`), and the rest wait in the connection's
   * bounded buffer.
   */
  readonly maxFetches: number
  /** A download with no bytes for this long is dropped (default 30 s). */
  readonly fetchTimeoutMs: number
}

/** The defaults of {@link BlobReplicationOptions}. */
export const DEFAULT_REPLICATION: BlobReplicationOptions = Object.freeze({
  // ssb-blobs' own settings, as ssb-config documents them
  ...BLOBS_DEFAULTS,
  maxRelayedPerPeer: 1000,
  maxRelayed: 10_000,
  maxHavesPerPeer: 10_000,
  maxFetches: 1024,
  fetchTimeoutMs: 30_000,
})

/** Wants of one frame looked up in the store at once. */
const LOOKUPS_AT_ONCE = 256

/** What a peer lost trust for, as counted in {@link BlobReplicator.status}. */
type Offence = 'corrupt' | 'oversized' | 'stalled'

/** The logger calls this module makes. */
interface Log {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

interface Want {
  /** negative: −1 for our own, −2 for a peer's, … */
  hops: number
  /** we want it ourselves (`want`, `push` or a legacy `has`), not only for other peers */
  local: boolean
  /** peers whose wants we relay */
  readonly requesters: Set<FeedId>
  readonly waiters: Set<(stored: boolean) => void>
}

interface Peer {
  readonly id: FeedId
  readonly session: RpcSession
  /** the frames we send on the `createWants` the peer opened on us */
  outbox: WantOutbox | null
  /** what the peer said it has: id → size (`-1` when a legacy peer did not say the size) */
  readonly haves: Map<string, number>
  /** wants we relay because this peer asked */
  readonly relayed: Set<string>
  /** set once the peer served bad bytes; its haves are ignored for the session */
  distrusted: boolean
  readonly abort: AbortController
}

/** What `status().blobs` shows. */
export interface BlobReplicationStatus {
  readonly peers: number
  readonly wants: number
  readonly relayed: number
  readonly pushing: number
  readonly fetching: number
  readonly queued: number
  readonly fetched: number
  readonly rejected: Readonly<Record<Offence, number>>
}

/** Pushed blobs, kept across restarts. */
export interface PushSet {
  ids(): Iterable<string>
  add(id: string): Promise<void>
  remove(id: string): Promise<void>
}

/**
 * Ids waiting for a download slot, first in first out. A Set alone would do, but taking its
 * first entry after many deletions walks the deleted slots each time.
 */
class FetchQueue {
  private items: string[] = []
  private head = 0
  private readonly members = new Set<string>()

  get size(): number {
    return this.members.size
  }

  add(id: string): void {
    if (this.members.has(id)) return
    this.members.add(id)
    this.items.push(id)
  }

  delete(id: string): void {
    this.members.delete(id) // its slot in `items` is skipped by shift()
  }

  shift(): string | undefined {
    while (this.head < this.items.length) {
      const id = this.items[this.head++] as string
      if (this.members.delete(id)) {
        this.compact()
        return id
      }
    }
    this.compact()
    return undefined
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

/** Whether `v` is a plain object (a want/have frame), not an array or null. */
function isFrame(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}

/** Drives blob replication over every connection; one per server. */
export class BlobReplicator {
  private readonly wants = new Map<string, Want>()
  private readonly peers = new Map<FeedId, Peer>()
  /** blobs we push → the peers that said they have them */
  private readonly pushes = new Map<string, Set<FeedId>>()
  /** ids being downloaded */
  private readonly fetching = new Set<string>()
  /** ids waiting for a download slot, in order */
  private readonly queue = new FetchQueue()
  private relayedCount = 0
  /** blobs stored since start (a change tells `want` to look again) */
  private storedCount = 0
  private fetched = 0
  private readonly rejected: Record<Offence, number> = { corrupt: 0, oversized: 0, stalled: 0 }
  private closed = false
  private readonly offAdd: () => void
  /** want streams of callers we do not replicate with (a client of ours, our own key) */
  private readonly extraOutboxes = new Set<WantOutbox>()

  constructor(
    private readonly store: BlobStore,
    private readonly self: FeedId,
    private readonly options: BlobReplicationOptions,
    private readonly pushSet: PushSet,
    private readonly log: Log,
  ) {
    for (const id of pushSet.ids()) if (isValidBlobId(id)) this.pushes.set(id, new Set())
    this.offAdd = store.onAdd((meta) => this.onStored(meta))
  }

  // ---------------------------------------------------------------- local API

  /**
   * Resolves `true` once the blob is stored, fetching it from whichever peer has it; wants it
   * from the network until then (ssb-blobs' `want`, which has no time limit either). `signal`
   * stops waiting, not wanting.
   */
  async want(id: string, signal?: AbortSignal): Promise<boolean> {
    if (!isValidBlobId(id)) throw new InvalidBlobIdError(id)
    const epoch = this.storedCount
    if (id === EMPTY_BLOB_ID || (await this.store.has(id))) return true
    // a blob stored while we looked would not settle the want registered below
    if (this.storedCount !== epoch && (await this.store.has(id))) return true
    signal?.throwIfAborted()
    return new Promise<boolean>((resolve, reject) => {
      const want = this.addWant(id, -1, true)
      const waiter = (stored: boolean) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(stored)
      }
      const onAbort = () => {
        want.waiters.delete(waiter)
        reject(signal?.reason)
      }
      want.waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Advertises a blob we have as wanted (−1) until `pushy` peers report having it
   * (`blobs.push`). Kept across restarts.
   */
  async push(id: string): Promise<void> {
    if (!isValidBlobId(id)) throw new InvalidBlobIdError(id)
    if (!this.pushes.has(id)) {
      this.pushes.set(id, new Set())
      await this.pushSet.add(id)
    }
    this.broadcast(id, -1)
  }

  /** Whether a blob is being pushed. */
  isPushing(id: string): boolean {
    return this.pushes.has(id)
  }

  /**
   * The frames for a `createWants` a caller opened on us: our whole want map first, then
   * updates. `caller` is the remote id of the connection.
   */
  createWants(caller: FeedId, signal?: AbortSignal): AsyncIterable<Record<string, number>> {
    const outbox = new WantOutbox(this.wantMap())
    const peer = this.peers.get(caller)
    if (peer && caller !== this.self) {
      peer.outbox?.end()
      peer.outbox = outbox
    } else {
      // a caller we do not replicate with (a client of ours, or a peer whose session we have
      // not seen yet) still gets every update
      this.extraOutboxes.add(outbox)
      signal?.addEventListener('abort', () => this.extraOutboxes.delete(outbox), { once: true })
    }
    return outbox.frames(signal)
  }

  /**
   * A legacy `blobs.has` from a remote peer, which ssb-blobs treats as a want of −1 (§6.2):
   * answers whether we have each blob and relays the ones we do not.
   */
  async legacyHas(caller: FeedId, ids: readonly string[]): Promise<boolean[]> {
    const out: boolean[] = []
    for (const id of ids) {
      const size = await this.store.size(id)
      if (size !== null) out.push(true)
      else if (this.options.stingy && !this.pushes.has(id)) out.push(false)
      else {
        this.relay(caller, id, -2)
        out.push(false)
      }
    }
    return out
  }

  /** Counters for `status()`. */
  status(): BlobReplicationStatus {
    let local = 0
    for (const w of this.wants.values()) if (w.local) local++
    return {
      peers: this.peers.size,
      wants: local,
      relayed: this.relayedCount,
      pushing: this.pushes.size,
      fetching: this.fetching.size,
      queued: this.queue.size,
      fetched: this.fetched,
      rejected: { ...this.rejected },
    }
  }

  /** Stops replicating: ends every want stream and download; pending `want`s resolve `false`. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.offAdd()
    for (const peer of this.peers.values()) this.dropPeer(peer)
    for (const outbox of this.extraOutboxes) outbox.end()
    this.extraOutboxes.clear()
    for (const id of [...this.wants.keys()]) this.resolveWant(id, false)
  }

  // ---------------------------------------------------------------- connections

  /** A new connection: start the want/have exchange with the peer (both roles do it). */
  onSession(session: RpcSession): void {
    const id = session.info.remoteId
    if (this.closed || id === this.self || session.isClosed) return
    const old = this.peers.get(id)
    if (old) this.dropPeer(old)
    const peer: Peer = {
      id,
      session,
      outbox: null,
      haves: new Map(),
      relayed: new Set(),
      distrusted: false,
      abort: new AbortController(),
    }
    // every download from the peer listens for it going away
    setMaxListeners(0, peer.abort.signal)
    this.peers.set(id, peer)
    session.onClose(() => {
      if (this.peers.get(id) === peer) this.dropPeer(peer)
    })
    void this.readWants(peer)
  }

  private dropPeer(peer: Peer): void {
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id)
    peer.abort.abort()
    peer.outbox?.end()
    for (const id of peer.relayed) this.unrelay(peer.id, id)
    peer.relayed.clear()
    peer.haves.clear()
  }

  /** Reads the frames of the `createWants` we opened on the peer; falls back to legacy. */
  private async readWants(peer: Peer): Promise<void> {
    let frames = 0
    try {
      const source = peer.session.source(['blobs', 'createWants'], [], {
        signal: peer.abort.signal,
      })
      for await (const frame of source) {
        frames++
        if (isFrame(frame)) await this.onFrame(peer, frame)
        if (this.peers.get(peer.id) !== peer) break
      }
    } catch (err) {
      if (peer.abort.signal.aborted || this.closed) return
      if (frames === 0 && this.options.legacy) {
        this.log.debug({ peer: peer.id, err }, 'createWants refused; legacy blob sync')
        void this.legacySync(peer)
        return
      }
      this.log.debug({ peer: peer.id, err }, 'want stream ended')
    }
  }

  /**
   * One frame from a peer: wants to answer or relay, haves to fetch from. Wants are looked up
   * in groups of {@link LOOKUPS_AT_ONCE}, each group answered as soon as it is known; the next
   * frame is read only after this one is done, so a flood of wants waits on our disk, not our
   * memory.
   */
  private async onFrame(peer: Peer, frame: Record<string, unknown>): Promise<void> {
    let asked: string[] = []
    const lookUp = async (ids: string[]) => {
      const sizes = await Promise.all(ids.map((id) => this.store.size(id)))
      if (this.peers.get(peer.id) !== peer) return
      const reply: [string, number][] = []
      ids.forEach((id, i) => {
        const size = sizes[i]
        if (size !== null && size !== undefined && size > 0) reply.push([id, size])
        else this.relay(peer.id, id, (frame[id] as number) - 1)
      })
      if (reply.length > 0) peer.outbox?.push(reply)
    }
    for (const id of Object.keys(frame)) {
      const v = frame[id]
      if (typeof v !== 'number' || !Number.isInteger(v) || v === 0 || !isValidBlobId(id)) continue
      if (v > 0) {
        this.onHave(peer, id, v)
        continue
      }
      if (id === EMPTY_BLOB_ID || (this.options.stingy && !this.pushes.has(id))) continue
      asked.push(id)
      if (asked.length >= LOOKUPS_AT_ONCE) {
        await lookUp(asked)
        asked = []
        if (this.peers.get(peer.id) !== peer) return
      }
    }
    if (asked.length > 0) await lookUp(asked)
  }

  /** The peer has a blob of `size` bytes (`-1`: a legacy peer that did not say). */
  private onHave(peer: Peer, id: string, size: number): void {
    if (peer.distrusted) return
    if (peer.haves.has(id) || peer.haves.size < this.options.maxHavesPerPeer || this.wants.has(id))
      peer.haves.set(id, size)
    const pushedTo = this.pushes.get(id)
    if (pushedTo) {
      pushedTo.add(peer.id)
      if (pushedTo.size >= this.options.pushy) {
        this.pushes.delete(id)
        void this.pushSet.remove(id).catch((err) => this.log.warn({ err }, 'push set write failed'))
      }
    }
    if (this.wants.has(id)) this.schedule(id)
  }

  // ---------------------------------------------------------------- wants

  /** Our whole want map, pushes as −1: the first frame of a want stream. */
  private wantMap(): Map<string, number> {
    const map = new Map<string, number>()
    for (const [id, w] of this.wants) map.set(id, w.hops)
    for (const id of this.pushes.keys()) map.set(id, -1)
    return map
  }

  private addWant(id: string, hops: number, local: boolean): Want {
    let want = this.wants.get(id)
    if (!want) {
      want = { hops, local, requesters: new Set(), waiters: new Set() }
      this.wants.set(id, want)
      this.broadcast(id, hops)
      this.schedule(id)
    } else {
      if (local) want.local = true
      if (hops > want.hops) {
        want.hops = hops
        this.broadcast(id, hops)
      }
    }
    return want
  }

  /** A peer wants a blob we do not have, `hops` away from us: relay it if within sympathy. */
  private relay(from: FeedId, id: string, hops: number): void {
    if (-hops > this.options.sympathy) return
    const peer = this.peers.get(from)
    const existing = this.wants.get(id)
    if (existing?.requesters.has(from)) {
      if (hops > existing.hops) this.addWant(id, hops, false)
      return
    }
    if (peer && peer.relayed.size >= this.options.maxRelayedPerPeer) return
    if (this.relayedCount >= this.options.maxRelayed) return
    const want = this.addWant(id, hops, false)
    want.requesters.add(from)
    peer?.relayed.add(id)
    this.relayedCount++
  }

  /** `from` no longer asks for `id` (it went away): forget the want if nobody else does. */
  private unrelay(from: FeedId, id: string): void {
    const want = this.wants.get(id)
    if (!want?.requesters.delete(from)) return
    this.relayedCount--
    if (want.requesters.size === 0 && !want.local && want.waiters.size === 0) {
      this.wants.delete(id)
      this.queue.delete(id)
    }
  }

  /** Sends `{id: value}` on every want stream. */
  private broadcast(id: string, value: number): void {
    for (const peer of this.peers.values()) peer.outbox?.set(id, value)
    for (const outbox of this.extraOutboxes) outbox.set(id, value)
  }

  private resolveWant(id: string, stored: boolean): void {
    const want = this.wants.get(id)
    if (!want) return
    this.wants.delete(id)
    this.queue.delete(id)
    for (const peer of this.peers.values()) {
      if (want.requesters.has(peer.id)) peer.relayed.delete(id)
    }
    this.relayedCount -= want.requesters.size
    for (const waiter of want.waiters) waiter(stored)
  }

  /** A blob was stored (fetched or added locally): announce it, and settle who waited. */
  private onStored(meta: BlobMeta): void {
    this.storedCount++
    if (this.closed) return
    if (meta.size > 0) this.broadcast(meta.id, meta.size)
    this.resolveWant(meta.id, true)
  }

  // ---------------------------------------------------------------- downloads

  /** A peer we may fetch `id` from: trusted, connected, says it has it within the cap. */
  private sourceOf(id: string, skip?: ReadonlySet<FeedId>): Peer | undefined {
    for (const peer of this.peers.values()) {
      if (peer.distrusted || skip?.has(peer.id)) continue
      const size = peer.haves.get(id)
      if (size !== undefined && size <= this.options.max) return peer
    }
    return undefined
  }

  /** Queues a download of `id` when someone has it and a slot is free. */
  private schedule(id: string): void {
    if (this.closed || this.fetching.has(id) || !this.wants.has(id)) return
    if (!this.sourceOf(id)) return
    this.queue.add(id)
    this.pump()
  }

  private pump(): void {
    while (this.fetching.size < this.options.maxFetches && this.queue.size > 0) {
      const id = this.queue.shift() as string
      if (!this.wants.has(id) || this.fetching.has(id)) continue
      void this.fetch(id)
    }
  }

  /** Downloads `id`, trying each peer that has it until one serves the right bytes. */
  private async fetch(id: string): Promise<void> {
    const tried = new Set<FeedId>()
    this.fetching.add(id)
    try {
      for (;;) {
        if (this.closed || !this.wants.has(id)) return
        // after a failed attempt the blob may have come by another way meanwhile
        if (tried.size > 0 && (await this.store.has(id))) {
          this.resolveWant(id, true)
          return
        }
        const peer = this.sourceOf(id, tried)
        if (!peer) return
        tried.add(peer.id)
        if (await this.fetchFrom(peer, id)) return
      }
    } finally {
      this.fetching.delete(id)
      this.pump()
    }
  }

  /** One download attempt; true when the blob is stored. */
  private async fetchFrom(peer: Peer, id: string): Promise<boolean> {
    const max = this.options.max
    // one controller per download: the stall timer and the peer going away both abort it
    const stall = new AbortController()
    const signal = stall.signal
    const onPeerGone = () => stall.abort(peer.abort.signal.reason)
    peer.abort.signal.addEventListener('abort', onPeerGone, { once: true })
    const timeoutMs = this.options.fetchTimeoutMs
    let stalled = false
    let last = Date.now()
    // one timer that re-arms itself for what is left, not a new timer per chunk
    const check = () => {
      const idle = Date.now() - last
      if (idle >= timeoutMs) {
        stalled = true
        stall.abort()
      } else timer = setTimeout(check, timeoutMs - idle)
    }
    // armed when the store starts reading, so that waiting for a free temp file is not a stall
    let timer: NodeJS.Timeout | undefined
    const source = peer.session.source(['blobs', 'get'], [{ key: id, max }], { signal })
    // ask now: the request goes out on the first `next()`, and the store may make this add wait
    // for a free temp file (maxOpenWrites) while the bytes are already on their way
    const first = source.next()
    first.catch(() => {}) // read below; this only keeps an early failure from going unhandled
    async function* timed(): AsyncGenerator<Uint8Array> {
      last = Date.now()
      timer = setTimeout(check, timeoutMs)
      let step = await first
      for (; !step.done; step = await source.next()) {
        const chunk = step.value
        last = Date.now()
        if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8')
        else if (chunk instanceof Uint8Array) yield chunk
        else throw new BlobChunkTypeError(id)
      }
    }
    try {
      // no signal for the store: an abort ends `source`, which ends the add
      // not `durable`: a peer has it, so a copy lost to a power cut is fetched again; the bytes
      // are still synced before the rename, so nothing torn is ever served
      const stored = await this.store.add(timed(), { expected: id as BlobId, max, durable: false })
      this.fetched++
      // a new blob was announced by onStored; one that was there already settles here
      if (!stored.added) this.resolveWant(id, true)
      return true
    } catch (err) {
      peer.haves.delete(id)
      if (err instanceof BlobHashMismatchError || err instanceof BlobChunkTypeError) {
        this.penalize(peer, 'corrupt', id, err)
      } else if (err instanceof BlobTooLargeError) {
        this.penalize(peer, 'oversized', id, err)
      } else if (stalled) {
        this.penalize(peer, 'stalled', id, err)
      } else {
        this.log.debug({ peer: peer.id, blob: id, err }, 'blob download failed')
      }
      return false
    } finally {
      clearTimeout(timer)
      peer.abort.signal.removeEventListener('abort', onPeerGone)
      // the request went out before the store read anything: end it if the add did not
      void Promise.resolve(source.return?.()).catch(() => {})
    }
  }

  /** A peer served bad bytes or stalled: ignore what it says it has for the rest of the session. */
  private penalize(peer: Peer, offence: Offence, id: string, err: unknown): void {
    this.rejected[offence]++
    peer.distrusted = true
    peer.haves.clear()
    this.log.warn(
      { peer: peer.id, blob: id, offence, err: (err as Error)?.message },
      'peer served a bad blob; its offers are ignored for this session',
    )
  }

  // ---------------------------------------------------------------- legacy peers

  /**
   * ssb-blobs' fallback for a peer without `createWants`: its `blobs.changes` tell us what it
   * gets, and we ask `blobs.has` for what we want, now and whenever our wants change.
   */
  private async legacySync(peer: Peer): Promise<void> {
    const ask = async () => {
      const ids = [...this.wants.keys()].slice(0, 1000)
      if (ids.length === 0 || this.peers.get(peer.id) !== peer) return
      const answer = await peer.session.request(['blobs', 'has'], [ids], {
        signal: peer.abort.signal,
      })
      if (!Array.isArray(answer)) return
      answer.forEach((has, i) => {
        const id = ids[i]
        if (has === true && id !== undefined) this.onHave(peer, id, -1)
      })
    }
    // our later wants reach a legacy peer through an outbox we read ourselves
    const outbox = new WantOutbox(null)
    peer.outbox = outbox
    void (async () => {
      try {
        await ask()
        for await (const frame of outbox.frames(peer.abort.signal)) {
          if (Object.values(frame).some((v) => v < 0)) await ask()
        }
      } catch (err) {
        this.log.debug({ peer: peer.id, err }, 'legacy blobs.has failed')
      }
    })()
    try {
      for await (const id of peer.session.source(['blobs', 'changes'], [], {
        signal: peer.abort.signal,
      })) {
        if (typeof id === 'string' && isValidBlobId(id)) this.onHave(peer, id, -1)
      }
    } catch (err) {
      this.log.debug({ peer: peer.id, err }, 'legacy blobs.changes ended')
    }
  }
}
