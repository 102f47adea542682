/**
 * npm ssb-friends 4.1.4 run in process as the oracle: its own index.js, contacts.js, legacy.js,
 * layered-graph and dynamic-dijkstra, with the real flumeview-reduce view for `contacts2`. Only
 * the host is faked: a log without a file (flume's in-memory mode), and stubs for `auth.hook`,
 * `replicate.request` and `replicate.block` that record what the plugin asks for.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const friendsDir = require.resolve('ssb-friends')
const fromFriends = createRequire(friendsDir)
const pull = fromFriends('pull-stream')

type Cb<T> = (err: Error | null, value?: T) => void
type PullSource = (abort: unknown, cb: (end: unknown, data?: unknown) => void) => void

/** A message as the reference's reduce reads it (`data.value.author`, `.content`). */
export interface RefMessage {
  key: string
  value: { author: string; sequence: number; content: unknown }
  timestamp: number
}

function pushable(): PullSource & { push(x: unknown): void } {
  const queue: unknown[] = []
  let waiting: ((end: unknown, data?: unknown) => void) | undefined
  const read = ((abort: unknown, cb: (end: unknown, data?: unknown) => void) => {
    if (abort) return cb(abort)
    if (queue.length > 0) return cb(null, queue.shift())
    waiting = cb
  }) as PullSource & { push(x: unknown): void }
  read.push = (x) => {
    const cb = waiting
    if (cb) {
      waiting = undefined
      cb(null, x)
    } else queue.push(x)
  }
  return read
}

function quietly<T>(fn: () => T): T {
  const error = console.error
  console.error = () => {}
  try {
    return fn()
  } finally {
    console.error = error
  }
}

function promised<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))))
}

/** Collects what a pull source emits synchronously so far (for live streams). */
function tap(source: PullSource): { items: unknown[]; stop(): void } {
  const items: unknown[] = []
  let stopped = false
  pull(
    source,
    pull.drain((x: unknown) => {
      items.push(x)
      return !stopped
    }),
  )
  return {
    items,
    stop() {
      stopped = true
    },
  }
}

/** A running reference ssb-friends. */
export class ReferenceFriends {
  /** `replicate.request(id, bool)` calls, latest per feed. */
  readonly requests = new Map<string, boolean>()
  /** `replicate.block(from, to, bool)` calls, latest per `from to`. */
  readonly blocks = new Map<string, boolean>()
  private readonly input = pushable()
  private seq = 0
  /** flume's log, as far as the view looks at it */
  private readonly log = { since: { value: -1 } }
  private authHook: ((this: unknown, fn: unknown, args: unknown[]) => void) | undefined
  private getCallback: Cb<unknown> | undefined
  // biome-ignore lint/suspicious/noExplicitAny: the reference's untyped API
  readonly api: any

  constructor(
    readonly id: string,
    max: number,
  ) {
    const sbot = {
      id,
      auth: {
        hook: (fn: (this: unknown, fn: unknown, args: unknown[]) => void) => {
          this.authHook = fn
        },
      },
      replicate: {
        request: (feed: string, on: boolean) => this.requests.set(feed, on),
        block: (from: string, to: string, on: boolean) => this.blocks.set(`${from} ${to}`, on),
      },
      _flumeUse: (name: string, createView: (log: unknown, name: string) => unknown) => {
        // biome-ignore lint/suspicious/noExplicitAny: flumeview-reduce's view
        const view = createView(this.log, name) as any
        pull(
          this.input,
          view.createSink(() => {}),
        )
        return {
          get: (cb: Cb<unknown>) => {
            this.getCallback = (err, _v) => cb(err, view.value.value)
          },
        }
      },
    }
    this.api = fromFriends('ssb-friends').init(sbot, { friends: { hops: max } })
    // index.js wires replicate.block in a setImmediate, through the legacy stream, which logs
    const error = console.error
    console.error = () => {}
    setImmediate(() => {
      console.error = error
    })
  }

  /** Feeds a message to the `contacts2` reduce (in log order). */
  add(msg: RefMessage): void {
    const seq = this.seq++
    this.log.since.value = seq
    this.input.push({ seq, value: msg })
  }

  /** Ends the initial indexing: contacts.js hands the reduced graph to its layer. */
  async ready(): Promise<void> {
    const cb = this.getCallback
    this.getCallback = undefined
    cb?.(null)
    // index.js wires replicate.block in a setImmediate
    await new Promise((r) => setImmediate(r))
  }

  hops(opts?: unknown): Promise<Record<string, number>> {
    return promised((cb) =>
      opts === undefined ? this.api.hops(cb) : this.api.hops(opts, cb),
    ).then((h) => ({ ...(h as Record<string, number>) }))
  }

  isFollowing(source: string, dest: string): Promise<unknown> {
    return promised((cb) => this.api.isFollowing({ source, dest }, cb))
  }

  isBlocking(source: string, dest: string): Promise<unknown> {
    return promised((cb) => this.api.isBlocking({ source, dest }, cb))
  }

  get(opts?: unknown): Promise<unknown> {
    return quietly(() =>
      promised((cb) => (opts === undefined ? this.api.get(cb) : this.api.get(opts, cb))),
    )
  }

  /** Whether the handshake hook lets `peer` in (else the error message it gives). */
  auth(peer: string): Promise<true | string> {
    return new Promise((resolve) => {
      const next = () => resolve(true)
      this.authHook?.call(null, next, [
        peer,
        (err: Error | null) => resolve(err ? err.message : true),
      ])
    })
  }

  /** Opens `hopStream(opts)` and collects what it emits. */
  hopStream(opts: unknown): { items: unknown[]; stop(): void } {
    return tap(this.api.hopStream(opts))
  }

  createFriendStream(opts: unknown): { items: unknown[]; stop(): void } {
    return quietly(() => tap(this.api.createFriendStream(opts)))
  }

  stream(opts?: unknown): { items: unknown[]; stop(): void } {
    return quietly(() => tap(this.api.stream(opts)))
  }
}
