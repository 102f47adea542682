/**
 * Batch validation for replication: many messages, possibly of many feeds, validated with the
 * same verdicts as validating them one by one in order, but with the signature checks spread
 * over all cores.
 *
 * 1. Every message is prepared (stateless checks, one serialisation, id, signing input) and
 *    checked against the chain *optimistically*, as if every earlier message were valid.
 * 2. The signatures of those that pass are verified in parallel.
 * 3. A sequential walk settles the verdicts against the real chain state. Only a message whose
 *    optimistic verdict was wrong (an earlier one failed its signature) needs its signature
 *    checked here, on the calling thread.
 */
import type { FeedId } from '@scuttlekit/ssb-ref'
import { InvalidHmacKeyError } from './errors.js'
import type { FeedState } from './types.js'
import {
  checkState,
  nextState,
  type Prepared,
  prepare,
  resolveHmacKey,
  type ValidateOptions,
  type Verdict,
  verdictOf,
} from './validate.js'
import { defaultVerifyPool, type VerifyItem, type VerifyPool } from './verify-pool.js'

/** Messages prepared before their signatures are handed to the pool. */
const SEGMENT = 1024

/** Options of {@link validateBatch}. */
export interface BatchOptions extends ValidateOptions {
  /** the latest accepted message of a feed, or nothing for a feed we do not have */
  state?: (feed: FeedId) => FeedState | null | undefined
  /** where signatures are checked; default: the process-wide pool */
  pool?: VerifyPool
  signal?: AbortSignal
}

/** Verdicts in input order, and the final state of every feed the batch advanced. */
export interface BatchResult {
  verdicts: Verdict[]
  states: Map<FeedId, FeedState>
}

/**
 * A batch whose signature checks are under way ({@link beginBatch}). Several can be in flight at
 * once: a later batch can chain on an earlier one's `expected` states before that one settles.
 */
export interface PendingBatch {
  /**
   * The state every feed of the batch ends in if all its messages that passed the stateless and
   * chain checks also pass their signatures.
   */
  readonly expected: ReadonlyMap<FeedId, FeedState>
  /** Settles when every signature is checked; rejects only when `signal` aborts. */
  readonly verified: Promise<void>
  /**
   * The verdicts, each message against its feed's real state (`state`, then the messages before
   * it in the batch). Call after `verified`. Only a message whose optimistic chain turned out
   * wrong has its signature checked here, on the calling thread.
   */
  settle(state?: (feed: FeedId) => FeedState | null | undefined): BatchResult
}

/**
 * Starts validating `msgs` in order: prepares every message, checks it against the chain as
 * `options.state` and the messages before it would leave it (optimistically, as if every one of
 * them were valid), and hands the signatures of those that pass to the verify pool.
 */
export function beginBatch(msgs: readonly unknown[], options: BatchOptions = {}): PendingBatch {
  const key = resolveHmacKey(options.hmacKey)
  const hmacBytes = key instanceof Uint8Array ? key : null
  const lookup = options.state ?? (() => undefined)
  const prepared: Prepared[] = new Array(msgs.length)
  const verifyIndex = new Int32Array(msgs.length).fill(-1)
  const items: VerifyItem[] = []

  // Segment by segment, so that workers start verifying the first segment while this thread
  // prepares the next one.
  const optimistic = new Map<FeedId, FeedState>()
  const pool = options.pool ?? defaultVerifyPool()
  const sigOk = new Uint8Array(msgs.length)
  const verifying: Promise<void>[] = []
  for (let seg = 0; seg < msgs.length; seg += SEGMENT) {
    const first = items.length
    for (let i = seg; i < Math.min(msgs.length, seg + SEGMENT); i++) {
      const p = prepare(msgs[i], hmacBytes)
      prepared[i] = p
      if (p.pre || p.post || p.curve || key instanceof InvalidHmacKeyError) continue
      const feed = (p.msg as { author: FeedId }).author
      if (checkState(optimistic.has(feed) ? optimistic.get(feed) : lookup(feed), p)) continue
      verifyIndex[i] = items.length
      items.push({ publicKey: p.publicKey!, signature: p.signature!, message: p.signingInput! })
      const value = p.msg as { sequence: number; timestamp: number }
      optimistic.set(feed, { id: p.id!, sequence: value.sequence, timestamp: value.timestamp })
    }
    if (items.length > first) {
      const part = items.slice(first)
      verifying.push(pool.verify(part, { signal: options.signal }).then((r) => sigOk.set(r, first)))
    }
  }

  const settle = (state = lookup): BatchResult => {
    const actual = new Map<FeedId, FeedState | null | undefined>()
    const verdicts: Verdict[] = new Array(msgs.length)
    const states = new Map<FeedId, FeedState>()
    for (let i = 0; i < msgs.length; i++) {
      const p = prepared[i]!
      const feed = p.pre ? undefined : (p.msg as { author: FeedId }).author
      const s = feed === undefined ? undefined : actual.has(feed) ? actual.get(feed) : state(feed)
      const vi = verifyIndex[i]!
      const v = verdictOf(p, s, key, vi >= 0 ? sigOk[vi] === 1 : undefined)
      verdicts[i] = v
      if (v.ok) {
        const next = nextState(v)
        actual.set(v.value.author, next)
        states.set(v.value.author, next)
      }
    }
    return { verdicts, states }
  }
  return {
    expected: optimistic,
    verified: Promise.all(verifying).then(() => {}),
    settle,
  }
}

/**
 * Validates `msgs` in order, each against its feed's state as left by the messages before it.
 * Never throws for bad messages (only when `signal` aborts).
 */
export async function validateBatch(
  msgs: readonly unknown[],
  options: BatchOptions = {},
): Promise<BatchResult> {
  const batch = beginBatch(msgs, options)
  await batch.verified
  return batch.settle()
}
