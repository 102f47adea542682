/**
 * The database: the log (truth) and the indexes derived from it in classic-level, with the write
 * path (validation, group commit) and the read API of ssb-db 20.
 */
import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { boxContent, type HmacKey, type Keys } from '@scuttlekit/ssb-keys'
import {
  describe,
  type FeedId,
  isFeedId,
  isMsgId,
  type MsgId,
  safeString,
} from '@scuttlekit/ssb-ref'
import {
  beginBatch,
  createMessage,
  type FeedState,
  ForkError,
  type KVT,
  type MsgValue,
  monotonicTimestamp,
  type PendingBatch,
  prepare,
  resolveHmacKey,
  UnserialisableContentError,
  ValidationError,
  type Verdict,
  type VerifyPool,
  validateMessage,
  verifyPrepared,
} from '@scuttlekit/ssb-validate'
import { ClassicLevel } from 'classic-level'
import {
  DatabaseClosedError,
  DatabaseLockedError,
  FeedNotFoundError,
  ForkedFeedError,
  InvalidArgumentError,
  MessageNotFoundError,
  RecipientsError,
  SlowConsumerError,
  WriteFailedError,
} from './errors.js'
import { AsyncQueue } from './internal/async-queue.js'
import { decodeOffset, encodeOffset, indexKey, pastPrefix } from './internal/keys.js'
import { linksOf } from './internal/links.js'
import { blockKey, blockOf, offsetIn, SeqIndex, slotAt, slotsIn } from './internal/seq-index.js'
import { isBoxed, Unboxer } from './internal/unbox.js'
import { LOG_START, Log, type LogReader } from './log.js'
import { defaultLogger, type Logger } from './logger.js'
import * as streams from './streams.js'
import { resolvedTimestamp } from './streams.js'

/** Bumped whenever what the indexes hold changes: a mismatch rebuilds them from the log. */
const INDEX_VERSION = 2
const META_KEY = Buffer.from([0])
/** Most records committed in one group (one write, one fdatasync, one index batch). */
const MAX_GROUP = 2048
/** Queued records that start a commit at once instead of at the end of the tick. */
const EAGER_GROUP = 32
/** Most messages validated as one round; a larger submission is cut into rounds. */
const ROUND = 256
/** Rounds whose signatures are being checked at once, each chaining on the ones before it. */
const ROUNDS_IN_FLIGHT = 3

/** Options of {@link openDb}. */
export interface DbOptions {
  /** the database directory (created if needed); holds `log` and `index/` */
  path: string
  /** the identity this database publishes as and decrypts for */
  keys: Keys
  /** the network's `caps.sign` (none on the main network) */
  hmacKey?: HmacKey
  logger?: Logger
  /** where batch validation verifies signatures; default the process-wide pool */
  verifyPool?: VerifyPool
  /** decrypted-message cache entries (default 4096) */
  unboxCacheSize?: number
  /**
   * Records a live stream may hold for a consumer that does not keep up (default 10,000). Past
   * it the stream fails with {@link SlowConsumerError}, so that a peer that never reads cannot
   * make the process hold every new message for it.
   */
  maxLiveQueue?: number
}

/** The latest stored message of a feed, as the database tracks it. */
export interface FeedInfo {
  id: MsgId
  sequence: number
  /** the author's claimed timestamp of that message */
  timestamp: number
}

interface StoredState extends FeedInfo {
  /** offset of the feed's first stored record: orders `latest()` as the reference does */
  first: number
  /** offset of the latest record, so `getLatest` needs no index lookup */
  offset?: number
}

interface Pending {
  kvt: KVT
  payload: Buffer
  resolve: (kvt: KVT) => void
  reject: (err: unknown) => void
}

/** One `add` or `addBatch` call waiting for its verdicts. */
interface Submission {
  msgs: readonly unknown[]
  done: (results: (Error | Promise<KVT>)[]) => void
  results: (Error | Promise<KVT>)[]
  /** messages already taken into rounds */
  taken: number
  /** messages not yet settled */
  left: number
}

/** Messages validated together: their signatures are checked while later rounds begin. */
interface Round {
  msgs: unknown[]
  /** which submission each run of `msgs` came from */
  parts: { sub: Submission; from: number; count: number }[]
  batch: PendingBatch | undefined
  /** set when the round could not be validated at all: every message fails with it */
  error: Error | undefined
  verified: Promise<void>
  verifiedYet: boolean
}

/** A record read back with its position. */
export interface Located {
  offset: number
  kvt: KVT
}

/** Index progress, as ssb-db's `progress().indexes`: byte positions in the log. */
export interface IndexProgress {
  start: number
  current: number
  target: number
}

/** The result of one message of {@link SsbDb.addBatch}. */
export type AddResult = { ok: true; kvt: KVT } | { ok: false; error: Error }

/** Range and shape options shared by the read streams (ssb-db 20's names and defaults). */
export interface StreamOptions {
  gt?: unknown
  gte?: unknown
  lt?: unknown
  lte?: unknown
  reverse?: boolean
  limit?: number
  live?: boolean
  old?: boolean
  keys?: boolean
  values?: boolean
  private?: boolean
  sync?: boolean
}

function keyIndexKey(id: string): Buffer {
  return Buffer.from(`k${id}`, 'utf8')
}

/** The `S` entry that holds a feed's state. */
function stateEntry(feed: FeedId, state: StoredState): [Buffer, Buffer] {
  return [Buffer.from(`S${feed}`, 'utf8'), Buffer.from(JSON.stringify(state), 'utf8')]
}

/**
 * An open database. Writes are validated, appended to the log durably (grouped), then indexed;
 * reads come from the indexes and the log.
 */
export class SsbDb {
  /** the feed id this database publishes as */
  readonly id: FeedId
  private closed = false
  private closing: Promise<void> | null = null
  private readonly states = new Map<FeedId, StoredState>()
  private readonly pendingStates = new Map<FeedId, FeedInfo>()
  private readonly forked = new Set<FeedId>()
  private queue: Pending[] = []
  /** submitted messages not yet in a validation round */
  private incoming: Submission[] = []
  private validating: Promise<void> | null = null
  /** wakes the validation loop when messages arrive while it waits for signatures */
  private wake: (() => void) | null = null
  /**
   * The state each feed ends in if the rounds in flight hold no bad signature: later rounds
   * chain on it before the earlier ones settle.
   */
  private readonly expected = new Map<FeedId, { state: FeedState; round: Round }>()
  /** set while `rebuild()` runs: writes and state reads wait for it */
  private rebuilding: Promise<void> | null = null
  private committing: Promise<void> | null = null
  private commitScheduled = false
  private broken: Error | null = null
  /** log offset up to which the indexes are complete */
  private indexedTo = LOG_START
  private lastReceive = 0
  /** the index was written since open: close() flushes leveldb's memtable */
  private dirty = false
  private progressStart = LOG_START
  private readonly events = new EventEmitter()
  readonly unboxer: Unboxer
  /** the writer's side of the sequence index (`c`) */
  private readonly seqIndex: SeqIndex
  /** index writes that must not interleave (a commit group's, a deletion's, a rebuild) */
  private indexTurn: Promise<unknown> = Promise.resolve()
  /** how many of them are running or waiting */
  private indexTurns = 0
  /** see {@link DbOptions.maxLiveQueue} */
  maxLiveQueue = 10_000

  private constructor(
    readonly path: string,
    private readonly keys: Keys,
    private readonly hmacKey: HmacKey,
    private readonly log: Log,
    private readonly index: ClassicLevel<Buffer, Buffer>,
    private readonly logger: Logger,
    private readonly verifyPool: VerifyPool | undefined,
    unboxCacheSize: number,
  ) {
    this.id = keys.id
    this.unboxer = new Unboxer(keys, unboxCacheSize)
    this.seqIndex = new SeqIndex(index)
    this.events.setMaxListeners(0)
  }

  /** Opens a database; see {@link openDb}. */
  static async open(options: DbOptions): Promise<SsbDb> {
    const logger = options.logger ?? defaultLogger
    mkdirSync(options.path, { recursive: true })
    const indexPath = join(options.path, 'index')
    let index = await openIndex(indexPath, options.path, logger)
    let log: Log
    try {
      log = await Log.open(join(options.path, 'log'), logger)
    } catch (err) {
      await index.close()
      throw err
    }
    for (let attempt = 0; ; attempt++) {
      const db = new SsbDb(
        options.path,
        options.keys,
        options.hmacKey,
        log,
        index,
        logger,
        options.verifyPool,
        options.unboxCacheSize ?? 4096,
      )
      if (options.maxLiveQueue !== undefined) db.maxLiveQueue = options.maxLiveQueue
      try {
        await db.load()
        return db
      } catch (err) {
        await index.close().catch(() => {})
        if (attempt > 0 || !hasLevelCode(err, 'LEVEL_CORRUPTION')) {
          await log.close().catch(() => {})
          throw err
        }
        // leveldb opened, but a table file is damaged: the indexes are derived, start over.
        logger.warn({ path: indexPath, err: String(err) }, 'index unreadable; rebuilding it')
        rmSync(indexPath, { recursive: true, force: true })
        try {
          index = await openIndex(indexPath, options.path, logger)
        } catch (err2) {
          await log.close().catch(() => {})
          throw err2
        }
      }
    }
  }

  // ---------------------------------------------------------------- opening and indexing

  private async load(): Promise<void> {
    // the meta key, the feed states and the forked feeds side by side: each is a trip through
    // the thread pool, and they are most of the time an open takes after leveldb's own
    const [meta, states, forked] = await Promise.all([
      this.index.get(META_KEY),
      this.index.iterator({ gte: Buffer.from('S'), lt: Buffer.from('T') }).all(),
      this.index.keys({ gte: Buffer.from('X'), lt: Buffer.from('Y') }).all(),
    ])
    let from = LOG_START
    let clear = false
    if (meta !== undefined) {
      const m = JSON.parse(meta.toString('utf8')) as {
        version: number
        indexedTo: number
        lastReceive: number
      }
      if (m.version === INDEX_VERSION && m.indexedTo <= this.log.end) {
        from = m.indexedTo
        this.lastReceive = m.lastReceive
      } else {
        this.logger.warn(
          { path: this.path, version: m.version, indexedTo: m.indexedTo },
          'indexes are stale; rebuilding them from the log',
        )
        clear = true
      }
    } else if (this.log.end > LOG_START) {
      this.logger.warn({ path: this.path }, 'indexes are missing; rebuilding them from the log')
      clear = true
    }
    if (clear) {
      await this.index.clear()
      this.setStates([], [])
    } else {
      this.setStates(states, forked)
    }
    await this.catchUp(from, true)
  }

  /** Feed states (`S` entries) and forked feeds (`X` keys) as read from the index. */
  private setStates(states: [Buffer, Buffer][], forked: Buffer[]): void {
    this.states.clear()
    this.pendingStates.clear()
    this.forked.clear()
    const loaded: [FeedId, StoredState][] = states.map(([k, v]) => [
      k.subarray(1).toString('utf8') as FeedId,
      JSON.parse(v.toString('utf8')) as StoredState,
    ])
    loaded.sort((a, b) => a[1].first - b[1].first)
    for (const [feed, state] of loaded) this.states.set(feed, state)
    for (const k of forked) this.forked.add(k.subarray(1).toString('utf8') as FeedId)
  }

  /** Indexes every record from `from` to the end of the log (trimming a torn tail at open). */
  private async catchUp(from: number, trimTail: boolean): Promise<void> {
    this.progressStart = from
    this.indexedTo = from
    let batch = this.index.batch()
    let count = 0
    let last = from
    const touched = new Map<FeedId, StoredState>()
    for await (const rec of this.log.scan({ from, trimTail })) {
      last = rec.next
      if (rec.payload !== null) {
        let kvt: KVT
        try {
          kvt = JSON.parse(rec.payload.toString('utf8')) as KVT
        } catch {
          this.logger.warn({ offset: rec.offset }, 'log record is not JSON; skipped')
          continue
        }
        const loading = this.seqIndex.load([kvt.value])
        if (loading) await loading
        this.indexRecord(batch, kvt, rec.offset, touched)
        if (kvt.timestamp > this.lastReceive) this.lastReceive = kvt.timestamp
        count++
      }
      if (count >= 4096) {
        await this.writeIndexBatch(batch, touched, last)
        batch = this.index.batch()
        count = 0
      }
    }
    // Nothing after `from` (the usual clean open): leave the index untouched.
    if (last === from && touched.size === 0 && this.log.end === from) return
    await this.writeIndexBatch(batch, touched, Math.max(last, this.log.end))
  }

  private async writeIndexBatch(
    batch: ReturnType<ClassicLevel<Buffer, Buffer>['batch']>,
    touched: Map<FeedId, StoredState>,
    indexedTo: number,
  ): Promise<void> {
    for (const [feed, state] of touched) batch.put(...stateEntry(feed, state))
    touched.clear()
    batch.put(
      META_KEY,
      Buffer.from(
        JSON.stringify({ version: INDEX_VERSION, indexedTo, lastReceive: this.lastReceive }),
      ),
    )
    await this.writeWithBlocks(batch)
    this.indexedTo = indexedTo
    this.dirty = true
  }

  /** Writes `batch` with the sequence blocks changed since the last write. */
  private async writeWithBlocks(batch: ReturnType<ClassicLevel<Buffer, Buffer>['batch']>) {
    this.seqIndex.flush(batch)
    try {
      await batch.write()
    } catch (err) {
      // level never got the blocks the writer holds
      this.seqIndex.clear()
      throw err
    }
    this.seqIndex.trim()
  }

  /**
   * Content as the indexes see it: decrypted when the message is for us, else as stored (a
   * string for boxed content we cannot open). Live streams match new records by it too.
   */
  indexedContent(kvt: KVT): unknown {
    const c = kvt.value.content
    if (isBoxed(c)) return this.unboxer.content(kvt) ?? c
    return c
  }

  /**
   * The index entries of one record that map to its offset (the same list serves `put` and
   * `del`); the sequence index is written through {@link SeqIndex}.
   */
  private entriesOf(kvt: KVT, offset: number): Buffer[] {
    const v = kvt.value
    const keys: Buffer[] = [
      keyIndexKey(kvt.key),
      indexKey('t', [kvt.timestamp]),
      indexKey('f', [resolvedTimestamp(kvt), v.author, offset]),
    ]
    const content = this.indexedContent(kvt)
    if (typeof content === 'object' && content !== null) {
      const type = (content as { type?: unknown }).type
      if (typeof type === 'string') keys.push(indexKey('y', [type.substring(0, 32), kvt.timestamp]))
      for (const { rel, dest } of linksOf(content)) {
        keys.push(indexKey('l', [v.author, rel, dest, v.sequence, kvt.key]))
        keys.push(indexKey('b', [dest, rel, v.author, v.sequence, kvt.key]))
      }
    }
    return keys
  }

  private indexRecord(
    batch: ReturnType<ClassicLevel<Buffer, Buffer>['batch']>,
    kvt: KVT,
    offset: number,
    touched: Map<FeedId, StoredState>,
  ): void {
    const off = encodeOffset(offset)
    for (const k of this.entriesOf(kvt, offset)) batch.put(k, off)
    const v = kvt.value
    this.seqIndex.set(v.author, v.sequence, offset)
    const prev = this.states.get(v.author)
    const state: StoredState = {
      id: kvt.key,
      sequence: v.sequence,
      timestamp: v.timestamp,
      first: prev ? prev.first : offset,
      offset,
    }
    this.states.set(v.author, state)
    touched.set(v.author, state)
  }

  // ---------------------------------------------------------------- writing

  private assertOpen(): void {
    if (this.closed) throw new DatabaseClosedError()
  }

  /** Throws when closed; waits while `rebuild()` runs (feed states are being recomputed). */
  private async ready(): Promise<void> {
    this.assertOpen()
    while (this.rebuilding) await this.rebuilding
  }

  /** The state a new message of `feed` must chain on, including messages not yet committed. */
  private stateOf(feed: FeedId): (FeedInfo & { queue: [] }) | undefined {
    const s = this.pendingStates.get(feed) ?? this.states.get(feed)
    // Exactly the fields the reference's validation state has: its sequence errors print it.
    return s && { id: s.id, sequence: s.sequence, timestamp: s.timestamp, queue: [] }
  }

  private nextReceiveTimestamp(): number {
    let ts = monotonicTimestamp()
    if (ts <= this.lastReceive) {
      // The clock is behind what is stored (it stepped back across a restart): keep increasing.
      ts = this.lastReceive + 0.001
      if (ts <= this.lastReceive) ts = this.lastReceive + 1
    }
    this.lastReceive = ts
    return ts
  }

  /**
   * Queues an accepted message for the next commit group; resolves once durable and indexed.
   * `json` is the value's 2-space JSON, as validation (or signing) serialised it: the record
   * holds exactly that text, which is both what was checked and one serialisation fewer.
   */
  private enqueue(id: MsgId, value: MsgValue, json: string): Promise<KVT> {
    if (this.broken) return Promise.reject(this.broken)
    const kvt: KVT = { key: id, value, timestamp: this.nextReceiveTimestamp() }
    const payload = Buffer.from(
      `{"key":${JSON.stringify(id)},"value":${json},"timestamp":${JSON.stringify(kvt.timestamp)}}`,
      'utf8',
    )
    this.pendingStates.set(value.author, {
      id,
      sequence: value.sequence,
      timestamp: value.timestamp,
    })
    return new Promise<KVT>((resolve, reject) => {
      this.queue.push({ kvt, payload, resolve, reject })
      if (this.committing) return
      if (this.queue.length >= EAGER_GROUP) {
        // Enough for a group: start writing it now, so that its write and sync run on the
        // thread pool while this thread goes on signing or validating the next ones.
        this.committing = this.commitLoop()
      } else if (!this.commitScheduled) {
        // Otherwise let every write issued in this tick join the first group.
        this.commitScheduled = true
        setImmediate(() => {
          this.commitScheduled = false
          if (!this.committing && this.queue.length > 0) this.committing = this.commitLoop()
        })
      }
    })
  }

  private async commitLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.length <= MAX_GROUP ? this.queue : this.queue.slice(0, MAX_GROUP)
      this.queue = this.queue.length <= MAX_GROUP ? [] : this.queue.slice(MAX_GROUP)
      let offsets: number[]
      try {
        offsets = await this.log.write(group.map((p) => p.payload))
      } catch (err) {
        this.failQueued(group, err)
        continue
      }
      // The sync and the index write run side by side; the group is acknowledged when both are
      // done. The index may thus briefly lead the durable log: after a power loss that shows as
      // `indexedTo` past the end of the log, and the indexes are rebuilt.
      const syncing = this.log.sync(offsets[0]!)
      const located: Located[] = new Array(group.length)
      const indexing = this.exclusive(async () => {
        const loading = this.seqIndex.load(group.map((p) => p.kvt.value))
        if (loading) await loading
        const touched = new Map<FeedId, StoredState>()
        const batch = this.index.batch()
        for (let i = 0; i < group.length; i++) {
          this.indexRecord(batch, group[i]!.kvt, offsets[i]!, touched)
          located[i] = { offset: offsets[i]!, kvt: group[i]!.kvt }
        }
        await this.writeIndexBatch(batch, touched, this.log.end)
      })
      try {
        const [synced, indexed] = await Promise.allSettled([syncing, indexing])
        if (synced.status === 'rejected') throw synced.reason
        if (indexed.status === 'rejected') throw indexed.reason
      } catch (err) {
        // Durable but not indexed, or indexed but not durable: stop writing; reopening (which
        // re-indexes, or rebuilds when the index leads the log) repairs it.
        this.broken = err instanceof WriteFailedError ? err : new WriteFailedError(err)
        this.logger.error({ err: String(err) }, 'commit failed; database is read-only now')
        this.failQueued(group, this.broken)
        continue
      }
      for (const p of group) {
        const s = this.pendingStates.get(p.kvt.value.author)
        if (s && s.id === p.kvt.key) this.pendingStates.delete(p.kvt.value.author)
      }
      this.events.emit('records', located)
      for (const p of group) p.resolve(p.kvt)
      // A short queue waits one turn of the event loop, so that writes arriving meanwhile (from
      // the network, say) share its sync instead of each small group paying for one.
      if (this.queue.length > 0 && this.queue.length < EAGER_GROUP) {
        await new Promise<void>((r) => setImmediate(r))
      }
    }
    this.committing = null
  }

  /**
   * Runs `fn` once the index writes before it are done, and before the ones after it; at once
   * (its synchronous part before this returns) when none is running, as is usual for a commit.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.indexTurns === 0 ? fn() : this.indexTurn.then(fn)
    this.indexTurns++
    this.indexTurn = run.then(
      () => {
        this.indexTurns--
      },
      () => {
        this.indexTurns--
      },
    )
    return run
  }

  /** Fails `group` and everything queued after it, and forgets their pending feed states. */
  private failQueued(group: Pending[], err: unknown): void {
    const rest = this.queue
    this.queue = []
    const error = err instanceof WriteFailedError ? err : new WriteFailedError(err)
    for (const p of [...group, ...rest]) {
      this.pendingStates.delete(p.kvt.value.author)
      p.reject(error)
    }
  }

  /**
   * Signs `content` as the next message of our feed and stores it. Content with `recps` is
   * boxed to them first (§5.1). Resolves with the stored `{key, value, timestamp}` once it is
   * durable.
   */
  async publish(content: unknown): Promise<KVT> {
    this.assertOpen()
    // Not `await this.ready()`: unless a rebuild runs, the message must be signed and queued in
    // this same tick, so that publishes keep their call order and `close()` waits for them.
    while (this.rebuilding) await this.rebuilding
    let c = content
    // As ssb-db 20: only a truthy `recps` asks for boxing.
    if (typeof content === 'object' && content !== null && (content as { recps?: unknown }).recps) {
      c = boxRecps(content as Record<string, unknown>)
    }
    const created = createMessage(
      this.stateOf(this.id) ?? null,
      this.keys,
      c as Record<string, unknown> | string,
      monotonicTimestamp(),
      { hmacKey: this.hmacKey },
    )
    return this.enqueue(created.id, created.value, created.json)
  }

  /**
   * Validates `msg` as the next message of its feed and stores it; resolves once it is durable.
   * Rejects with the validation error (from `@scuttlekit/ssb-validate`) when it is not valid; a
   * fork marks the feed forked. Concurrent calls are validated together, with their signatures
   * checked on every core.
   */
  add(msg: unknown): Promise<KVT> {
    return new Promise<KVT>((resolve, reject) => {
      if (this.closed) return reject(new DatabaseClosedError())
      this.submit([msg], (results) => {
        const r = results[0]!
        if (r instanceof Promise) r.then(resolve, reject)
        else reject(r)
      })
    })
  }

  /**
   * Validates and stores many messages (of any feeds, each feed in order), verifying signatures
   * on all cores. Never throws for bad messages: the result says, per message, what was stored
   * or why not. Forks mark their feed forked.
   */
  async addBatch(msgs: readonly unknown[]): Promise<AddResult[]> {
    this.assertOpen()
    const results = await new Promise<(Error | Promise<KVT>)[]>((resolve) =>
      this.submit(msgs, resolve),
    )
    // Settle every commit promise at once, so that none is ever left rejected without a handler.
    return Promise.all(
      results.map((r): AddResult | Promise<AddResult> =>
        r instanceof Promise
          ? r.then(
              (kvt) => ({ ok: true, kvt }),
              (error: Error) => ({ ok: false, error }),
            )
          : { ok: false, error: r },
      ),
    )
  }

  /** Queues messages for validation; `done` gets, per message, an error or its commit promise. */
  private submit(msgs: readonly unknown[], done: (results: (Error | Promise<KVT>)[]) => void) {
    if (msgs.length === 0) return done([])
    this.incoming.push({ msgs, done, results: new Array(msgs.length), taken: 0, left: msgs.length })
    if (!this.validating) this.validating = this.validateLoop()
    else if (this.wake) {
      // start a round with everything submitted in this tick, not one per message
      const wake = this.wake
      this.wake = null
      setImmediate(wake)
    }
  }

  /**
   * Validates submitted messages in rounds of up to {@link ROUND}, with up to
   * {@link ROUNDS_IN_FLIGHT} rounds' signatures checked at once on every core. Each round chains
   * on the states the rounds before it are expected to leave; rounds settle (and are queued for
   * commit) strictly in order, each against the real states, so a bad signature in one round
   * only costs the later rounds a re-check of that feed on this thread.
   */
  private async validateLoop(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r))
    while (this.rebuilding) await this.rebuilding
    const inFlight: Round[] = []
    for (;;) {
      while (inFlight.length < ROUNDS_IN_FLIGHT && this.incoming.length > 0) {
        inFlight.push(this.beginRound())
      }
      const head = inFlight[0]
      if (!head) break
      if (!head.verifiedYet) {
        // wait for the oldest round's signatures, or for new messages to start a round with
        const woken = new Promise<void>((r) => {
          this.wake = r
        })
        await Promise.race([head.verified, woken])
        this.wake = null
        continue
      }
      inFlight.shift()
      await this.settleRound(head)
    }
    this.validating = null
  }

  /** Takes up to {@link ROUND} submitted messages and starts checking their signatures. */
  private beginRound(): Round {
    const parts: Round['parts'] = []
    const msgs: unknown[] = []
    while (this.incoming.length > 0 && msgs.length < ROUND) {
      const sub = this.incoming[0]!
      const count = Math.min(sub.msgs.length - sub.taken, ROUND - msgs.length)
      const from = sub.taken
      for (let i = 0; i < count; i++) msgs.push(sub.msgs[from + i])
      parts.push({ sub, from, count })
      sub.taken += count
      if (sub.taken === sub.msgs.length) this.incoming.shift()
    }
    const state = (feed: FeedId): FeedState | undefined =>
      this.forked.has(feed) ? undefined : (this.expected.get(feed)?.state ?? this.stateOf(feed))
    let batch: PendingBatch | undefined
    let error: Error | undefined
    try {
      batch = beginBatch(msgs, { hmacKey: this.hmacKey, pool: this.verifyPool, state })
    } catch (err) {
      error = asError(err)
    }
    const round: Round = { msgs, parts, batch, error, verifiedYet: false, verified: undefined! }
    round.verified = (batch ? batch.verified : Promise.resolve()).then(
      () => {
        round.verifiedYet = true
      },
      (err: unknown) => {
        round.error = asError(err)
        round.verifiedYet = true
      },
    )
    if (batch) for (const [feed, s] of batch.expected) this.expected.set(feed, { state: s, round })
    return round
  }

  /** Settles a verified round against the real feed states, queues its messages for commit. */
  private async settleRound(round: Round): Promise<void> {
    let results: (Error | Promise<KVT>)[]
    try {
      if (round.error) throw round.error
      const state = (feed: FeedId) => (this.forked.has(feed) ? undefined : this.stateOf(feed))
      results = await this.enqueueVerdicts(round.msgs, round.batch!.settle(state).verdicts)
    } catch (err) {
      const error = asError(err)
      results = round.msgs.map(() => error)
    }
    if (round.batch) {
      for (const feed of round.batch.expected.keys()) {
        if (this.expected.get(feed)?.round === round) this.expected.delete(feed)
      }
    }
    let at = 0
    for (const { sub, from, count } of round.parts) {
      for (let i = 0; i < count; i++) sub.results[from + i] = results[at + i]!
      at += count
      sub.left -= count
      if (sub.left === 0) sub.done(sub.results)
    }
  }

  /**
   * Queues the accepted messages of a settled round for commit, in order; a message whose feed
   * moved on meanwhile (a publish) is validated again against the feed as it is now.
   */
  private async enqueueVerdicts(
    msgs: readonly unknown[],
    verdicts: readonly Verdict[],
  ): Promise<(Error | Promise<KVT>)[]> {
    const options = { hmacKey: this.hmacKey }
    const results: (Error | Promise<KVT>)[] = new Array(msgs.length)
    const forkedNow = new Set<FeedId>()
    for (let i = 0; i < msgs.length; i++) {
      const author = (msgs[i] as { author?: unknown } | null)?.author
      if (isFeedId(author) && (this.forked.has(author) || forkedNow.has(author))) {
        results[i] = new ForkedFeedError(author)
        continue
      }
      const now = isFeedId(author) ? this.stateOf(author) : undefined
      let v: Verdict | undefined = verdicts[i]
      if (v?.ok) {
        // Other writes (publish) may have advanced the feed while the batch was being verified.
        const chained = now
          ? now.sequence === v.value.sequence - 1 && now.id === v.value.previous
          : v.value.sequence === 1
        if (!chained) v = undefined
      }
      v ??= validateMessage(now, msgs[i], options)
      if (v.ok) {
        const committed = this.enqueue(v.id, v.value, v.json)
        // handled here so that a failed commit is never an unhandled rejection while the
        // caller's handler is not attached yet; the caller still sees the rejection
        committed.catch(() => {})
        results[i] = committed
      } else {
        // ssb-validate reports a fork before it looks at the signature; only the author can fork
        // a feed, so a "fork" that is not validly signed must not disable the feed for good
        if (v.error instanceof ForkError && isFeedId(author) && this.signedByAuthor(msgs[i])) {
          forkedNow.add(author)
        }
        results[i] = v.error
      }
    }
    for (const feed of forkedNow) await this.markForked(feed)
    return results
  }

  /** Whether a message's signature is its author's (every stateless check passing too). */
  private signedByAuthor(msg: unknown): boolean {
    const hmac = resolveHmacKey(this.hmacKey)
    if (hmac instanceof Error) return false
    const prepared = prepare(msg, hmac)
    if (prepared.pre || prepared.post || prepared.curve || !prepared.signature) return false
    return verifyPrepared(prepared)
  }

  private async markForked(feed: FeedId): Promise<void> {
    if (this.forked.has(feed)) return
    this.forked.add(feed)
    this.logger.warn({ feed }, 'feed forked; no more of its messages will be stored')
    this.dirty = true
    await this.index.put(Buffer.from(`X${feed}`, 'utf8'), Buffer.alloc(0))
  }

  /** Whether `feed` was seen forking. */
  isForked(feed: FeedId): boolean {
    return this.forked.has(feed)
  }

  /** Resolves once every queued write is committed (or failed). */
  async flush(): Promise<void> {
    while (this.validating || this.committing || this.queue.length > 0) {
      if (this.validating) await this.validating
      else if (this.committing) await this.committing
      else await new Promise<void>((r) => setImmediate(r))
    }
  }

  // ---------------------------------------------------------------- reading one record

  /** The offset of message `id`, or `undefined`. */
  async offsetOf(id: string): Promise<number | undefined> {
    const v = await this.index.get(keyIndexKey(id))
    return v === undefined ? undefined : decodeOffset(v)
  }

  /** Reads and parses the record at `offset`; `null` when deleted. Throws on damage. */
  async readAt(offset: number): Promise<KVT | null> {
    const payload = await this.log.read(offset)
    return payload === null ? null : (JSON.parse(payload.toString('utf8')) as KVT)
  }

  /**
   * `get(id)` → the message value; `get({id, meta: true})` → `{key, value, timestamp}`;
   * `private: true` decrypts a message for us; an id with `?unbox=<key>` decrypts with that key.
   * Unknown ids throw {@link MessageNotFoundError}.
   */
  async get(
    arg: string | { id: string; private?: boolean; meta?: boolean; unbox?: string },
  ): Promise<KVT<unknown> | MsgValue | unknown> {
    this.assertOpen()
    const opts = typeof arg === 'string' ? { id: arg } : arg
    if (typeof opts !== 'object' || opts === null || typeof opts.id !== 'string') {
      throw new InvalidArgumentError('get expects a message id or {id, private?, meta?}')
    }
    let id = opts.id
    let readKey = (opts as { unbox?: unknown }).unbox as string | undefined
    let meta = opts.meta === true
    const q = id.indexOf('?')
    if (q !== -1) {
      // `%id?unbox=<key>&meta=1`, as ssb-ref links carry it (a `+` may arrive as a space)
      const query = new URLSearchParams(id.slice(q + 1).replace(/\+/g, '%2B'))
      id = id.slice(0, q)
      const key = query.get('unbox')
      if (key) readKey = key.replace(/ /g, '+')
      if (query.get('meta')) meta = true
    }
    if (!isMsgId(id)) throw new MessageNotFoundError(id)
    const offset = await this.offsetOf(id)
    if (offset === undefined) throw new MessageNotFoundError(id)
    const kvt = await this.readAt(offset)
    if (kvt === null || kvt.key !== id) throw new MessageNotFoundError(id)
    const out = readKey
      ? this.unboxer.decorate(kvt, readKey)
      : opts.private
        ? this.unboxer.decorate(kvt)
        : kvt
    return meta ? out : out.value
  }

  // ---------------------------------------------------------------- feed state

  /** `latestSequence(feed)`: the sequence of the latest stored message of `feed`. */
  async latestSequence(feed: string): Promise<number> {
    await this.ready()
    const s = this.states.get(feed as FeedId)
    if (!s) throw new FeedNotFoundError(feed)
    return s.sequence
  }

  /** `getLatest(feed)`: `{key, value}` of its latest stored message, or `undefined`. */
  async getLatest(feed: string): Promise<{ key: MsgId; value: MsgValue } | undefined> {
    await this.ready()
    const s = this.states.get(feed as FeedId)
    if (!s) return undefined
    const offset = s.offset ?? (await this.offsetOf(s.id))
    // the latest message was deleted: as the reference, say so rather than pretend
    if (offset === undefined) throw new MessageNotFoundError(s.id)
    const kvt = await this.readAt(offset)
    if (!kvt || kvt.key !== s.id) throw new MessageNotFoundError(s.id)
    return { key: kvt.key, value: kvt.value }
  }

  /**
   * `getAtSequence([feed, sequence])`: the stored `{key, value, timestamp}` of that message (as
   * ssb-ebt asks for it), never decrypted. Anything else is not found, as in the reference.
   */
  async getAtSequence(arg: unknown): Promise<KVT> {
    this.assertOpen()
    const parts = Array.isArray(arg) ? arg : typeof arg === 'string' ? arg.split(':') : [arg]
    const [feed, seq] = parts as [unknown, unknown]
    const block =
      isFeedId(feed) && typeof seq === 'number' && Number.isInteger(seq) && seq >= 1
        ? await this.index.get(blockKey(feed, blockOf(seq)))
        : undefined
    const offset = block === undefined ? 0 : offsetIn(block, seq as number)
    const kvt = offset === 0 ? null : await this.readAt(offset)
    if (!kvt) throw new MessageNotFoundError(parts.map(safeString).join(','))
    if (kvt.value.author !== feed || kvt.value.sequence !== seq) {
      this.reportMisindexed(offset, `${feed}:${seq}`)
      throw new MessageNotFoundError(parts.map(safeString).join(','))
    }
    return kvt
  }

  /** `getFeedState(feed)`: `{id, sequence}` including queued writes; `{id: null, sequence: 0}`. */
  async getFeedState(feed: string): Promise<{ id: MsgId | null; sequence: number }> {
    await this.ready()
    const s = this.stateOf(feed as FeedId)
    return s ? { id: s.id, sequence: s.sequence } : { id: null, sequence: 0 }
  }

  /** `getVectorClock()`: `{feedId: latest sequence}` of every stored feed. */
  async getVectorClock(): Promise<Record<FeedId, number>> {
    await this.ready()
    const out: Record<string, number> = {}
    for (const [feed, s] of this.states) out[feed] = s.sequence
    return out
  }

  /** The stored feed states (for replication). */
  feeds(): ReadonlyMap<FeedId, FeedInfo> {
    return this.states
  }

  // ---------------------------------------------------------------- streams (plumbing)

  /** Subscribes to committed records; returns the unsubscribe function. */
  onRecords(fn: (records: Located[]) => void): () => void {
    this.events.on('records', fn)
    return () => this.events.off('records', fn)
  }

  /** The log position up to which records are committed and indexed. */
  get committedEnd(): number {
    return this.indexedTo
  }

  /** A reader of the log for one stream (`window` bytes of read-ahead). */
  reader(window?: number): LogReader {
    return this.log.reader(window)
  }

  /** The offset of the first entry of an index range, or -1. */
  async firstOffset(range: {
    gt?: Buffer
    gte?: Buffer
    lt?: Buffer
    lte?: Buffer
  }): Promise<number> {
    const it = this.indexIterator(range)
    try {
      const first = await it.next()
      return first === undefined ? -1 : decodeOffset(first[1])
    } finally {
      await it.close()
    }
  }

  /** A raw iterator over one index (keys when asked for, offsets as values). */
  indexIterator(range: {
    gt?: Buffer
    gte?: Buffer
    lt?: Buffer
    lte?: Buffer
    reverse?: boolean
    keys?: boolean
  }) {
    return this.index.iterator({
      ...(range.gt ? { gt: range.gt } : {}),
      ...(range.gte ? { gte: range.gte } : {}),
      ...(range.lt ? { lt: range.lt } : {}),
      ...(range.lte ? { lte: range.lte } : {}),
      reverse: range.reverse ?? false,
      keys: range.keys ?? false,
    })
  }

  /** Logs (once per stream) and skips a damaged record. */
  reportCorrupt(offset: number, err: unknown): void {
    this.logger.warn({ offset, err: String(err) }, 'damaged log record not served')
  }

  /** An index entry pointed at a record that is not the one it names: not served. */
  reportMisindexed(offset: number, wanted: string): void {
    this.logger.warn({ offset, wanted }, 'index points at another message; not served')
  }

  /** A live queue fed by committed records matching `map`; closed with the database. */
  liveQueue<T>(map: (rec: Located) => T | undefined): AsyncQueue<T> {
    const queue: AsyncQueue<T> = new AsyncQueue<T>(() => off())
    const off = this.onRecords((records) => {
      for (const rec of records) {
        const item = map(rec)
        if (item === undefined) continue
        if (queue.size >= this.maxLiveQueue) {
          off()
          queue.fail(new SlowConsumerError(this.maxLiveQueue))
          return
        }
        queue.push(item)
      }
    })
    const onClose = (): void => queue.end()
    this.events.once('close', onClose)
    return queue
  }

  // ---------------------------------------------------------------- streams

  /** Every message in receive order (ranges on the receive timestamp). */
  createLogStream(opts: StreamOptions = {}) {
    this.assertOpen()
    return streams.createLogStream(this, opts)
  }

  /** One feed in sequence order from `seq` (inclusive); never decrypted. */
  createHistoryStream(
    opts: (StreamOptions & { id?: string; seq?: number; sequence?: number }) | string,
    seq?: number,
    live?: boolean,
  ) {
    this.assertOpen()
    return streams.createHistoryStream(this, opts, seq, live)
  }

  /** One feed with ranges on the sequence. */
  createUserStream(opts: StreamOptions & { id?: string }) {
    this.assertOpen()
    return streams.createUserStream(this, opts)
  }

  /** Every message ordered by claimed timestamp; items carry `rts`. */
  createFeedStream(opts: StreamOptions = {}) {
    this.assertOpen()
    return streams.createFeedStream(this, opts)
  }

  /** Messages of one content type. */
  messagesByType(arg: string | (StreamOptions & { type?: string })) {
    this.assertOpen()
    return streams.messagesByType(this, arg)
  }

  /** The link index. */
  links(opts: streams.LinksOptions) {
    this.assertOpen()
    return streams.links(this, opts)
  }

  /** `{id, sequence, ts}` of every stored feed. */
  latest() {
    this.assertOpen()
    return streams.latest(this)
  }

  // ---------------------------------------------------------------- maintenance

  /**
   * Deletes a message (`%…`) or a whole feed (`@…`, not our own) locally: the records' bytes
   * are zeroed in the log and their index entries removed. As in ssb-db 20 the feed's state
   * stays, so replication goes on after it. Returns the deleted keys of a feed.
   */
  async del(id: string): Promise<MsgId[] | undefined> {
    await this.ready()
    await this.flush()
    if (isMsgId(id)) {
      const offset = await this.offsetOf(id)
      if (offset === undefined) throw new MessageNotFoundError(id)
      await this.deleteRecords([offset])
      return undefined
    }
    if (isFeedId(id)) {
      if (id === this.id) {
        // Forgetting our own feed would make the next publish start a second history at 1.
        throw new InvalidArgumentError('refusing to delete our own feed: we would fork it')
      }
      const feedKeys = indexKey('c', [id])
      const blocks = await this.indexIterator({ gte: feedKeys, lt: pastPrefix(feedKeys) }).all()
      const offsets: number[] = []
      for (const [, block] of blocks) {
        for (let i = 0, n = slotsIn(block); i < n; i++) {
          const offset = slotAt(block, i)
          if (offset !== 0) offsets.push(offset)
        }
      }
      // As in ssb-db 20, the feed's state stays: replication goes on from its latest sequence
      // instead of fetching what was deleted again.
      return this.deleteRecords(offsets)
    }
    throw new InvalidArgumentError(`del expects a message id or a feed id: ${safeString(id)}`)
  }

  /** Removes the records' index entries, then zeroes them in the log; returns their keys. */
  private deleteRecords(offsets: number[]): Promise<MsgId[]> {
    return this.exclusive(async () => {
      const batch = this.index.batch()
      this.dirty = true
      const found: [number, KVT][] = []
      for (const offset of offsets) {
        const kvt = await this.readAt(offset).catch(() => null)
        if (kvt) found.push([offset, kvt])
      }
      await this.seqIndex.load(
        found.map(([, kvt]) => kvt.value),
        true,
      )
      for (const [offset, kvt] of found) {
        for (const k of this.entriesOf(kvt, offset)) batch.del(k)
        this.seqIndex.set(kvt.value.author, kvt.value.sequence, 0)
      }
      await this.writeWithBlocks(batch)
      for (const [offset] of found) await this.log.delete(offset).catch(() => {})
      return found.map(([, kvt]) => kvt.key)
    })
  }

  /** Drops every index and rebuilds it from the log. */
  async rebuild(): Promise<void> {
    this.assertOpen()
    if (this.rebuilding) return this.rebuilding
    const run = async () => {
      await this.flush()
      await this.exclusive(() => this.rebuildIndexes())
    }
    this.rebuilding = run().finally(() => {
      this.rebuilding = null
    })
    return this.rebuilding
  }

  private async rebuildIndexes(): Promise<void> {
    const forked = [...this.forked]
    const before = new Map(this.states)
    await this.index.clear()
    this.seqIndex.clear()
    this.states.clear()
    this.pendingStates.clear()
    this.lastReceive = 0
    await this.catchUp(LOG_START, false)
    // A feed's state never goes back (its latest messages may have been deleted or damaged):
    // for our own feed, publishing from an older state would fork it.
    const restore = this.index.batch()
    for (const [feed, old] of before) {
      const now = this.states.get(feed)
      if (now && now.sequence >= old.sequence) continue
      this.states.set(feed, old)
      restore.put(...stateEntry(feed, old))
    }
    await restore.write()
    for (const feed of forked) {
      this.forked.delete(feed)
      await this.markForked(feed)
    }
  }

  /** Whether the database is closed (or closing). */
  get isClosed(): boolean {
    return this.closed
  }

  /** `progress()`: how far the indexes are behind the log. */
  progress(): { indexes: IndexProgress } {
    return {
      indexes: { start: this.progressStart, current: this.indexedTo, target: this.log.end },
    }
  }

  /** `status()`: progress plus where the log and indexes stand. */
  status(): {
    progress: { indexes: IndexProgress }
    sync: { since: number; plugins: Record<string, number>; sync: boolean }
  } {
    return {
      progress: this.progress(),
      sync: {
        since: this.log.end,
        // the reference's view names, each as far as our indexes are
        plugins: Object.fromEntries(
          ['last', 'keys', 'clock', 'time', 'feed', 'links'].map((v) => [v, this.indexedTo]),
        ),
        sync: this.indexedTo >= this.log.end,
      },
    }
  }

  /** Waits for queued writes, then closes the log and indexes. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await this.flush()
        this.closed = true
        this.events.emit('close')
        // Flush leveldb's memtable to a table file: compacting a key range that holds no keys
        // does only that. The write-ahead log is then empty, so the next open has nothing to
        // replay and answers at once.
        if (this.dirty) {
          await this.index.compactRange(Buffer.from([0xfe]), Buffer.from([0xfe])).catch(() => {})
        }
        await this.index.close()
        await this.log.close()
      })()
    }
    return this.closing
  }
}

/** `err` if it is an Error, else an Error that says what was thrown. */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/** Boxes content with `recps` as ssb-db 20 with ssb-private1 does (§5.1). */
function boxRecps(content: Record<string, unknown>): string {
  let recps = content.recps
  if (typeof recps === 'string') {
    recps = [recps]
    content = { ...content, recps }
  }
  if (!Array.isArray(recps)) {
    throw new RecipientsError('private message field "recps" expects an Array of recipients')
  }
  if (recps.length === 0) {
    throw new RecipientsError('private message field "recps" requires at least one recipient')
  }
  const ids = recps.map((r) =>
    typeof r === 'object' && r !== null ? (r as { link?: unknown }).link : r,
  )
  if (!ids.every(isFeedId)) {
    let shown: string
    try {
      shown = JSON.stringify(recps)
    } catch {
      shown = describe(recps) // too deep for JSON.stringify
    }
    throw new RecipientsError(
      `private message requested, but no boxers could encrypt these recps: ${shown}`,
    )
  }
  // as createMessage does for plain content: JSON that cannot be made is an error of its own
  try {
    JSON.stringify(content)
  } catch (err) {
    throw new UnserialisableContentError(err instanceof Error ? err.message : String(err))
  }
  return boxContent(content, ids)
}

async function openIndex(
  indexPath: string,
  dbPath: string,
  logger: Logger,
): Promise<ClassicLevel<Buffer, Buffer>> {
  const make = () =>
    new ClassicLevel<Buffer, Buffer>(indexPath, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  // Without CURRENT, leveldb creates a new database and replays only its write-ahead log into it:
  // a partial index whose meta key still claims to be complete. Start over instead.
  if (existsSync(indexPath) && !existsSync(join(indexPath, 'CURRENT'))) {
    let entries: string[] = []
    try {
      entries = readdirSync(indexPath)
    } catch {}
    if (entries.length > 0) {
      logger.warn({ path: indexPath }, 'index directory has no CURRENT file; rebuilding it')
      rmSync(indexPath, { recursive: true, force: true })
    }
  }
  let index = make()
  try {
    await index.open()
    return index
  } catch (err) {
    if (hasLevelCode(err, 'LEVEL_LOCKED')) throw new DatabaseLockedError(dbPath)
    if (!hasLevelCode(err, 'LEVEL_CORRUPTION') && !hasLevelCode(err, 'LEVEL_IO_ERROR')) throw err
    // The indexes are derived data: a damaged index directory is thrown away and rebuilt.
    logger.warn({ path: indexPath, err: String(err) }, 'index directory unreadable; rebuilding it')
    rmSync(indexPath, { recursive: true, force: true })
    index = make()
    await index.open()
    return index
  }
}

/** Whether a classic-level error (or the error it wraps) has `code`. */
function hasLevelCode(err: unknown, code: string): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | null
  return e?.code === code || e?.cause?.code === code
}

/** Opens (creating if needed) the database at `options.path`. */
export function openDb(options: DbOptions): Promise<SsbDb> {
  return SsbDb.open(options)
}

export { ValidationError }
