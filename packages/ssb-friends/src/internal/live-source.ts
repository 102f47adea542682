/**
 * An async iterator over values a producer accumulates between reads. The producer keeps its own
 * pending state (coalesced, so a slow reader costs at most one entry per feed or edge) and calls
 * `wake()`; each `next()` drains it through `collect`. `return()` and the abort signal end the
 * stream at once, even while a reader waits.
 */
export class LiveSource<T> implements AsyncIterableIterator<T> {
  private ready: T[] = []
  private waiting: ((result: IteratorResult<T>) => void) | undefined
  private ended = false

  constructor(
    private readonly collect: () => T[],
    private readonly onEnd: () => void,
    signal?: AbortSignal,
  ) {
    if (signal?.aborted) this.end()
    else signal?.addEventListener('abort', () => this.end(), { once: true })
  }

  /** New values may be pending: hand them to a waiting reader. */
  wake(): void {
    if (!this.waiting || this.ended) return
    this.ready.push(...this.collect())
    const item = this.ready.shift()
    if (item === undefined) return
    const resolve = this.waiting
    this.waiting = undefined
    resolve({ value: item, done: false })
  }

  private end(): void {
    if (this.ended) return
    this.ended = true
    this.ready = []
    this.onEnd()
    const resolve = this.waiting
    this.waiting = undefined
    resolve?.({ value: undefined, done: true })
  }

  next(): Promise<IteratorResult<T>> {
    if (this.ended) return Promise.resolve({ value: undefined, done: true })
    if (this.ready.length === 0) this.ready.push(...this.collect())
    const item = this.ready.shift()
    if (item !== undefined) return Promise.resolve({ value: item, done: false })
    return new Promise((resolve) => {
      this.waiting = resolve
    })
  }

  return(): Promise<IteratorResult<T>> {
    this.end()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
