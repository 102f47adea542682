/**
 * A bounded push queue read as an AsyncIterable: what `gossip.changes` and the ping streams hand
 * to the RPC layer. Values pushed while nobody reads wait in the queue; past `max`, the oldest
 * are dropped (`drop`) or the reader gets an error (`fail`), so a peer that never reads cannot
 * make us hold an unbounded queue.
 */

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void
  reject(err: unknown): void
}

/** What to do when a value arrives and `max` values are already waiting. */
export type OverflowPolicy = 'drop' | 'fail'

/** Options of a {@link Channel}. */
export interface ChannelOptions {
  /** Most values waiting for the reader (default 1000). */
  max?: number
  overflow?: OverflowPolicy
  /** The error a reader gets on overflow when `overflow` is `fail`. */
  overflowError?: () => Error
  /** Called once when the channel finishes, whichever side ended it. */
  onClose?: () => void
}

/** A bounded async queue; see the module comment. */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = []
  private readonly waiters: Waiter<T>[] = []
  private ended = false
  private error: unknown
  private closedHook: (() => void) | undefined
  private readonly max: number

  constructor(private readonly options: ChannelOptions = {}) {
    this.max = options.max ?? 1000
    this.closedHook = options.onClose
  }

  /** Whether the channel takes no more values. */
  get done(): boolean {
    return this.ended
  }

  /** Queues a value (or hands it to a waiting reader). Returns false once ended. */
  push(value: T): boolean {
    if (this.ended) return false
    const waiter = this.waiters.shift()
    if (waiter) {
      waiter.resolve({ value, done: false })
      return true
    }
    if (this.items.length >= this.max) {
      if ((this.options.overflow ?? 'drop') === 'fail') {
        this.fail(this.options.overflowError?.() ?? new Error('reader too slow'))
        return false
      }
      this.items.shift()
    }
    this.items.push(value)
    return true
  }

  /** Ends the channel: the reader gets what is queued, then `done`. */
  end(): void {
    if (this.ended) return
    this.ended = true
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true })
    this.finish()
  }

  /** Ends the channel with an error, thrown to the reader after nothing else. */
  fail(err: unknown): void {
    if (this.ended) return
    this.ended = true
    this.error = err
    this.items.length = 0
    for (const w of this.waiters.splice(0)) w.reject(err)
    this.finish()
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false })
    if (this.error !== undefined) {
      const err = this.error
      this.error = undefined
      return Promise.reject(err)
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  /** The reader stops: drops what is queued and ends. */
  return(): Promise<IteratorResult<T>> {
    this.items.length = 0
    this.error = undefined
    this.end()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }

  private finish(): void {
    const hook = this.closedHook
    this.closedHook = undefined
    hook?.()
  }
}
