// Shared helpers of api.test.ts and write.test.ts: temp databases, feeds made with
// @scuttlekit/ssb-validate, and collecting (live) async iterables with a deadline.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type DbOptions, type Logger, openDb, type SsbDb } from '@scuttlekit/ssb-db'
import { generateKeys, type Keys } from '@scuttlekit/ssb-keys'
import type { MsgId } from '@scuttlekit/ssb-ref'
import { createMessage, type FeedState, type MsgValue } from '@scuttlekit/ssb-validate'

/** A logger that records entries instead of printing them. */
export interface RecordingLogger extends Logger {
  entries: { level: string; obj: object; msg: string }[]
}

export function recordingLogger(): RecordingLogger {
  const entries: RecordingLogger['entries'] = []
  const at =
    (level: string) =>
    (obj: object, msg: string): void => {
      entries.push({ level, obj, msg })
    }
  return { entries, warn: at('warn'), info: at('info'), debug: at('debug'), error: at('error') }
}

/** A fresh temp directory, removed by the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ssb-db-api-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface TestDb {
  db: SsbDb
  dir: string
  keys: Keys
  logger: RecordingLogger
  /** closes the current handle and opens the same directory again */
  reopen(extra?: Partial<DbOptions>): Promise<SsbDb>
}

/**
 * Runs `fn` with a database in its own temp directory, then closes it (whatever handle is
 * current) and removes the directory.
 */
export async function withDb(
  fn: (t: TestDb) => Promise<void>,
  extra: Partial<DbOptions> = {},
): Promise<void> {
  const { dir, cleanup } = tempDir()
  const keys = extra.keys ?? generateKeys()
  const logger = recordingLogger()
  const opts: DbOptions = { path: dir, keys, logger, ...extra }
  const t: TestDb = {
    db: await openDb(opts),
    dir,
    keys,
    logger,
    async reopen(more = {}) {
      await t.db.close()
      t.db = await openDb({ ...opts, ...more })
      return t.db
    },
  }
  try {
    await fn(t)
  } finally {
    await t.db.close()
    cleanup()
  }
}

/** Every item of a finite async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/**
 * The first `n` items of a (live) async iterable, then stops it; rejects if they do not arrive
 * within `ms`.
 */
export async function take<T>(it: AsyncIterable<T>, n: number, ms = 5000): Promise<T[]> {
  const out: T[] = []
  if (n === 0) return out
  const iter = it[Symbol.asyncIterator]()
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms with ${out.length}/${n} items`)),
      ms,
    )
  })
  try {
    while (out.length < n) {
      const r = await Promise.race([iter.next(), deadline])
      if (r.done) break
      out.push(r.value)
    }
  } finally {
    clearTimeout(timer)
    await iter.return?.()
  }
  return out
}

/** Resolves with the next item of `iter`, or `'timeout'` when none comes within `ms`. */
export async function nextOrTimeout<T>(
  iter: AsyncIterator<T>,
  ms: number,
): Promise<IteratorResult<T> | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  try {
    return await Promise.race([iter.next(), t])
  } finally {
    clearTimeout(timer)
  }
}

/** A chain of signed messages of one feed, as a peer would send them. */
export interface Feed {
  keys: Keys
  msgs: MsgValue[]
  ids: MsgId[]
}

/**
 * `n` messages of `keys`' feed continuing `from` (a new feed when omitted), with claimed
 * timestamps `ts(i)` (default: 1.5e12 + sequence) and contents `content(i)` (i from 0).
 */
export function makeFeed(
  keys: Keys,
  n: number,
  options: {
    from?: FeedState | null
    ts?: (i: number) => number
    content?: (i: number) => Record<string, unknown> | string
    hmacKey?: string | null
  } = {},
): Feed {
  const msgs: MsgValue[] = []
  const ids: MsgId[] = []
  let state: FeedState | null = options.from ?? null
  for (let i = 0; i < n; i++) {
    const seq = (state?.sequence ?? 0) + 1
    const ts = options.ts ? options.ts(i) : 1.5e12 + seq
    const content = options.content ? options.content(i) : { type: 'post', text: `msg ${seq}` }
    const c = createMessage(state, keys, content, ts, { hmacKey: options.hmacKey ?? null })
    msgs.push(c.value)
    ids.push(c.id)
    state = { id: c.id, sequence: c.value.sequence, timestamp: c.value.timestamp }
  }
  return { keys, msgs, ids }
}

/** The feed state after the last message of `feed`. */
export function stateAfter(feed: Feed, index = feed.msgs.length - 1): FeedState {
  const m = feed.msgs[index]!
  return { id: feed.ids[index]!, sequence: m.sequence, timestamp: m.timestamp }
}

/** Asserts that `p` rejects (or `fn` throws) with an error whose `name` is `name`. */
export async function rejectsNamed(
  fn: () => unknown,
  name: string,
  message?: RegExp,
): Promise<Error> {
  let err: unknown
  try {
    const r = fn()
    if (r && typeof (r as Promise<unknown>).then === 'function') await r
    else if (r && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      for await (const _ of r as AsyncIterable<unknown>) break
    }
  } catch (e) {
    err = e
  }
  if (!(err instanceof Error)) throw new Error(`expected ${name}, got no error`)
  if (err.name !== name) {
    throw new Error(`expected ${name}, got ${err.name}: ${err.message}`, { cause: err })
  }
  if (message && !message.test(err.message)) {
    throw new Error(`expected ${name} matching ${message}, got: ${err.message}`)
  }
  return err
}

/** Waits until `cond()` is true (polling), or rejects after `ms`. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}
