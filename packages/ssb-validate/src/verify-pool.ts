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
  /** Terminates the workers; later calls verify on the calling thread. Idempotent. */
  close(): Promise<void>
  /** number of live worker threads */
  readonly size: number
}

interface Pending {
  resolve(results: Uint8Array): void
  reject(err: Error): void
}

class PoolWorker {
  readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  dead = false

  constructor() {
    this.worker = new Worker(new URL('./verify-worker.js', import.meta.url))
    this.worker.unref()
    this.worker.on('message', (msg: { id: number; results: Uint8Array }) => {
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

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Creates a pool. Workers start lazily on the first large batch. */
export function createVerifyPool(options: VerifyPoolOptions = {}): VerifyPool {
  const wanted = options.workers ?? Math.max(0, availableParallelism() - 1)
  const minParallel = options.minParallel ?? 32
  let workers: PoolWorker[] | undefined
  let closed = false

  const live = () => {
    if (closed) return []
    workers ??= Array.from({ length: wanted }, () => new PoolWorker())
    return workers.filter((w) => !w.dead)
  }

  async function verify(
    items: readonly VerifyItem[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<Uint8Array> {
    const out = new Uint8Array(items.length)
    const pool = items.length >= minParallel && wanted > 0 ? live() : []
    if (pool.length === 0) {
      verifyRange(items, out, 0, items.length)
      return out
    }
    // Chunks small enough to balance the two sides, large enough to amortise a message.
    // A small batch is cut in at least four, so that the main thread gets a share too.
    const least = Math.min(32, Math.ceil(items.length / 4))
    const chunk = Math.min(512, Math.max(least, Math.ceil(items.length / (8 * (pool.length + 1)))))
    let next = 0
    const take = (): [number, number] | undefined => {
      opts.signal?.throwIfAborted()
      if (next >= items.length) return undefined
      const start = next
      next = Math.min(items.length, next + chunk)
      return [start, next]
    }
    const workerLoop = async (w: PoolWorker) => {
      for (let range = take(); range; range = take()) {
        const [start, end] = range
        try {
          out.set(await w.run(packItems(items, start, end), end - start), start)
        } catch (err) {
          if (opts.signal?.aborted) throw err
          verifyRange(items, out, start, end) // the worker died: do its share here
        }
      }
    }
    // two loops per worker keep one chunk queued while it verifies another
    const loops = pool.flatMap((w) => [workerLoop(w), workerLoop(w)])
    const mainLoop = async () => {
      for (let range = take(); range; range = take()) {
        verifyRange(items, out, range[0], range[1])
        await yieldToLoop() // let worker replies in, so they get their next chunk promptly
      }
    }
    await Promise.all([mainLoop(), ...loops])
    return out
  }

  return {
    verify,
    get size() {
      return workers ? workers.filter((w) => !w.dead).length : 0
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
