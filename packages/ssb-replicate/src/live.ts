/**
 * A live subscription as an async iterator whose backlog cannot grow without bound: values
 * with the same key replace each other while the reader is behind, so a client that never
 * reads `replicate.upto` or `replicate.changes` costs at most one value per key.
 */

/** A coalescing live stream; {@link push} from the producer, iterate from the consumer. */
export class Subscription<T> implements AsyncIterableIterator<T> {
  private readonly backlog = new Map<unknown, T>()
  private waiter: ((result: IteratorResult<T>) => void) | undefined
  private ended = false

  /**
   * @param keyOf values with equal keys coalesce (the newest wins, in its new position)
   * @param onEnd runs once when the stream ends, from either side
   */
  constructor(
    private readonly keyOf: (value: T) => unknown,
    private readonly onEnd: () => void,
    signal?: AbortSignal,
  ) {
    if (signal?.aborted) this.end()
    else signal?.addEventListener('abort', () => this.end(), { once: true })
  }

  /** Queues a value, or hands it straight to a waiting reader. */
  push(value: T): void {
    if (this.ended) return
    const w = this.waiter
    if (w) {
      this.waiter = undefined
      w({ value, done: false })
      return
    }
    const key = this.keyOf(value)
    this.backlog.delete(key)
    this.backlog.set(key, value)
  }

  /** Ends the stream after what is queued was read. */
  end(): void {
    if (this.ended) return
    this.ended = true
    const w = this.waiter
    this.waiter = undefined
    w?.({ value: undefined, done: true })
    this.onEnd()
  }

  next(): Promise<IteratorResult<T>> {
    const first = this.backlog.entries().next()
    if (!first.done) {
      this.backlog.delete(first.value[0])
      return Promise.resolve({ value: first.value[1], done: false })
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => {
      this.waiter = resolve
    })
  }

  return(): Promise<IteratorResult<T>> {
    this.backlog.clear()
    this.end()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }
}
