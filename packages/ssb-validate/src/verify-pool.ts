/**
 * Parallel ed25519 verification: the main thread and a pool of worker threads pull chunks of
 * signature checks from one queue until it is empty. Signature checks are about 90% of the cost
 * of validation (§ performance.md), so this is what lets replication use every core.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { verifyDetached } from '@scuttlekit/ssb-keys'
import { packItems, type VerifyItem } from './verify-codec.js'

export type { VerifyItem } from './verify-codec.js'

/** Options of {@link createVerifyPool}. */
export interface VerifyPoolOptions {
  /** worker threads beside the main thread; default: available cores − 1 */
  workers?: number
  /** batches smaller than this are verified on the calling thread; default 32 */
  minParallel?: number
}

/** Verifies many signatures at once on several cores. */
export interface VerifyPool {
  /** One byte per item: 1 when the signature verifies, else 0. */
  verify(items: readonly VerifyItem[], options?: { signal?: AbortSignal }): Promise<Uint8Array>
  /**
   * Starts the workers now instead of at the first large batch (a worker takes tens of
   * milliseconds to boot): for servers about to replicate. Idempotent.
   */
  start(): void
  /** Terminates the workers; later calls verify on the calling thread. Idempotent. */
  close(): Promise<void>
  /** number of live worker threads */
  readonly size: number
  /**
   * number of them that have booted and take chunks; until one has, the calling thread
   * verifies everything (a worker takes tens of milliseconds to boot)
   */
  readonly ready: number
}

interface Pending {
  resolve(results: Uint8Array): void
  reject(err: Error): void
}

class PoolWorker {
  /**
   * Starts a worker; undefined when Node refuses to (the pool then verifies on the calling
   * thread). It gets none of the parent's Node options: by default a worker inherits them, and
   * under `node -e …` it then ran that code instead of verifying and died at start, unseen; and
   * options given explicitly are checked, so that a parent started with, say,
   * `--max-old-space-size` would make `new Worker` throw. The worker needs none.
   */
  static start(onReady: () => void): PoolWorker | undefined {
    let worker: Worker
    try {
      worker = new Worker(new URL('./verify-worker.cjs', import.meta.url), { execArgv: [] })
    } catch {
      return undefined
    }
    return new PoolWorker(worker, onReady)
  }

  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  dead = false
  /** the worker said it has booted */
  ready = false

  private constructor(
    readonly worker: Worker,
    onReady: () => void,
  ) {
    this.worker.on('message', (msg: { id: number; results: Uint8Array } | { ready: true }) => {
      if ('ready' in msg) {
        this.ready = true
        onReady()
        return
      }
      const p = this.pending.get(msg.id)
      if (!p) return
      this.pending.delete(msg.id)
      if (this.pending.size === 0) this.worker.unref()
      p.resolve(msg.results)
    })
    const fail = (err: Error) => {
      this.dead = true
      for (const p of this.pending.values()) p.reject(err)
      this.pending.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`verify worker exited with code ${code}`)))
    // after the listeners: adding a 'message' listener refs the worker's port again, and an idle
    // pool must not keep the process alive
    this.worker.unref()
  }

  /** chunks sent and not yet answered */
  get inflight(): number {
    return this.pending.size
  }

  run(packed: Uint8Array, count: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(new Error('verify worker is gone'))
      const id = this.nextId++
      this.pending.set(id, { resolve, reject })
      // keep the process alive while a job is in flight, not while the pool idles
      this.worker.ref()
      this.worker.postMessage({ id, packed, count }, [packed.buffer as ArrayBuffer])
    })
  }
}

function verifyRange(items: readonly VerifyItem[], out: Uint8Array, start: number, end: number) {
  for (let i = start; i < end; i++) {
    const it = items[i]!
    out[i] = verifyDetached(it.signature, it.message, it.publicKey) ? 1 : 0
  }
}

/** Chunks a worker holds at once: one it verifies and one queued behind it. */
const PER_WORKER = 2
/** Chunks waiting beyond the workers' that make the calling thread verify one itself. */
const MAIN_BACKLOG = 2

/** One `verify` call. */
interface Job {
  items: readonly VerifyItem[]
  out: Uint8Array
  /** chunks not yet verified */
  left: number
  signal: AbortSignal | undefined
  settled: boolean
  resolve(out: Uint8Array): void
  reject(err: unknown): void
}

interface Chunk {
  job: Job
  start: number
  end: number
}

/** Creates a pool. Workers start lazily on the first large batch. */
export function createVerifyPool(options: VerifyPoolOptions = {}): VerifyPool {
  const wanted = options.workers ?? Math.max(0, availableParallelism() - 1)
  const minParallel = options.minParallel ?? 32
  let workers: PoolWorker[] | undefined
  let closed = false
  // One queue for every call, first in first out: with several batches in flight (pipelined
  // validation) the oldest finishes first, and the calling thread helps only when the workers
  // fall behind, however many batches are waiting.
  let queue: Chunk[] = []
  let head = 0
  let helping = false

  const live = () => {
    if (closed) return []
    workers ??= Array.from({ length: wanted }, () => PoolWorker.start(() => dispatch())).filter(
      (w) => w !== undefined,
    )
    return workers.filter((w) => !w.dead)
  }

  /** Live workers that have booted. */
  const booted = () => live().filter((w) => w.ready)

  /** The next chunk of a job still wanted, or undefined. */
  const shift = (): Chunk | undefined => {
    while (head < queue.length) {
      const c = queue[head++]!
      if (head === queue.length) {
        queue = []
        head = 0
      }
      if (c.job.settled) continue
      if (c.job.signal?.aborted) {
        c.job.settled = true
        c.job.reject(c.job.signal.reason)
        continue
      }
      return c
    }
    return undefined
  }

  const finish = (c: Chunk) => {
    const job = c.job
    if (job.settled) return
    if (--job.left === 0) {
      job.settled = true
      job.resolve(job.out)
    }
  }

  const onThisThread = (c: Chunk) => {
    verifyRange(c.job.items, c.job.out, c.start, c.end)
    finish(c)
  }

  const dispatch = () => {
    for (const w of booted()) {
      while (w.inflight < PER_WORKER) {
        const c = shift()
        if (!c) break
        w.run(packItems(c.job.items, c.start, c.end), c.end - c.start).then(
          (results) => {
            c.job.out.set(results, c.start)
            finish(c)
            dispatch()
          },
          () => {
            // the worker died: do its share here
            if (!c.job.settled) onThisThread(c)
            dispatch()
          },
        )
      }
    }
    if (!helping && shouldHelp()) {
      helping = true
      setImmediate(help)
    }
  }

  /**
   * Whether this thread should verify a waiting chunk: no worker (left, or booted yet), or they
   * fall behind.
   */
  const shouldHelp = () => {
    const backlog = queue.length - head
    return backlog > 0 && (booted().length === 0 || backlog >= MAIN_BACKLOG)
  }

  // Runs between other events: one chunk at a time, so that replies from the workers and the
  // rest of the process get their turn in between.
  const help = () => {
    helping = false
    if (shouldHelp()) {
      const c = shift()
      if (c) onThisThread(c)
    }
    dispatch()
  }

  function verify(
    items: readonly VerifyItem[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<Uint8Array> {
    const out = new Uint8Array(items.length)
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason)
    const pool = items.length >= minParallel && wanted > 0 ? live() : []
    if (pool.length === 0) {
      verifyRange(items, out, 0, items.length)
      return Promise.resolve(out)
    }
    // Chunks small enough to balance the threads, large enough to amortise a message; a small
    // batch is cut in at least four.
    const least = Math.min(32, Math.ceil(items.length / 4))
    const chunk = Math.min(512, Math.max(least, Math.ceil(items.length / (8 * (pool.length + 1)))))
    return new Promise<Uint8Array>((resolve, reject) => {
      const job: Job = {
        items,
        out,
        left: Math.ceil(items.length / chunk),
        signal: opts.signal,
        settled: false,
        resolve,
        reject,
      }
      for (let start = 0; start < items.length; start += chunk) {
        queue.push({ job, start, end: Math.min(items.length, start + chunk) })
      }
      dispatch()
    })
  }

  return {
    verify,
    start() {
      if (wanted > 0) live()
    },
    get size() {
      return workers ? workers.filter((w) => !w.dead).length : 0
    },
    get ready() {
      return workers ? workers.filter((w) => !w.dead && w.ready).length : 0
    },
    async close() {
      if (closed) return
      closed = true
      const ws = workers ?? []
      workers = []
      await Promise.all(ws.map((w) => w.worker.terminate()))
    },
  }
}

let shared: VerifyPool | undefined

/** The process-wide pool that batch validation uses by default. */
export function defaultVerifyPool(): VerifyPool {
  shared ??= createVerifyPool()
  return shared
}
