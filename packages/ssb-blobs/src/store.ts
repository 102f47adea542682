/**
 * The on-disk blob store (`ssb-protocol.md` §6.1), with exactly the layout multiblob 1.13.8 uses
 * under ssb-blobs 1.2.2 (`<dir>/sha256/<2 hex>/<62 hex>`, staging in `<dir>/tmp/`), so an existing
 * `~/.ssb/blobs` opens as it is. Unlike multiblob it fsyncs before it acknowledges, removes its
 * staging file on every failure, enforces a size cap while bytes arrive, and never builds a path
 * from an id it has not validated. See `docs/decisions/0006-blob-store.md`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, type Stats, statSync } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type BlobId, safeString } from '@scuttlekit/ssb-ref'
import { blobIdOfDigest, digestOfBlobId, EMPTY_BLOB_ID } from './blob-id.js'
import {
  BlobArgumentError,
  BlobHashMismatchError,
  BlobNotFoundError,
  BlobSizeMismatchError,
  BlobSlowConsumerError,
  BlobStoreClosedError,
  BlobTooLargeError,
  InvalidBlobRangeError,
} from './errors.js'
import { Fd } from './fd.js'

/** What the store knows about a blob without reading it; `ts` is the file's ctime in ms, as multiblob. */
export interface BlobMeta {
  readonly id: BlobId
  readonly size: number
  readonly ts: number
}

/** Options of {@link BlobStore.add}. */
export interface AddOptions {
  /** the id the bytes must hash to; else BlobHashMismatchError (ssb-blobs' message) and nothing kept */
  readonly expected?: BlobId
  /** more bytes than this → BlobTooLargeError as soon as the cap is passed (do not read on) */
  readonly max?: number
  readonly signal?: AbortSignal
  /**
   * `false` skips the directory fsyncs after the rename (default `true`). The bytes are synced
   * before the rename either way, so a blob is never torn under its name; what may be lost to a
   * power cut is the rename itself. Blob replication passes `false` for blobs fetched from
   * peers: another copy exists, and a lost one is fetched again.
   */
  readonly durable?: boolean
}

/** The outcome of {@link BlobStore.add}. */
export interface AddResult extends BlobMeta {
  /** false when the blob was already stored */
  readonly added: boolean
}

/** Options of {@link BlobStore.read}; `size` and `max` refer to the whole blob, as in multiblob. */
export interface ReadOptions {
  /** first byte, default 0 */
  readonly start?: number
  /** exclusive; default the size */
  readonly end?: number
  /** must equal the blob's size → else BlobSizeMismatchError */
  readonly size?: number
  /** blob larger than max → BlobSizeMismatchError (multiblob's text) */
  readonly max?: number
  readonly signal?: AbortSignal
}

/** Options of {@link BlobStore.ls}. */
export interface LsOptions {
  /** list the blobs stored now; default true */
  readonly old?: boolean
  /** then go on with blobs as they are added; default false */
  readonly live?: boolean
  readonly signal?: AbortSignal
}

/** Options of {@link BlobStore.open}. */
export interface BlobStoreOptions {
  /** read chunk, default 65536 (what pull-file sends, `ssb-protocol.md` §6.1) */
  readonly chunkSize?: number
  /** entries a live `ls` may have unread before it is ended with BlobSlowConsumerError; default 10000 */
  readonly liveQueueCap?: number
  /**
   * Adds with a temp file open at once; more wait their turn (default
   * {@link DEFAULT_MAX_OPEN_WRITES}). Each holds one
   * descriptor from its first byte to its commit, so this bounds what a burst of downloads
   * can take of the process's files.
   */
  readonly maxOpenWrites?: number
}

/** Default read chunk: pull-file's 64 KiB, so remote `blobs.get` frames match the reference. */
export const DEFAULT_CHUNK_SIZE = 65536
/** Default bound on a live `ls` consumer's backlog. */
export const DEFAULT_LIVE_QUEUE_CAP = 10_000
/**
 * Default bound on adds with a temp file open: a quarter of the process's descriptor limit, at
 * most 1024 (256 where the limit cannot be read). More adds in flight move small blobs faster
 * (1,000 of them: 0.75 s with 256, 0.66 s with 1024), but each holds a descriptor.
 */
export const DEFAULT_MAX_OPEN_WRITES: number = defaultOpenWrites()

function defaultOpenWrites(): number {
  try {
    // Node raises the soft limit to the hard one at start; Linux shows it here
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = Number(line?.split(/\s+/)[3])
    if (Number.isSafeInteger(soft) && soft > 0) return Math.max(16, Math.min(1024, soft >> 2))
  } catch {}
  return 256
}

const ALG_DIR = 'sha256'
const TMP_DIR = 'tmp'
const PREFIX_RE = /^[0-9a-f]{2}$/
const REST_RE = /^[0-9a-f]{62}$/

type Chunk = Uint8Array | string
type AnyIterator = Iterator<Chunk> | AsyncIterator<Chunk>

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

function metaOf(id: BlobId, st: Stats): BlobMeta {
  // `+stat.ctime`, exactly as multiblob (Node rounds the fractional milliseconds into the Date).
  return { id, size: st.size, ts: st.ctime.getTime() }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted')
}

/** Resolves with `p`, or rejects as soon as `signal` aborts (whichever comes first). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p
  if (signal.aborted) return Promise.reject(abortReason(signal))
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(abortReason(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolvePromise(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

/** Reads with a file open at once (each holds it for one chunk). */
const READ_SLOTS = 64

/** At most `size` tasks at once; the others wait in order. */
class Slots {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) {
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else this.active++
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.active--
    }
  }
}

/**
 * fsyncs of directories, so that a rename or a new entry survives power loss. Calls that arrive
 * while a sync of the same directory is queued and not yet started share it (each caller still
 * gets a sync that starts after its call), and the directory handles stay open: there are at most
 * 257 of them (`sha256/` and its prefixes). A burst of small blobs then costs one fsync per
 * directory and round, not an open, an fsync and a close per blob.
 */
class DirSyncer {
  private readonly handles = new Map<string, Promise<Fd | null>>()
  private readonly queued = new Map<string, Promise<void>>()
  private readonly running = new Map<string, Promise<void>>()

  sync(dir: string): Promise<void> {
    const queued = this.queued.get(dir)
    if (queued) return queued
    const before = this.running.get(dir) ?? Promise.resolve()
    const next = before
      .catch(() => {})
      .then(async () => {
        this.queued.delete(dir)
        const run = this.syncNow(dir)
        this.running.set(dir, run)
        try {
          await run
        } finally {
          if (this.running.get(dir) === run) this.running.delete(dir)
        }
      })
    this.queued.set(dir, next)
    return next
  }

  private async syncNow(dir: string): Promise<void> {
    let handle = this.handles.get(dir)
    if (!handle) {
      handle = Fd.open(dir, 'r').catch((err: unknown) => {
        this.handles.delete(dir)
        // Windows cannot open a directory; there the rename is as durable as it gets.
        if (process.platform === 'win32') return null
        throw err
      })
      this.handles.set(dir, handle)
    }
    const fh = await handle
    await fh?.sync()
  }

  /** Closes the directory handles once the syncs under way are done. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.queued.values(), ...this.running.values()])
    const handles = [...this.handles.values()]
    this.handles.clear()
    for (const h of handles) {
      try {
        await (await h)?.close()
      } catch {}
    }
  }
}

async function writeAll(fh: Fd, bytes: Uint8Array): Promise<void> {
  let off = 0
  while (off < bytes.length) {
    const bytesWritten = await fh.write(bytes, off, bytes.length - off)
    off += bytesWritten
  }
}

/** One live `ls` consumer: a bounded queue between `add` and the iterator. */
class LiveQueue {
  private items: BlobMeta[] = []
  private head = 0
  private wake: (() => void) | undefined
  /** ids queued while the old part is listed, so the walk can skip them (they come from here) */
  walkIds: Set<string> | null = null
  /** ids the walk emitted while their add was still committing; skipped when drained */
  readonly walkedInFlight = new Set<string>()
  failure: unknown = null
  ended = false

  constructor(
    private readonly cap: number,
    /** takes this queue off the store's list once it can receive nothing more */
    private readonly detach: () => void,
  ) {}

  get length(): number {
    return this.items.length - this.head
  }

  push(meta: BlobMeta): void {
    if (this.ended || this.failure !== null) return
    if (this.length >= this.cap) {
      this.failure = new BlobSlowConsumerError(this.length)
      this.items = []
      this.head = 0
      this.walkIds = null
      this.detach()
      this.wakeUp()
      return
    }
    this.items.push(meta)
    this.walkIds?.add(meta.id)
    this.wakeUp()
  }

  shift(): BlobMeta | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined as unknown as BlobMeta
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  end(failure?: unknown): void {
    if (failure !== undefined && this.failure === null) this.failure = failure
    this.ended = true
    this.detach()
    this.wakeUp()
  }

  waitForMore(): Promise<void> {
    return new Promise((r) => {
      this.wake = r
    })
  }

  private wakeUp(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }
}

/**
 * A sha256 blob store with ssb-blobs' layout. Every public id is validated before any path is
 * built from it (`InvalidBlobIdError`), so hostile ids from the network cannot reach outside
 * `<dir>/sha256`. `add` resolves only once the blob would survive `kill -9` or power loss.
 */
export class BlobStore {
  private closed = false
  private closing: Promise<void> | undefined
  private readonly adds = new Set<Promise<unknown>>()
  /** ids whose commit (exists check, rename, notify) is under way: one at a time per id */
  private readonly committing = new Map<string, Promise<void>>()
  /** ids renamed into place whose listeners have not yet been told (see `list`) */
  private readonly publishing = new Set<string>()
  private readonly dirSyncer = new DirSyncer()
  private readonly readSlots = new Slots(READ_SLOTS)
  private readonly writeSlots: Slots
  /** prefix directories known to exist, so that a commit does not `mkdir` them again */
  private readonly knownDirs = new Set<string>()
  private readonly listeners = new Set<(meta: BlobMeta) => void>()
  private readonly lives = new Set<LiveQueue>()
  private tmpCounter = 0
  private readonly tmpPrefix = `${process.pid}-${randomBytes(4).toString('hex')}`
  private readonly chunkSize: number
  private readonly liveQueueCap: number

  private constructor(
    /** the store's root (absolute): `<dir>/sha256/…`, `<dir>/tmp/` */
    readonly dir: string,
    options: BlobStoreOptions,
  ) {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`)
    }
    const cap = options.liveQueueCap ?? DEFAULT_LIVE_QUEUE_CAP
    if (!Number.isSafeInteger(cap) || cap < 1) {
      throw new RangeError(`liveQueueCap must be a positive integer, got ${cap}`)
    }
    this.chunkSize = chunkSize
    this.liveQueueCap = cap
    const writes = options.maxOpenWrites ?? DEFAULT_MAX_OPEN_WRITES
    if (!Number.isSafeInteger(writes) || writes < 1) {
      throw new RangeError(`maxOpenWrites must be a positive integer, got ${writes}`)
    }
    this.writeSlots = new Slots(writes)
  }

  /**
   * Opens (creating) the store at `dir`: `mkdir -p dir/sha256`, and `dir/tmp` is wiped and
   * recreated, as multiblob does, since anything left there is an add that never finished.
   */
  static async open(dir: string, options: BlobStoreOptions = {}): Promise<BlobStore> {
    const store = new BlobStore(resolve(dir), options)
    await mkdir(join(store.dir, ALG_DIR), { recursive: true })
    const tmp = join(store.dir, TMP_DIR)
    await rm(tmp, { recursive: true, force: true })
    await mkdir(tmp, { recursive: true })
    return store
  }

  /** The file of a blob (`sha256/<2 hex>/<62 hex>`); throws InvalidBlobIdError for a bad id. */
  path(id: string): string {
    const hex = digestOfBlobId(id).toString('hex')
    return join(this.dir, ALG_DIR, hex.slice(0, 2), hex.slice(2))
  }

  private assertOpen(): void {
    if (this.closed) throw new BlobStoreClosedError()
  }

  /**
   * Streams bytes in (Uint8Array chunks; strings as UTF-8) while hashing them into
   * `<dir>/tmp/<unique>`. On any failure (cap passed, hash mismatch, source error, abort, write
   * error) the tmp file is removed, the source's iterator is returned (so an RPC stream feeding it
   * is aborted) and the error is thrown. On success the tmp file is fdatasync'ed and renamed to
   * its final path, and the directories are fsync'ed; `onAdd` listeners and live `ls` hear of it
   * only when the blob was not stored before (`added: false` otherwise). An existing final file
   * whose size is wrong (a torn file from a store that never synced) is replaced.
   */
  add(
    source: AsyncIterable<Chunk> | Iterable<Chunk>,
    options: AddOptions = {},
  ): Promise<AddResult> {
    const p = this.writeSlots.run(() => this.addInner(source, options))
    this.adds.add(p)
    const forget = () => this.adds.delete(p)
    p.then(forget, forget)
    return p
  }

  /** {@link add} of one buffer or string. */
  addBytes(bytes: Uint8Array | string, options: AddOptions = {}): Promise<AddResult> {
    return this.add([bytes], options)
  }

  private async addInner(
    source: AsyncIterable<Chunk> | Iterable<Chunk>,
    options: AddOptions,
  ): Promise<AddResult> {
    const { expected, max, signal } = options
    const it: AnyIterator =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<Chunk>)[Symbol.asyncIterator]()
        : (source as Iterable<Chunk>)[Symbol.iterator]()
    let sourceDone = false
    let nextPending = false
    let tmpFile: string | undefined
    let fh: Fd | undefined
    try {
      this.assertOpen()
      if (expected != null) digestOfBlobId(expected)
      if (max != null && (typeof max !== 'number' || Number.isNaN(max) || max < 0)) {
        throw new RangeError(`max must be a non-negative number, got ${max}`)
      }
      if (signal?.aborted) throw abortReason(signal)

      tmpFile = join(this.dir, TMP_DIR, `${Date.now()}-${this.tmpPrefix}-${this.tmpCounter++}`)
      fh = await Fd.open(tmpFile, 'wx')
      const hash = createHash('sha256')
      let size = 0
      for (;;) {
        nextPending = true
        const step = await raceAbort(Promise.resolve(it.next()), signal)
        nextPending = false
        if (step.done) {
          sourceDone = true
          break
        }
        const raw: unknown = step.value
        let chunk: Uint8Array
        if (typeof raw === 'string') chunk = Buffer.from(raw, 'utf8')
        else if (raw instanceof Uint8Array) chunk = raw
        else {
          throw new BlobArgumentError(
            `blob chunks must be bytes or strings, got ${raw === null ? 'null' : typeof raw}`,
          )
        }
        size += chunk.length
        if (max != null && size > max) throw new BlobTooLargeError(expected, max)
        hash.update(chunk)
        await writeAll(fh, chunk)
        if (signal?.aborted) throw abortReason(signal)
      }
      const id = blobIdOfDigest(hash.digest())
      if (expected != null && expected !== id) throw new BlobHashMismatchError(expected, id)

      if (id === EMPTY_BLOB_ID) {
        await this.discard(fh, tmpFile)
        fh = undefined
        tmpFile = undefined
        return { id, size: 0, ts: 0, added: false }
      }

      const staged = fh
      const stagedFile = tmpFile
      fh = undefined
      tmpFile = undefined
      return await this.commit(id, size, staged, stagedFile, options.durable !== false)
    } catch (err) {
      if (!sourceDone) {
        // Stop the producer. An async generator's `return` waits behind a pending `next`, so
        // when we gave up on one (abort) it is not awaited.
        try {
          const r = it.return?.()
          if (nextPending) Promise.resolve(r).catch(() => {})
          else await r
        } catch {
          // the source's own failure to stop is not ours to report
        }
      }
      if (tmpFile !== undefined) await this.discard(fh, tmpFile)
      throw err
    }
  }

  /** Closes (if open) and removes a staging file, ignoring failures: it is garbage either way. */
  private async discard(fh: Fd | undefined, file: string): Promise<void> {
    try {
      await fh?.close()
    } catch {}
    try {
      await unlink(file)
    } catch {}
  }

  /** Runs `fn` while no other commit or removal of `id` is under way. */
  private async withIdLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    for (let busy = this.committing.get(id); busy; busy = this.committing.get(id)) await busy
    let release!: () => void
    this.committing.set(
      id,
      new Promise<void>((r) => {
        release = r
      }),
    )
    try {
      return await fn()
    } finally {
      this.committing.delete(id)
      release()
    }
  }

  private commit(
    id: BlobId,
    size: number,
    fh: Fd,
    tmpFile: string,
    durable: boolean,
  ): Promise<AddResult> {
    return this.withIdLock(id, async () => {
      const file = this.path(id)
      let done = false
      let notified = false
      try {
        // in place, as in meta(): an inode-cache lookup costs less than a threadpool trip
        const existing = statSync(file, { throwIfNoEntry: false }) ?? null
        if (existing?.isFile() && existing.size === size) {
          await this.discard(fh, tmpFile)
          done = true
          return { ...metaOf(id, existing), added: false }
        }
        await fh.datasync()
        fh.closeSync() // its data is synced: nothing left for close to wait on
        const prefixDir = join(file, '..')
        let newDir = false
        if (!this.knownDirs.has(prefixDir)) {
          newDir = true
          try {
            await mkdir(prefixDir)
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EEXIST') newDir = false
            else if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
              await mkdir(prefixDir, { recursive: true })
            } else throw err
          }
          this.knownDirs.add(prefixDir)
        }
        this.publishing.add(id)
        try {
          await rename(tmpFile, file)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !this.knownDirs.has(prefixDir))
            throw err
          // the prefix directory was removed behind our back: make it again
          this.knownDirs.delete(prefixDir)
          await mkdir(prefixDir, { recursive: true })
          await rename(tmpFile, file)
          this.knownDirs.add(prefixDir)
          newDir = true
        }
        done = true
        if (durable) {
          await Promise.all([
            this.dirSyncer.sync(prefixDir),
            newDir ? this.dirSyncer.sync(join(this.dir, ALG_DIR)) : undefined,
          ])
        }
        const meta = metaOf(id, statSync(file))
        this.notify(meta)
        notified = true
        return { ...meta, added: true }
      } finally {
        if (!done) await this.discard(fh, tmpFile)
        if (this.publishing.delete(id) && !notified) {
          // a listing that saw the file expected the event; there will be none
          for (const q of this.lives) q.walkedInFlight.delete(id)
        }
      }
    })
  }

  private notify(meta: BlobMeta): void {
    for (const q of this.lives) q.push(meta)
    for (const listener of this.listeners) {
      try {
        listener(meta)
      } catch {
        // A listener's failure must not fail the add that is already durable.
      }
    }
  }

  /** True when the blob is stored (the empty blob always is); InvalidBlobIdError for a bad id. */
  async has(id: string): Promise<boolean> {
    return (await this.size(id)) !== null
  }

  /** The blob's size in bytes, or null when it is not stored. */
  async size(id: string): Promise<number | null> {
    return (await this.meta(id))?.size ?? null
  }

  /** `{id, size, ts}` of a stored blob (the empty blob: size 0, ts 0, as multiblob), else null. */
  async meta(id: string): Promise<BlobMeta | null> {
    const file = this.path(id)
    this.assertOpen()
    if (id === EMPTY_BLOB_ID) return { id: EMPTY_BLOB_ID, size: 0, ts: 0 }
    // A stat of a blob file is a lookup in the inode cache, a few microseconds, while a trip to
    // libuv's threadpool (and back) costs tens: this runs for every want a peer sends, so it is
    // done in place, and a missing file costs no error object.
    const st = statSync(file, { throwIfNoEntry: false })
    return st?.isFile() ? metaOf(id as BlobId, st) : null
  }

  /**
   * The bytes `[start, end)` in chunks of `chunkSize` (64 KiB, as pull-file sends them) as fresh
   * Buffers. A bad id or a closed store throws at once. Everything else is checked before the
   * first chunk: BlobNotFoundError; BlobSizeMismatchError as multiblob (`size != null && size !==
   * actual`, `max != null && max < actual`); InvalidBlobRangeError unless start and end are
   * non-negative integers with `0 <= start <= end <= size`. Unlike multiblob, `end: 0` is an empty
   * range, not "to the end". The file is open only while a chunk is read, never between chunks.
   */
  read(id: string, options: ReadOptions = {}): AsyncIterable<Buffer> {
    const file = this.path(id)
    this.assertOpen()
    return this.readFrom(id as BlobId, file, options)
  }

  private async *readFrom(
    id: BlobId,
    file: string,
    options: ReadOptions,
  ): AsyncGenerator<Buffer, void, undefined> {
    const { signal } = options
    if (signal?.aborted) throw abortReason(signal)
    if (id === EMPTY_BLOB_ID) {
      checkLength(id, 0, options)
      checkRange(0, options)
      return
    }
    // The file is opened for each chunk and closed before the chunk is handed out, so a reader
    // that stops reading holds no descriptor: a peer with thousands of idle `blobs.get` streams
    // cannot exhaust the process's files. At most READ_SLOTS reads are open at once.
    let pos = 0
    let end = 0
    let first = true
    for (;;) {
      if (signal?.aborted) throw abortReason(signal)
      const chunk = await this.readSlots.run(async () => {
        let fh: Fd
        try {
          // open, fstat and close in place: cached metadata, cheaper than threadpool trips
          fh = Fd.openSync(file, 'r')
        } catch (err) {
          if (isMissing(err)) throw new BlobNotFoundError(id)
          throw err
        }
        try {
          if (first) {
            const st = fh.statSync()
            if (!st.isFile()) throw new BlobNotFoundError(id)
            checkLength(id, st.size, options)
            ;[pos, end] = checkRange(st.size, options)
            first = false
          }
          if (pos >= end) return null
          const want = Math.min(this.chunkSize, end - pos)
          const buf = Buffer.allocUnsafe(want)
          let got = 0
          while (got < want) {
            const bytesRead = await fh.read(buf, got, want - got, pos + got)
            if (bytesRead === 0) break
            got += bytesRead
          }
          return got === want ? buf : buf.subarray(0, got)
        } finally {
          fh.closeSync()
        }
      })
      if (chunk === null || chunk.length === 0) return // done, or truncated under us
      pos += chunk.length
      const short = pos < end && chunk.length < this.chunkSize
      yield chunk
      if (short) return // the file was truncated under us; stop at what exists
    }
  }

  /** Deletes a blob; resolves true when a file was removed, false when there was none. */
  async rm(id: string): Promise<boolean> {
    const file = this.path(id)
    this.assertOpen()
    return this.withIdLock(id, async () => {
      try {
        await unlink(file)
        return true
      } catch (err) {
        if (isMissing(err)) return false
        throw err
      }
    })
  }

  /**
   * `old`: every stored blob, walking `sha256/<2 hex>/<62 hex>` one directory at a time (other
   * names, other algorithms' directories and `tmp/` are skipped); `live`: then each blob as it is
   * added. A blob added while the old part is listed comes exactly once. A live consumer that
   * falls `liveQueueCap` entries behind gets BlobSlowConsumerError; `close()` ends live listings.
   */
  ls(options: LsOptions = {}): AsyncIterable<BlobMeta> {
    this.assertOpen()
    const { signal } = options
    let q: LiveQueue | undefined
    if (options.live === true && !signal?.aborted) {
      // Subscribed now, not at the first `next()`, so no blob added in between is missed.
      const queue = new LiveQueue(this.liveQueueCap, () => {
        this.lives.delete(queue)
        signal?.removeEventListener('abort', onAbort)
      })
      const onAbort = () => queue.end(abortReason(signal as AbortSignal))
      this.lives.add(queue)
      signal?.addEventListener('abort', onAbort, { once: true })
      q = queue
    }
    return this.list(options.old ?? true, q, signal)
  }

  private async *list(
    old: boolean,
    q: LiveQueue | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<BlobMeta, void, undefined> {
    try {
      if (signal?.aborted) throw abortReason(signal)
      if (old) {
        if (q) q.walkIds = new Set()
        for await (const meta of this.walk()) {
          if (signal?.aborted) throw abortReason(signal)
          if (q) {
            if (q.failure !== null) break
            if (q.walkIds?.has(meta.id)) continue // it will come from the live queue
            if (this.publishing.has(meta.id)) q.walkedInFlight.add(meta.id)
          }
          yield meta
        }
        if (q) q.walkIds = null
      }
      if (!q) return
      for (;;) {
        if (signal?.aborted) throw abortReason(signal)
        const item = q.shift()
        if (item) {
          if (q.walkedInFlight.delete(item.id)) continue
          yield item
          continue
        }
        if (q.failure !== null) throw q.failure
        if (q.ended) return
        await q.waitForMore()
      }
    } finally {
      q?.end()
    }
  }

  private async *walk(): AsyncGenerator<BlobMeta, void, undefined> {
    const root = join(this.dir, ALG_DIR)
    let prefixes: string[]
    try {
      prefixes = (await readdir(root)).filter((n) => PREFIX_RE.test(n)).sort()
    } catch (err) {
      if (isMissing(err)) return
      throw err
    }
    for (const prefix of prefixes) {
      let names: string[]
      try {
        names = (await readdir(join(root, prefix))).filter((n) => REST_RE.test(n)).sort()
      } catch (err) {
        if (isMissing(err)) continue
        throw err
      }
      for (const name of names) {
        let st: Stats
        try {
          st = await stat(join(root, prefix, name))
        } catch (err) {
          if (isMissing(err)) continue // removed meanwhile
          throw err
        }
        if (!st.isFile()) continue
        yield metaOf(blobIdOfDigest(Buffer.from(prefix + name, 'hex')), st)
      }
    }
  }

  /** Calls `listener` for each newly stored blob; returns the function that unsubscribes it. */
  onAdd(listener: (meta: BlobMeta) => void): () => void {
    this.assertOpen()
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  /**
   * Ends live `ls` iterators (after what they have queued), makes later calls throw
   * BlobStoreClosedError, and resolves once the adds in flight have finished. Idempotent.
   */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true
      for (const q of this.lives) q.end()
      this.closing = Promise.allSettled([...this.adds]).then(async () => {
        this.listeners.clear()
        await this.dirSyncer.close()
      })
    }
    return this.closing
  }
}

function checkLength(id: BlobId, actual: number, options: ReadOptions): void {
  const { size, max } = options
  if ((size != null && size !== actual) || (max != null && max < actual)) {
    throw new BlobSizeMismatchError(id, size, actual)
  }
}

/** `[start, end)` of a read, or InvalidBlobRangeError. */
function checkRange(size: number, options: ReadOptions): [number, number] {
  const start: unknown = options.start ?? 0
  const end: unknown = options.end ?? size
  if (!Number.isSafeInteger(start) || (start as number) < 0) {
    throw new InvalidBlobRangeError(`invalid range: start ${safeString(start)} is not an offset`)
  }
  if (!Number.isSafeInteger(end) || (end as number) < 0) {
    throw new InvalidBlobRangeError(`invalid range: end ${safeString(end)} is not an offset`)
  }
  const s = start as number
  const e = end as number
  if (s > e || e > size) {
    throw new InvalidBlobRangeError(
      `invalid range: [${s}, ${e}) is not within the blob's ${size} bytes`,
    )
  }
  return [s, e]
}
