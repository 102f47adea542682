// Replaying the golden queries of npm ssb-db@20.4.1 (test/fixtures/reference-queries.json, made by
// scripts/make-fixtures.cjs, format in docs/ssb-db-reference-semantics.md (repository root)) against @scuttlekit/ssb-db:
// loading the fixture, resolving its placeholders to what our database assigned, calling our
// promise / async-iterable API the way the reference was called, and comparing outcomes.
import { readFileSync } from 'node:fs'
import type { SsbDb } from '@scuttlekit/ssb-db'
import { type Keys, unboxKeyOf } from '@scuttlekit/ssb-keys'
import type { MsgValue } from '@scuttlekit/ssb-validate'

/** An error as the fixture records it. */
export interface RefError {
  name?: string
  message: string
  code?: string
  fatal?: boolean
  thrown?: boolean
}

/** One recorded call of the reference. */
export interface RefQuery {
  name: string
  phase: string
  method: string
  args: unknown[]
  result?: unknown
  resultUndefined?: boolean
  error?: RefError
  note?: string
  clock?: number
}

export interface Fixture {
  keys: Record<'me' | 'alice' | 'bob' | 'carol', { public: string; private: string; id: string }>
  constants: Record<string, string | number>
  labels: Record<string, number>
  messages: MsgValue[]
  queries: RefQuery[]
}

export function loadFixture(): Fixture {
  const url = new URL('../fixtures/reference-queries.json', import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8')) as Fixture
}

/** The fixture's `{public, private, id}` as our `Keys`. */
export function keysOf(k: { public: string; private: string; id: string }): Keys {
  return { curve: 'ed25519', public: k.public, private: k.private, id: k.id } as Keys
}

/**
 * What our database assigned to the fixture's messages, by fixture index, and the strings that
 * differ between the reference's run and ours (keys, signatures and boxes of the messages that
 * `publish` made: private-box is randomised, so they cannot be byte-identical).
 */
export class ReplayState {
  readonly msgs: (MsgValue | undefined)[] = []
  readonly rts: (number | undefined)[] = []
  readonly keys: (string | undefined)[] = []
  /** reference string → our string */
  readonly tokens = new Map<string, string>()

  constructor(readonly fixture: Fixture) {}

  register(i: number, kvt: { key: string; value: MsgValue; timestamp: number }): void {
    this.msgs[i] = kvt.value
    this.rts[i] = kvt.timestamp
    this.keys[i] = kvt.key
  }

  /** Records that `ours` stands where the reference had `ref` (when they differ). */
  mapToken(ref: unknown, ours: unknown): void {
    if (typeof ref === 'string' && typeof ours === 'string' && ref !== ours) {
      this.tokens.set(ref, ours)
    }
  }

  /** Maps the strings of a published message (key, signature, box, unbox keys). */
  mapPublished(i: number, refKey: string, allKeys: Keys[]): void {
    const ref = this.fixture.messages[i]
    const ours = this.msgs[i]
    if (!ref || !ours) return
    this.mapToken(refKey, this.keys[i])
    this.mapToken(ref.signature, ours.signature)
    if (typeof ref.content === 'string' && typeof ours.content === 'string') {
      this.mapToken(ref.content, ours.content)
      for (const k of allKeys) {
        const a = unboxKeyOf(ref.content, k)
        const b = unboxKeyOf(ours.content, k)
        if (a && b) this.mapToken(a.toString('base64'), b.toString('base64'))
      }
    }
  }

  /** Replaces every reference-only string (also inside longer strings, e.g. error texts). */
  mapTokens<T>(x: T): T {
    if (this.tokens.size === 0) return x
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') {
        let s = v
        for (const [a, b] of this.tokens) if (s.includes(a)) s = s.split(a).join(b)
        return s
      }
      if (Array.isArray(v)) return v.map(walk)
      if (v && typeof v === 'object') {
        const o: Record<string, unknown> = {}
        for (const [k, val] of Object.entries(v)) o[walk(k) as string] = walk(val)
        return o
      }
      return v
    }
    return walk(x) as T
  }

  /**
   * Resolves `$rts`, `$msg` (and, in args, messages we have not stored: the fixture's own) to our
   * values. `$offset` has no equivalent in our API (record positions are not exposed, `get(number)`
   * is unsupported): it is left as a marker that never equals anything of ours. `$any` is kept for
   * {@link fillWildcards}.
   */
  resolve(x: unknown, forArgs: boolean): unknown {
    const walk = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(walk)
      if (v && typeof v === 'object') {
        const keys = Object.keys(v)
        const o = v as Record<string, unknown>
        if (keys.length === 1) {
          if (typeof o.$rts === 'number')
            return this.rts[o.$rts] ?? `<no rts for message ${o.$rts}>`
          if (typeof o.$msg === 'number') {
            const m =
              this.msgs[o.$msg] ??
              (forArgs ? this.mapTokens(this.fixture.messages[o.$msg]) : undefined)
            return m ? structuredClone(m) : `<message ${o.$msg} not stored by ours>`
          }
          if (typeof o.$offset === 'number') return `<reference log offset of message ${o.$offset}>`
        }
        const out: Record<string, unknown> = {}
        for (const k of keys) out[k] = walk(o[k])
        return out
      }
      return v
    }
    return walk(x)
  }

  /** The fixture index of the message with reference key `key` (after token mapping). */
  indexOfKey(key: string): number {
    return this.keys.indexOf(key)
  }
}

/** Replaces `{"$any": "number"}` in `expected` by the number found at the same place in `actual`. */
export function fillWildcards(expected: unknown, actual: unknown): unknown {
  if (expected && typeof expected === 'object' && !Array.isArray(expected)) {
    const e = expected as Record<string, unknown>
    if (Object.keys(e).length === 1 && e.$any === 'number') {
      return typeof actual === 'number' ? actual : expected
    }
    const a = (actual && typeof actual === 'object' ? actual : {}) as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(e)) out[k] = fillWildcards(e[k], a[k])
    return out
  }
  if (Array.isArray(expected)) {
    const a = Array.isArray(actual) ? actual : []
    return expected.map((x, i) => fillWildcards(x, a[i]))
  }
  return expected
}

/**
 * The first place where two deep-equal values list object keys in a different order (SSB values
 * are signed as JSON text, so key order is part of the value), or `undefined`.
 */
export function keyOrderDiff(a: unknown, b: unknown, path = '$'): string | undefined {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = keyOrderDiff(a[i], b[i], `${path}[${i}]`)
      if (d) return d
    }
    return undefined
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    if (ka.join('\0') !== kb.join('\0')) return `${path}: [${ka.join(',')}] vs [${kb.join(',')}]`
    for (const k of ka) {
      const d = keyOrderDiff(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
      )
      if (d) return d
    }
  }
  return undefined
}

/** What one call of ours produced. */
export type Outcome =
  | { kind: 'result'; value: unknown }
  | { kind: 'error'; error: Error & { fatal?: boolean; code?: string } }
  | { kind: 'unsupported'; why: string }
  | { kind: 'timeout'; ms: number }

export function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case 'result':
      return `result ${JSON.stringify(o.value)?.slice(0, 300)}`
    case 'error':
      return `error ${o.error.name}: ${o.error.message}`
    case 'unsupported':
      return `unsupported (${o.why})`
    case 'timeout':
      return `no answer within ${o.ms} ms`
  }
}

/** Every item of an async iterable. */
export async function collectAll<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

const STREAMS = new Set([
  'createLogStream',
  'createHistoryStream',
  'createUserStream',
  'createFeedStream',
  'messagesByType',
  'links',
  'latest',
  'createRawLogStream',
  'createSequenceStream',
])

/** Methods our API offers under the reference's name, same arguments. */
const DIRECT = new Set([
  'add',
  'publish',
  'get',
  'del',
  'getLatest',
  'getFeedState',
  'getVectorClock',
  'latestSequence',
  'getAtSequence',
  'progress',
  'status',
])

function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  )
}

/**
 * Calls `method` of ours with the reference's arguments: streams are collected (the first item
 * only for `createSequenceStream`, as recorded), promises awaited; a call that does not settle
 * within `ms` is reported, not awaited further.
 */
export async function callOurs(
  db: SsbDb,
  method: string,
  args: unknown[],
  ms = 10_000,
): Promise<Outcome> {
  const api = db as unknown as Record<string, unknown>
  let run: () => Promise<unknown>
  if (method === 'whoami') {
    run = async () => ({ id: db.id })
  } else if (STREAMS.has(method) || DIRECT.has(method)) {
    const fn = api[method]
    if (typeof fn !== 'function') return { kind: 'unsupported', why: `ours has no ${method}()` }
    run = async () => {
      const r = (fn as (...a: unknown[]) => unknown).apply(db, args)
      if (isAsyncIterable(r)) {
        if (method === 'createSequenceStream') {
          const it = r[Symbol.asyncIterator]()
          const first = await it.next()
          await it.return?.()
          return first.done ? [] : [first.value]
        }
        return collectAll(r)
      }
      return await r
    }
  } else {
    return { kind: 'unsupported', why: `ours has no ${method}()` }
  }
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout', ms }), ms)
  })
  const attempt = (async (): Promise<Outcome> => {
    try {
      return { kind: 'result', value: await run() }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      return { kind: 'error', error }
    }
  })()
  try {
    return await Promise.race([attempt, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Our value as the fixture would hold it: through JSON (drops `undefined`, as RPC would). */
export function asJson(x: unknown): unknown {
  return x === undefined ? null : JSON.parse(JSON.stringify(x))
}

/**
 * Whether the reference's error text is one ours is meant to reproduce. Texts of muxrpc-validation
 * (the RPC argument checker: `UsageError`, `Param 0 must…`) belong to the RPC layer, not to the
 * database; for those only "it is an error" is compared.
 */
export function messageMeantToMatch(e: RefError): boolean {
  return e.name !== 'UsageError' && !e.message.startsWith('Param ')
}

/** A decrypted, decorated value (`meta`, `cyphertext`, …) back to the stored original. */
export function originalOf(value: unknown): unknown {
  if (!value || typeof value !== 'object') return value
  const v = value as Record<string, unknown>
  const meta = v.meta as { original?: { content?: unknown } } | undefined
  if (typeof v.cyphertext !== 'string' && !meta?.original) return value
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    if (k === 'meta' || k === 'cyphertext' || k === 'private' || k === 'unbox') continue
    out[k] = k === 'content' ? (meta?.original?.content ?? v.cyphertext) : x
  }
  return out
}

/** Runs `fn` with `Date.now` frozen at `t` (as the fixture script ran `publish`). */
export function withFrozenClock<T>(t: number, fn: () => T): T {
  const orig = Date.now
  Date.now = () => t
  try {
    return fn()
  } finally {
    Date.now = orig
  }
}
