/**
 * The read streams of ssb-db 20 as async iterables: each reads one index in key order, loads
 * the records it points to from the log, and (when `live`) goes on with records committed after
 * it started, with no gap and no duplicate between the two parts.
 */
import {
  describe,
  type FeedId,
  isFeedId,
  type MsgId,
  safeNumber,
  safeString,
} from '@scuttlekit/ssb-ref'
import type { KVT } from '@scuttlekit/ssb-validate'
import type { Located, SsbDb, StreamOptions } from './db.js'
import { DatabaseClosedError, InvalidArgumentError } from './errors.js'
import {
  decodeKey,
  decodeOffset,
  indexKey as ik,
  type KeyPart,
  pastPrefix,
} from './internal/keys.js'
import { linksOf } from './internal/links.js'
import { BLOCK, blockKey, blockOf, slotAt, slotsIn } from './internal/seq-index.js'

/**
 * The `{sync: true}` marker between old and live items of a live stream, as pull-live puts it
 * (unless `sync: false`; the history stream only with `sync: false`, as in ssb-db 20).
 */
export interface SyncMarker {
  sync: true
}

/** What a stream item is, given `keys`/`values`: the record, its key, or its value. */
export type StreamItem = KVT | MsgId | KVT['value'] | unknown

type Bound = { gt?: Buffer; gte?: Buffer; lt?: Buffer; lte?: Buffer }

/** The resolved timestamp of the feed index: the claimed one, unless missing or in the future. */
export function resolvedTimestamp(kvt: KVT): number {
  const claimed = kvt.value.timestamp as unknown
  if (!claimed || typeof claimed !== 'number' || kvt.timestamp < claimed) return kvt.timestamp
  return claimed
}

function isPart(v: unknown): v is KeyPart {
  return typeof v === 'string' || typeof v === 'number' || v === null
}

/**
 * Index bounds for `opts`' `gt/gte/lt/lte` on the last element of keys `[...prefix, value]`;
 * without a lower or upper bound, the whole of `prefix`.
 */
function rangeOf(index: string, prefix: readonly KeyPart[], opts: StreamOptions): Bound {
  const b: Bound = {}
  const whole = ik(index, prefix)
  if (opts.gt !== undefined && isPart(opts.gt)) b.gt = pastPrefix(ik(index, [...prefix, opts.gt]))
  else if (opts.gte !== undefined && isPart(opts.gte)) b.gte = ik(index, [...prefix, opts.gte])
  else b.gte = whole
  if (opts.lt !== undefined && isPart(opts.lt)) b.lt = ik(index, [...prefix, opts.lt])
  else if (opts.lte !== undefined && isPart(opts.lte))
    b.lte = pastPrefix(ik(index, [...prefix, opts.lte]))
  else b.lt = pastPrefix(whole)
  return b
}

function inRange(value: unknown, opts: StreamOptions): boolean {
  const v = value as number
  if (opts.gt !== undefined && !(v > (opts.gt as number))) return false
  if (opts.gte !== undefined && !(v >= (opts.gte as number))) return false
  if (opts.lt !== undefined && !(v < (opts.lt as number))) return false
  if (opts.lte !== undefined && !(v <= (opts.lte as number))) return false
  return true
}

function shape(kvt: KVT, keys: boolean, values: boolean): StreamItem {
  if (keys && values) return kvt
  if (keys) return kvt.key
  // keys:false and values:false yields the value, as the reference does
  return kvt.value
}

/** One feed's messages by sequence, from the sequence index: `lo..hi` (inclusive), then `keep`. */
interface SeqRange {
  feed: FeedId
  lo: number
  hi: number
  keep: (seq: number) => boolean
}

interface Plan {
  /** the index range to read (unused with `bySeq`) */
  bound: Bound
  /** read the sequence index instead of `bound` */
  bySeq?: SeqRange
  reverse: boolean
  limit: number
  live: boolean
  old: boolean
  sync: boolean
  /** what to yield for a record (undefined: skip it) */
  item: (kvt: KVT, key: Buffer | undefined) => StreamItem | undefined
  /** whether a newly committed record belongs to this live stream */
  matches: (kvt: KVT) => boolean
  /** the item needs the index key */
  needKey?: boolean
  /** log order equals index order: scan the log from `start()` while `before(kvt)` */
  sequential?: { start: () => Promise<number>; before: (kvt: KVT) => boolean }
  /** the items of a newly committed record, when not `item(kvt, undefined)` */
  liveItems?: (kvt: KVT) => (StreamItem | undefined)[]
}

/** Items read from the log before the stream hands them out. */
const BATCH = 256
/** Most bytes one read of the log takes for the records of a batch that lie close together. */
const MAX_SPAN = 1 << 20
/**
 * Records this close together on average are read together: copying this much more costs
 * about what a second read (a system call) does.
 */
const DENSE = 8 << 10
/** Read past the start of the last record of a span, for its body. */
const TAIL = 4 << 10

/**
 * An async iterator over items made in batches: each `next()` is an already settled promise
 * until the batch runs out. A generator per item (and `yield*` between two of them) costs
 * more than reading and parsing the record does.
 */
class Batched<T> implements AsyncIterableIterator<T> {
  private buf: T[] = []
  private at = 0
  private refilling: Promise<IteratorResult<T>> | null = null

  constructor(private readonly source: AsyncGenerator<T[], void, undefined>) {}

  next(): Promise<IteratorResult<T>> {
    if (this.refilling) return this.refilling.then(() => this.next())
    if (this.at < this.buf.length)
      return Promise.resolve({ value: this.buf[this.at++]!, done: false })
    this.refilling = this.refill().finally(() => {
      this.refilling = null
    })
    return this.refilling
  }

  private async refill(): Promise<IteratorResult<T>> {
    for (;;) {
      const r = await this.source.next()
      if (r.done) {
        this.buf = []
        this.at = 0
        return { value: undefined, done: true }
      }
      if (r.value.length === 0) continue
      this.buf = r.value
      this.at = 1
      return { value: r.value[0]!, done: false }
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.buf = []
    this.at = 0
    await this.source.return(undefined)
    return { value: undefined, done: true }
  }

  async throw(err?: unknown): Promise<IteratorResult<T>> {
    this.buf = []
    this.at = 0
    await this.source.throw(err)
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }
}

/** A stream: see {@link runBatches}. */
function run(db: SsbDb, plan: Plan): AsyncIterableIterator<StreamItem | SyncMarker> {
  return new Batched(runBatches(db, plan))
}

async function* runBatches(
  db: SsbDb,
  plan: Plan,
): AsyncGenerator<(StreamItem | SyncMarker)[], void, undefined> {
  let count = 0
  const limit = plan.limit > 0 ? plan.limit : Number.POSITIVE_INFINITY
  if (plan.limit === 0 && !plan.live) return
  // Records at or past `end` were committed after the stream began: the live part has them, and
  // only those (a group can be indexed a moment before it is announced).
  let end = -1
  const queue = plan.live
    ? db.liveQueue<KVT>((rec: Located) =>
        rec.offset >= end && plan.matches(rec.kvt) ? rec.kvt : undefined,
      )
    : undefined
  end = db.committedEnd
  try {
    if (plan.old) {
      yield* oldPart()
      if (count >= limit) return
    }
    if (!queue) return
    if (plan.sync) yield [{ sync: true }]
    for await (const first of queue) {
      // everything already waiting goes out as one batch
      const batch: StreamItem[] = []
      for (let kvt: KVT | undefined = first; kvt !== undefined; kvt = queue.shift()) {
        const items = plan.liveItems ? plan.liveItems(kvt) : [plan.item(kvt, undefined)]
        for (const item of items) {
          if (item === undefined) continue
          batch.push(item)
          if (++count >= limit) break
        }
        if (count >= limit) break
      }
      yield batch
      if (count >= limit) return
    }
  } catch (err) {
    // A read cut short by close() says so, not with leveldb's or the file system's words.
    if (db.isClosed) throw new DatabaseClosedError()
    throw err
  } finally {
    if (queue) await queue.return()
  }

  async function* oldPart(): AsyncGenerator<StreamItem[], void, undefined> {
    let resumeAfter = -1
    let oldDone = false
    if (plan.sequential && !plan.reverse) {
      // Receive order is log order: read the log front to back instead of going through the
      // index, until the upper bound. Damage hands over to the index path after it.
      let offset = await plan.sequential.start()
      const reader = db.reader(MAX_SPAN)
      oldDone = true
      let batch: StreamItem[] = []
      try {
        while (offset !== -1 && offset < end) {
          let payload: Buffer | null
          try {
            payload = reader.read(offset)
          } catch (err) {
            db.reportCorrupt(offset, err)
            resumeAfter = offset
            oldDone = false
            break
          }
          const at = offset
          offset = reader.next
          if (payload === null) continue
          const kvt = parseRecord(db, payload, at)
          if (kvt === undefined) continue
          if (!plan.sequential.before(kvt)) break
          const item = plan.item(kvt, undefined)
          if (item === undefined) continue
          batch.push(item)
          if (++count >= limit) break
          if (batch.length >= BATCH) {
            yield batch
            batch = []
          }
        }
      } finally {
        reader.release()
      }
      yield batch
      if (count >= limit) return
    }
    if (oldDone) return
    const reader = db.reader(TAIL)
    const source = plan.bySeq
      ? seqBatches(db, plan.bySeq, plan.reverse, plan.limit)
      : indexBatches(db, plan)
    try {
      for await (const { offsets, keys, seqs } of source) {
        // at most BATCH parsed items at a time, however many offsets came (a leveldb batch of
        // blocks can point at thousands): a reader that stalls holds back at most that many
        let batch: StreamItem[] = []
        for (let i = 0; i < offsets.length; i++) {
          const offset = offsets[i]!
          if (offset >= end || offset <= resumeAfter) continue
          let payload: Buffer | null
          try {
            payload = reader.holds(offset)
              ? reader.read(offset)
              : reader.read(offset, spanAt(offsets, i, limit - count))
          } catch (err) {
            db.reportCorrupt(offset, err)
            continue
          }
          if (payload === null) continue
          const kvt = parseRecord(db, payload, offset)
          if (kvt === undefined) continue
          // a damaged sequence index must not serve another feed's message, or this one's twice
          if (seqs && (kvt.value.sequence !== seqs[i] || kvt.value.author !== plan.bySeq!.feed)) {
            db.reportMisindexed(offset, `${plan.bySeq!.feed}:${seqs[i]}`)
            continue
          }
          const item = plan.item(kvt, keys?.[i])
          if (item === undefined) continue
          batch.push(item)
          if (++count >= limit) break
          if (batch.length >= BATCH) {
            yield batch
            batch = []
          }
        }
        yield batch
        if (count >= limit) return
      }
    } finally {
      reader.release()
      await source.return(undefined)
    }
  }
}

/** Offsets (and, when the plan needs them, index keys) to read next. */
interface Pointers {
  offsets: number[]
  keys?: Buffer[]
  /** from the sequence index: the sequence each offset is stored for */
  seqs?: number[]
}

/**
 * Bytes to read at `offsets[i]` so that one read also covers the records after it (at most
 * `wanted` in all), as long as they come in log order and close together.
 */
function spanAt(offsets: number[], i: number, wanted: number): number {
  const start = offsets[i]!
  let j = i
  while (j + 1 < offsets.length && j + 1 - i < wanted) {
    const d = offsets[j + 1]! - start
    if (d <= offsets[j]! - start || d > MAX_SPAN - TAIL || d > (j + 1 - i) * DENSE) break
    j++
  }
  return offsets[j]! - start + TAIL
}

type Entry = [Buffer | undefined, Buffer]

/**
 * `it`'s entries, up to `first` at first and then up to `more` at a time (leveldb hands out
 * fewer when their bytes pass its high-water mark, so only an empty batch means the end; after
 * the end, classic-level answers without a trip to the thread pool). The next batch is asked
 * for before this one is handed out, so that leveldb's reads overlap our parsing, unless the
 * items handed out so far (`weigh` counts a batch's) reach `limit`, likely all the caller
 * wants. The iterator is closed at the end, without waiting for it.
 */
async function* entryBatches(
  it: ReturnType<SsbDb['indexIterator']>,
  first: number,
  more: number,
  limit: number,
  weigh: (entries: Entry[]) => number = (entries) => entries.length,
): AsyncGenerator<Entry[], void, undefined> {
  let ahead: Promise<Entry[]> | undefined
  try {
    let count = 0
    let entries: Entry[] = await it.nextv(first)
    for (;;) {
      if (entries.length === 0) return
      if (limit > 0) count += weigh(entries)
      if (!(limit > 0 && count >= limit)) {
        ahead = it.nextv(more)
        // a pending nextv must settle before the iterator closes; never leave it unhandled
        ahead.catch(() => {})
      }
      yield entries
      entries = await (ahead ?? it.nextv(more))
      ahead = undefined
    }
  } finally {
    if (ahead) await ahead.catch(() => {})
    it.close().catch(() => {})
  }
}

/** The entries of `plan.bound`, a leveldb batch at a time. */
async function* indexBatches(db: SsbDb, plan: Plan): AsyncGenerator<Pointers, void, undefined> {
  const it = db.indexIterator({ ...plan.bound, reverse: plan.reverse, keys: plan.needKey === true })
  const first = plan.limit > 0 && plan.limit < 256 ? plan.limit + 1 : 256
  for await (const entries of entryBatches(it, first, 1024, plan.limit)) {
    const offsets = new Array<number>(entries.length)
    for (let i = 0; i < entries.length; i++) offsets[i] = decodeOffset(entries[i]![1])
    if (plan.needKey) yield { offsets, keys: entries.map(([k]) => k!) }
    else yield { offsets }
  }
}

/** The offsets of `range` from the sequence index, in sequence order (or reversed). */
async function* seqBatches(
  db: SsbDb,
  range: SeqRange,
  reverse: boolean,
  limit: number,
): AsyncGenerator<Pointers, void, undefined> {
  if (range.lo > range.hi) return
  // Nothing stored at or past `lo` (a peer asking for what it lacks, usually nothing): no need
  // to ask the index. The state moves before the index does, never after it.
  const latest = db.feeds().get(range.feed)?.sequence ?? 0
  if (latest < range.lo) return
  const bound: Bound = {
    gte: blockKey(range.feed, range.lo > 1 ? blockOf(Math.floor(range.lo)) : 0),
  }
  if (range.hi === Number.POSITIVE_INFINITY) bound.lt = pastPrefix(ik('c', [range.feed]))
  else bound.lte = blockKey(range.feed, blockOf(Math.ceil(range.hi)))
  const it = db.indexIterator({ ...bound, reverse, keys: true })
  // blocks, not messages: a small limit needs one or two
  const first = limit > 0 ? Math.ceil(limit / BLOCK) + 1 : 64
  const slots = (blocks: Entry[]) => blocks.reduce((n, [, block]) => n + slotsIn(block), 0)
  for await (const entries of entryBatches(it, first, 64, limit, slots)) {
    const offsets: number[] = []
    const seqs: number[] = []
    for (const [key, block] of entries) {
      const first = (decodeKey(key!.subarray(1))[1] as number) * BLOCK + 1
      const n = slotsIn(block)
      for (let k = 0; k < n; k++) {
        const slot = reverse ? n - 1 - k : k
        const seq = first + slot
        if (seq < range.lo || seq > range.hi || !range.keep(seq)) continue
        const offset = slotAt(block, slot)
        if (offset === 0) continue
        offsets.push(offset)
        seqs.push(seq)
      }
    }
    yield { offsets, seqs }
  }
}

function parseRecord(db: SsbDb, payload: Buffer, offset: number): KVT | undefined {
  try {
    return JSON.parse(payload.toString('utf8')) as KVT
  } catch (err) {
    db.reportCorrupt(offset, err)
    return undefined
  }
}

function bool(v: unknown, dflt: boolean): boolean {
  return v === undefined || v === null ? dflt : v !== false
}

function common(opts: StreamOptions, historySync = false) {
  const old = opts.old !== false
  const live = opts.live === true || opts.old === false
  return {
    reverse: opts.reverse === true,
    limit: typeof opts.limit === 'number' ? opts.limit : -1,
    live,
    old,
    // pull-live puts {sync: true} between old and live items unless `sync: false`; ssb-db's
    // history stream inverts the flag, so there it appears only with `sync: false`.
    sync: live && old && (historySync ? opts.sync === false : opts.sync !== false),
  }
}

function decorate(db: SsbDb, kvt: KVT, priv: boolean | undefined): KVT {
  return priv ? (db.unboxer.decorate(kvt) as KVT) : kvt
}

/** `createLogStream`: every message in receive order; ranges on the receive timestamp. */
export function createLogStream(db: SsbDb, opts: StreamOptions = {}) {
  const keys = bool(opts.keys, true)
  const values = bool(opts.values, true)
  const o = { ...opts }
  if (o.gt === undefined && o.gte === undefined) o.gt = 0
  const bound = rangeOf('t', [], o)
  const upper = { lt: o.lt, lte: o.lte }
  return run(db, {
    ...common(o),
    bound,
    sequential: {
      start: () => db.firstOffset(bound),
      before: (kvt) => inRange(kvt.timestamp, upper),
    },
    item: (kvt) => shape(decorate(db, kvt, o.private), keys, values),
    matches: (kvt) => inRange(kvt.timestamp, o),
  })
}

/** `createHistoryStream({id, seq, live, limit, keys, values})`: one feed from `seq` (inclusive). */
export function createHistoryStream(
  db: SsbDb,
  arg: (StreamOptions & { id?: string; seq?: number; sequence?: number }) | string,
  seqArg?: number,
  liveArg?: boolean,
) {
  // The positional form `(id, seq, live)` that ssb-db's validator accepts (and then answers
  // with nothing, a defect) is honoured.
  const opts = typeof arg === 'string' ? { id: arg, seq: seqArg, live: liveArg } : arg
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError('createHistoryStream expects {id, seq?, live?, limit?}')
  }
  const id = opts.id
  if (!isFeedId(id))
    throw new InvalidArgumentError(`createHistoryStream: invalid feed id ${safeString(id)}`)
  const seq = safeNumber(opts.sequence || opts.seq || 0) || 0
  const keys = bool(opts.keys, true)
  const values = bool(opts.values, true)
  const base = common(opts, true)
  return run(db, {
    ...base,
    reverse: false,
    bound: {},
    bySeq: { feed: id, lo: Math.max(seq, 1), hi: Number.POSITIVE_INFINITY, keep: () => true },
    // Never decrypted: this is what peers replicate.
    item: (kvt) => shape(kvt, keys, values),
    matches: (kvt) => kvt.value.author === id && kvt.value.sequence >= seq,
  })
}

/** The first of `opts[strict]` and `opts[loose]` that is a key part, and whether it is strict. */
function boundOf(
  opts: StreamOptions,
  strict: 'gt' | 'lt',
  loose: 'gte' | 'lte',
): [boolean, KeyPart | undefined] {
  if (opts[strict] !== undefined && isPart(opts[strict])) return [true, opts[strict]]
  if (opts[loose] !== undefined && isPart(opts[loose])) return [false, opts[loose]]
  return [false, undefined]
}

/**
 * The sequences `opts`' `gt/gte/lt/lte` select, as the keys `[feed, bound]` of an index would:
 * `null` sorts before every number and a string after them (NaN, encoded as a double, after
 * every other number); other values are no bound.
 */
function seqRange(feed: FeedId, opts: StreamOptions): SeqRange {
  const range: SeqRange = { feed, lo: 1, hi: Number.POSITIVE_INFINITY, keep: () => true }
  const [above, lower] = boundOf(opts, 'gt', 'gte')
  const [below, upper] = boundOf(opts, 'lt', 'lte')
  if (typeof lower === 'string' || Number.isNaN(lower) || upper === null) {
    range.lo = Number.POSITIVE_INFINITY
    range.hi = 0
    return range
  }
  const out = typeof lower === 'number' && above ? lower : undefined
  const until = typeof upper === 'number' && below ? upper : undefined
  if (typeof lower === 'number') range.lo = Math.max(lower, 1)
  if (typeof upper === 'number' && !Number.isNaN(upper)) range.hi = upper
  if (out !== undefined || until !== undefined) range.keep = (s) => s !== out && s !== until
  return range
}

/** `createUserStream({id, gt/gte/lt/lte, …})`: one feed, ranges on the sequence. */
export function createUserStream(db: SsbDb, opts: StreamOptions & { id?: string }) {
  const id = opts?.id
  if (!isFeedId(id))
    throw new InvalidArgumentError(`createUserStream: invalid feed id ${safeString(id)}`)
  const keys = bool(opts.keys, true)
  const values = bool(opts.values, true)
  return run(db, {
    ...common(opts),
    bound: {},
    bySeq: seqRange(id, opts),
    item: (kvt) => shape(decorate(db, kvt, opts.private), keys, values),
    matches: (kvt) => kvt.value.author === id && inRange(kvt.value.sequence, opts),
  })
}

/** `messagesByType(type | {type, …})`: messages of one content type, ranges on receive time. */
export function messagesByType(db: SsbDb, arg: string | (StreamOptions & { type?: string })) {
  if (arg === undefined || arg === null) {
    throw new InvalidArgumentError('must provide {type: string} to messagesByType')
  }
  const opts = typeof arg === 'string' ? { type: arg } : arg
  const full = safeString(opts.type)
  // The index holds the first 32 characters of a type, as ssb-db's does. A longer query
  // (which finds nothing in the reference) is answered with exactly that type.
  const type = full.substring(0, 32)
  const exact = full.length > 32
  const typeOf = (kvt: KVT) => (db.indexedContent(kvt) as { type?: unknown } | undefined)?.type
  const keys = bool(opts.keys, true)
  const values = bool(opts.values, true)
  return run(db, {
    ...common(opts),
    bound: rangeOf('y', [type], opts),
    item: (kvt) =>
      exact && typeOf(kvt) !== full
        ? undefined
        : shape(decorate(db, kvt, opts.private), keys, values),
    matches: (kvt) => {
      const t = typeOf(kvt)
      return (
        typeof t === 'string' &&
        (exact ? t === full : t.substring(0, 32) === type) &&
        inRange(kvt.timestamp, opts)
      )
    },
  })
}

/**
 * `createFeedStream`: every message ordered by its claimed timestamp (the receive time when the
 * claim is missing or in the future); each `{key, value, timestamp}` item gets `rts`, the
 * timestamp it is ordered by, as ssb-db 20 puts it (only when both keys and values are asked for).
 */
export function createFeedStream(db: SsbDb, opts: StreamOptions = {}) {
  const keys = bool(opts.keys, true)
  const values = bool(opts.values, true)
  const b: Bound = {}
  // ssb-db maps every bound to [value, null]: gt behaves as gte and lte as lt.
  const lower = opts.gt ?? opts.gte
  const upper = opts.lt ?? opts.lte
  b.gte = isPart(lower) && lower !== undefined ? ik('f', [lower]) : ik('f', [])
  b.lt = isPart(upper) && upper !== undefined ? ik('f', [upper]) : pastPrefix(ik('f', []))
  return run(db, {
    ...common(opts),
    bound: b,
    item: (kvt) => {
      const out = decorate(db, kvt, opts.private)
      if (!(keys && values)) return shape(out, keys, values)
      return { ...out, rts: resolvedTimestamp(kvt) }
    },
    matches: (kvt) => {
      const r = resolvedTimestamp(kvt)
      return (
        (lower === undefined || r >= (lower as number)) &&
        (upper === undefined || r < (upper as number))
      )
    },
  })
}

/** Options of {@link links}. */
export interface LinksOptions extends StreamOptions {
  source?: string
  dest?: string
  rel?: string
  meta?: boolean
}

/** One item of {@link links} with the default `meta: true`. */
export interface LinkItem {
  source: FeedId
  rel: string
  dest: string
  key?: MsgId
  value?: unknown
}

function sigil(t: string | undefined): string | undefined {
  if (t === 'feed') return '@'
  if (t === 'msg') return '%'
  if (t === 'blob') return '&'
  return t
}

/**
 * `links({source, dest, rel, meta, keys, values, live, old, reverse})`: the link index. `source`
 * and `dest` are ids or a sigil (`@`, `%`, `&`) meaning any id of that kind.
 */
export function links(db: SsbDb, opts: LinksOptions) {
  if (!opts || typeof opts !== 'object') throw new InvalidArgumentError('opts *must* be provided')
  const meta = opts.meta !== false
  const keys = opts.keys !== false
  const vals = opts.values === true
  if (!meta && !keys && !vals) {
    throw new InvalidArgumentError(
      'makes no sense to return stream without resultsset at least one of {keys, values, meta} to true',
    )
  }
  const src = sigil(opts.source)
  const dst = sigil(opts.dest)
  const rel = opts.rel
  for (const [name, v] of [
    ['source', src],
    ['dest', dst],
    ['rel', rel],
  ] as const) {
    // an object is neither an id, a sigil nor a rel (and JS may not even turn it into a string)
    if (typeof v === 'object' && v !== null) {
      throw new InvalidArgumentError(`links: ${name} must be a string, got ${describe(v)}`)
    }
  }
  const back = dst !== undefined && src === undefined
  const from = back ? dst : src
  const index = back ? 'b' : 'l'
  // Key layout: [from, rel, to, seq, key]; narrow the range as far as the known parts allow.
  const prefix: KeyPart[] = []
  let exactFrom = false
  if (from !== undefined && from !== '' && !/^[@%&]$/.test(from)) {
    prefix.push(from)
    exactFrom = true
    if (rel !== undefined) prefix.push(rel)
  }
  let bound: Bound
  if (exactFrom) {
    bound = { gte: ik(index, prefix), lt: pastPrefix(ik(index, prefix)) }
  } else if (from !== undefined && /^[@%&]$/.test(from)) {
    // every id of one kind: string parts starting with the sigil
    // the key of the sigil as a string part, without the terminator that would end it there
    const lo = ik(index, [from]).subarray(0, -1)
    bound = { gte: lo, lt: pastPrefix(lo) }
  } else {
    bound = { gte: ik(index, []), lt: pastPrefix(ik(index, [])) }
  }
  const test = (actual: string, expected: string | undefined) =>
    expected === undefined || expected === ''
      ? true
      : expected.length === 1
        ? actual[0] === expected[0]
        : actual === expected
  const format = (l: LinkItem, kvt: KVT | undefined) => {
    if (!meta) {
      return keys && vals
        ? { key: l.key, value: kvt ? decorate(db, kvt, opts.private).value : undefined }
        : keys
          ? l.key
          : kvt
            ? decorate(db, kvt, opts.private).value
            : undefined
    }
    const out: Record<string, unknown> = { source: l.source, rel: l.rel, dest: l.dest }
    if (keys) out.key = l.key
    // With meta the value is always the stored (original) one, as in the reference.
    if (vals && kvt) out.value = kvt.value
    return out
  }
  const accept = (l: LinkItem) =>
    (rel === undefined || rel === l.rel) && test(l.dest, dst) && test(l.source, src)
  return run(db, {
    ...common(opts),
    needKey: true,
    bound,
    item: (kvt, key) => {
      if (!key) return undefined
      const parts = decodeKey(key.subarray(1))
      const l: LinkItem = {
        source: (back ? parts[2] : parts[0]) as FeedId,
        rel: parts[1] as string,
        dest: (back ? parts[0] : parts[2]) as string,
        key: parts[4] as MsgId,
      }
      if (!accept(l)) return undefined
      return format(l, kvt)
    },
    matches: () => true,
    liveItems: (kvt) =>
      linksOfRecord(db, kvt)
        .filter(accept)
        .map((l) => format(l, kvt)),
  })
}

/** Live link items: computed from newly committed records (used when `live` is set). */
export function linksOfRecord(db: SsbDb, kvt: KVT): LinkItem[] {
  const content = db.indexedContent(kvt)
  return linksOf(content).map((l) => ({
    source: kvt.value.author,
    rel: l.rel,
    dest: l.dest,
    key: kvt.key,
  }))
}

/** `latest()`: `{id, sequence, ts}` of every stored feed. */
export async function* latest(
  db: SsbDb,
): AsyncGenerator<{ id: FeedId; sequence: number; ts: number }> {
  for (const [id, s] of [...db.feeds()]) yield { id, sequence: s.sequence, ts: s.timestamp }
}
