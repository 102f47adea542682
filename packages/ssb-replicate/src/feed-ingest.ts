/**
 * The intake of one feed: messages from every peer's stream for that feed meet here, are
 * de-duplicated by sequence *before* any signature is checked, chained, and handed to the
 * database in batches (`db.addBatch`, which verifies signatures on every core).
 *
 * The rules, in order of cost (`bad-inputs.md` §8):
 * 1. A sequence we hold or have already accepted from another stream is skipped: the same
 *    message from ten peers, or ten thousand times, is one comparison each.
 * 2. The message that extends our chain must name our head as `previous` (its id, sha256 of
 *    its JSON, is computed here: 4 µs against 66 µs for a signature). A message that does not
 *    is never handed to the database unverified: its signature is checked here first, and only
 *    a validly signed one counts as a fork. (`ssb-validate` reports a fork before it checks the
 *    signature, and the database marks a feed forked on that report, so an unsigned "fork"
 *    would otherwise disable a feed.)
 * 3. Everything else is the database's verdict. The first failure in chain order is the
 *    culprit; the failures after it are consequences and blame nobody. Claims made after the
 *    culprit are dropped, and streams that had skipped past that point are restarted from
 *    what is stored, without penalty.
 */

import type { AddResult, SsbDb } from '@scuttlekit/ssb-db'
import { messageId } from '@scuttlekit/ssb-keys'
import type { FeedId, MsgId } from '@scuttlekit/ssb-ref'
import { prepare, verifyPrepared } from '@scuttlekit/ssb-validate'
import type { RejectReason } from './types.js'

/** What the intake needs to know of a stream that feeds it. */
export interface IngestStream {
  /** the sequence the stream will deliver next (after the one being offered) */
  readonly next: number
  readonly done: boolean
}

/** What the intake needs from the replicator around it. */
export interface IngestContext<S extends IngestStream> {
  readonly db: SsbDb
  /** `caps.sign` as bytes, `null` on the main network */
  readonly hmacKey: Uint8Array | null
  readonly batchSize: number
  readonly maxInflight: number
  closing(): boolean
  /** drops a stream for misbehaviour (logged once, not asked again in the session) */
  reject(stream: S, reason: RejectReason, detail: Record<string, unknown>): void
  /** drops a stream and asks the same peer again from what we hold, without penalty */
  restart(stream: S): void
  /** the database marked the feed forked: stop everything about it */
  forked(feed: FeedId): void
  /** `count` messages of `stream` were stored */
  stored(stream: S, count: number): void
  /** messages were skipped as already held */
  skipped(count: number): void
  /** the number of buffered (accepted, not yet submitted) messages changed by `delta` */
  buffered(delta: number): void
  /** the database failed for a reason that is nobody's fault (closed, disk) */
  dbFailure(feed: FeedId, err: unknown): void
}

interface Claim<S> {
  msg: object
  seq: number
  stream: S
  epoch: number
}

interface Parked<S> {
  stream: S
  msg: Record<string, unknown>
  seq: number
  epoch: number
  resolve: () => void
}

/** Errors of the database that mean "your state was stale", not "this message is bad". */
const STALE = new Set(['DuplicateMessageError', 'OldMessageError', 'SequenceGapError'])
/** Errors that are the database's own trouble. */
const LOCAL = new Set(['DatabaseClosedError', 'WriteFailedError'])

/** The intake of one feed; see the module comment. */
export class FeedIngest<S extends IngestStream> {
  /** the latest sequence the database holds, as far as we know */
  validSeq: number
  private validId: MsgId | null
  /** the next sequence we accept; everything below it is held or claimed */
  nextSeq: number
  private headId: MsgId | null
  /** the highest sequence any stream offered (for `changes().total`) */
  highest: number
  forked: boolean
  /** the streams feeding this intake */
  readonly streams = new Set<S>()
  private buffer: Claim<S>[] = []
  private inflight = 0
  private epoch = 0
  private settled: Promise<void> = Promise.resolve()
  private flushScheduled = false
  private parked: Parked<S>[] = []
  private detached = false

  constructor(
    readonly feed: FeedId,
    private readonly ctx: IngestContext<S>,
  ) {
    const s = ctx.db.feeds().get(feed)
    this.validSeq = s?.sequence ?? 0
    this.validId = s?.id ?? null
    this.nextSeq = this.validSeq + 1
    this.headId = this.validId
    this.highest = this.validSeq
    this.forked = ctx.db.isForked(feed)
  }

  /** Accepted messages not yet handed to the database. */
  get bufferedCount(): number {
    return this.buffer.length
  }

  /**
   * Takes the message with sequence `seq` from `stream` (already checked to be of this feed and
   * the stream's next). Returns a Promise when the stream must wait before it sends more: its
   * message does not chain on a head that is itself not yet validated.
   */
  offer(stream: S, msg: Record<string, unknown>, seq: number): Promise<void> | undefined {
    if (this.forked || this.detached) return undefined
    if (seq > this.highest) this.highest = seq
    if (seq < this.nextSeq) {
      this.ctx.skipped(1)
      return undefined
    }
    if (seq > this.nextSeq) {
      // only after a rollback: this stream had skipped past the point we fell back to
      this.ctx.restart(stream)
      return undefined
    }
    if (seq > 1 && msg.previous !== this.headId) {
      if (this.nextSeq - 1 === this.validSeq) {
        this.judgeChainBreak(stream, msg, seq)
        return undefined
      }
      // our head is only claimed; whether this is a fork depends on whether the head holds
      return new Promise((resolve) => {
        this.parked.push({ stream, msg, seq, epoch: this.epoch, resolve })
      })
    }
    let id: MsgId
    try {
      id = messageId(msg)
    } catch {
      this.ctx.reject(stream, 'junk', { sequence: seq })
      return undefined
    }
    this.claim(stream, msg, seq, id)
    return undefined
  }

  private claim(stream: S, msg: object, seq: number, id: MsgId): void {
    this.buffer.push({ msg, seq, stream, epoch: this.epoch })
    this.ctx.buffered(1)
    this.nextSeq = seq + 1
    this.headId = id
    if (this.buffer.length >= this.ctx.batchSize) this.flush()
    else this.scheduleFlush()
  }

  /**
   * A message at our next sequence that names another `previous` than the message we hold:
   * verified here, so that only a validly signed one reaches the database as a fork.
   */
  private judgeChainBreak(stream: S, msg: Record<string, unknown>, seq: number): void {
    const p = prepare(msg, this.ctx.hmacKey)
    const early = p.pre ?? p.post ?? p.curve
    if (early) {
      this.ctx.reject(stream, 'invalid', { sequence: seq, error: early.name })
      return
    }
    if (!verifyPrepared(p)) {
      this.ctx.reject(stream, 'bad-signature', { sequence: seq })
      return
    }
    this.ctx.reject(stream, 'fork', { sequence: seq, previous: describeValue(msg.previous) })
    // The database records the fork when the message is the one after what it holds.
    if (this.validSeq === seq - 1 && this.nextSeq === seq && !this.forked) {
      this.claim(stream, msg, seq, p.id!)
      this.flush()
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => {
      this.flushScheduled = false
      this.flush()
    })
  }

  /** Hands buffered claims to the database, at most `maxInflight` batches at a time. */
  private flush(): void {
    while (
      this.buffer.length > 0 &&
      this.inflight < this.ctx.maxInflight &&
      !this.forked &&
      !this.ctx.closing()
    ) {
      const batch = this.buffer.splice(0, this.ctx.batchSize)
      this.ctx.buffered(-batch.length)
      this.submit(batch)
    }
  }

  private submit(batch: Claim<S>[]): void {
    this.inflight++
    const pending = this.ctx.db.addBatch(batch.map((c) => c.msg))
    // results are handled in submission order, whatever order the promises settle in; a link
    // that fails must not stop the ones after it
    this.settled = this.settled
      .then(() => this.settle(batch, pending))
      .catch((err) => this.ctx.dbFailure(this.feed, err))
  }

  private async settle(batch: Claim<S>[], pending: Promise<AddResult[]>): Promise<void> {
    let results: AddResult[] | undefined
    try {
      results = await pending
    } catch (err) {
      this.ctx.dbFailure(this.feed, err)
    } finally {
      this.inflight--
    }
    if (results) this.onResults(batch, results)
    else this.resync()
    this.checkParked()
    this.flush()
  }

  private onResults(batch: Claim<S>[], results: AddResult[]): void {
    let stored = 0
    let by: S | undefined
    for (let i = 0; i < batch.length; i++) {
      const claim = batch[i]!
      const r = results[i]
      if (r?.ok) {
        this.observe(claim.seq, r.kvt.key as MsgId)
        if (by !== claim.stream) {
          if (by && stored) this.ctx.stored(by, stored)
          by = claim.stream
          stored = 0
        }
        stored++
        continue
      }
      // Only the first failure in chain order of the current epoch blames anyone.
      if (claim.epoch !== this.epoch) continue
      this.onFailure(claim, r ? r.error : new Error('no result'))
    }
    if (by && stored) this.ctx.stored(by, stored)
  }

  private onFailure(claim: Claim<S>, error: Error): void {
    const name = error.name
    if (name === 'ForkError' || name === 'ForkedFeedError') {
      if (name === 'ForkError') this.ctx.reject(claim.stream, 'fork', { sequence: claim.seq })
      this.markForked()
      return
    }
    if (STALE.has(name)) {
      this.resync()
      return
    }
    if (LOCAL.has(name)) {
      this.ctx.dbFailure(this.feed, error)
      this.resync()
      return
    }
    const reason: RejectReason = name === 'InvalidSignatureError' ? 'bad-signature' : 'invalid'
    this.ctx.reject(claim.stream, reason, {
      sequence: claim.seq,
      error: name,
      message: error.message.slice(0, 200),
    })
    this.resync()
  }

  /**
   * The database holds `seq` with id `key` (a batch result, or a record some other writer
   * committed). Advances our view; a writer that overtook our claims forces a resync.
   */
  observe(seq: number, key: MsgId): void {
    if (seq <= this.validSeq) return
    this.validSeq = seq
    this.validId = key
    if (seq > this.highest) this.highest = seq
    if (seq >= this.nextSeq) this.resync()
  }

  /**
   * Falls back to what the database holds: drops claims not yet submitted, starts a new epoch
   * (so failures of claims in flight blame nobody), restarts streams that were past that point.
   */
  resync(): void {
    const s = this.ctx.db.feeds().get(this.feed)
    if (s && s.sequence > this.validSeq) {
      this.validSeq = s.sequence
      this.validId = s.id
    }
    this.epoch++
    if (this.buffer.length) {
      this.ctx.buffered(-this.buffer.length)
      this.buffer = []
    }
    this.nextSeq = this.validSeq + 1
    this.headId = this.validId
    for (const st of [...this.streams]) if (!st.done && st.next > this.nextSeq) this.ctx.restart(st)
    this.checkParked()
  }

  /** Settles parked streams whose fate is now known. */
  private checkParked(): void {
    if (this.parked.length === 0) return
    const keep: Parked<S>[] = []
    for (const p of this.parked) {
      if (p.stream.done || this.forked || this.detached) p.resolve()
      else if (p.epoch !== this.epoch) {
        p.resolve()
        this.ctx.restart(p.stream)
      } else if (this.validSeq >= p.seq - 1) {
        this.judgeChainBreak(p.stream, p.msg, p.seq)
        p.resolve()
      } else keep.push(p)
    }
    this.parked = keep
  }

  private markForked(): void {
    if (this.forked) return
    this.forked = true
    if (this.buffer.length) {
      this.ctx.buffered(-this.buffer.length)
      this.buffer = []
    }
    this.ctx.forked(this.feed)
    this.checkParked()
  }

  /** The feed is no longer requested: drop what is not yet submitted and release waiters. */
  detach(): void {
    this.detached = true
    if (this.buffer.length) {
      this.ctx.buffered(-this.buffer.length)
      this.buffer = []
    }
    this.checkParked()
  }

  /**
   * Resolves once nothing is left to do: every batch handed to the database answered, and
   * nothing buffered that could still be handed to it.
   */
  async idle(): Promise<void> {
    for (;;) {
      await this.settled
      const stuck = this.forked || this.detached || this.ctx.closing()
      if (this.inflight === 0 && !this.flushScheduled && (this.buffer.length === 0 || stuck)) return
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
}

function describeValue(v: unknown): string {
  const s = typeof v === 'string' ? v : String(JSON.stringify(v))
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}
