/**
 * A push-driven async iterable: producers `push` items (or `end`/`fail` it), one consumer pulls
 * them with `for await`. Used for live streams; `onReturn` runs when the consumer stops early.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = []
  private head = 0
  private done = false
  private error: unknown = undefined
  private waiter: ((r: IteratorResult<T>) => void) | null = null
  private failer: ((e: unknown) => void) | null = null

  constructor(private readonly onReturn: () => void = () => {}) {}

  push(item: T): void {
    if (this.done) return
    if (this.waiter) {
      const w = this.waiter
      this.waiter = null
      this.failer = null
      w({ value: item, done: false })
    } else {
      this.items.push(item)
    }
  }

  end(): void {
    this.done = true
    if (this.waiter) {
      const w = this.waiter
      this.waiter = null
      this.failer = null
      w({ value: undefined, done: true })
    }
  }

  fail(err: unknown): void {
    if (this.done) return
    this.error = err
    this.done = true
    if (this.failer) {
      const f = this.failer
      this.waiter = null
      this.failer = null
      f(err)
    }
  }

  /** Items waiting to be consumed. */
  get size(): number {
    return this.items.length - this.head
  }

  /** The next item if one is waiting, without waiting; `undefined` when none is. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const value = this.items[this.head++]!
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    }
    return value
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head)
        this.head = 0
      }
      return Promise.resolve({ value, done: false })
    }
    if (this.error !== undefined) {
      const err = this.error
      this.error = undefined
      return Promise.reject(err)
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => {
      this.waiter = resolve
      this.failer = reject
    })
  }

  return(): Promise<IteratorResult<T>> {
    this.items = []
    this.head = 0
    this.end()
    this.onReturn()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }
}
