/**
 * Argument checks of the core methods, with the reference's semantics and messages (ssb-db 20's
 * `lib/validators.js` on muxrpc-validation). Clients and scripts match on these messages, and a
 * check the reference makes at the RPC boundary must not be missing here (for example a `msg`
 * whose `timestamp` is not a number, which ssb-validate alone accepts).
 */

import { isFeedId, isLink, isMsgId, isMsgLink } from '@scuttlekit/ssb-ref'
import { ParamTypeError, UsageError } from './errors.js'

/** A validator returns nothing when the value passes, `'type'` for a plain type error, or an error. */
type Check = (value: unknown, n: string) => undefined | 'type' | Error

const missingAttr = (n: string, attr: string, type: string) =>
  new UsageError(`Param ${n} must have a .${attr} of type "${type}"`)
/** The reference fills its template in the wrong order: `.0 of param live must be …`. Kept. */
const attrType = (n: string, attr: string, type: string) =>
  new UsageError(`.${n} of param ${attr} must be of type "${type}"`)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null
/** muxrpc-validation's loose flag check: a truthy value must be a boolean or a number. */
const badFlag = (v: unknown) => Boolean(v) && typeof v !== 'boolean' && typeof v !== 'number'
const FILTERS = new Set(['@', '%', '&', 'feed', 'msg', 'blob'])

function flags(v: Record<string, unknown>, n: string, names: readonly string[]): Error | undefined {
  for (const name of names) if (badFlag(v[name])) return attrType(n, name, 'boolean')
  return undefined
}

const checks: Record<string, Check> = {
  // The reference's loose conversions and comparisons; where JS throws instead (a JSON object
  // whose `toString` is not a function), the value is of the wrong type.
  number: (v) => {
    try {
      const asNum = Number(v)
      // biome-ignore lint/suspicious/noDoubleEquals: the reference's loose comparison
      return Number.isNaN(asNum) || asNum != (v as number) ? 'type' : undefined
    } catch {
      return 'type'
    }
  },
  string: (v) => {
    try {
      // biome-ignore lint/suspicious/noDoubleEquals: the reference's loose comparison
      return `${v}` != (v as string) ? 'type' : undefined
    } catch {
      return 'type'
    }
  },
  boolean: (v) => (typeof v !== 'boolean' ? 'type' : undefined),
  object: (v) => (!isObject(v) ? 'type' : undefined),
  array: (v) => (!Array.isArray(v) ? 'type' : undefined),
  msgId: (v) => (isMsgId(v) ? undefined : 'type'),
  msgLink: (v) => (isMsgLink(v) ? undefined : 'type'),
  feedId: (v) => (isFeedId(v) ? undefined : 'type'),
  msgContent: (v, n) => {
    if (!isObject(v)) return 'type'
    if (!v.type || typeof v.type !== 'string') return missingAttr(n, 'type', 'string')
    return undefined
  },
  msg: (v, n) => {
    if (!isObject(v)) return 'type'
    if (!v.content) return missingAttr(n, 'content', 'object|string')
    if (typeof v.content === 'object') {
      const c = v.content as Record<string, unknown>
      if (!c.type || typeof c.type !== 'string') return missingAttr(n, 'content.type', 'string')
    } else if (typeof v.content !== 'string') return missingAttr(n, 'content', 'object|string')
    if (!isFeedId(v.author)) return missingAttr(n, 'author', 'feedId')
    if (typeof v.sequence !== 'number') return missingAttr(n, 'sequence', 'number')
    if (v.sequence > 1 && !isMsgId(v.previous)) return missingAttr(n, 'previous', 'msgId')
    if (v.sequence === 1 && v.previous != null) return missingAttr(n, 'previous', 'null')
    if (typeof v.timestamp !== 'number') return missingAttr(n, 'timestamp', 'number')
    if (v.hash !== 'sha256') return new UsageError(`Param ${n} must have .hash set to "sha256"`)
    if (typeof v.signature !== 'string') return missingAttr(n, 'signature', 'string')
    return undefined
  },
  readStreamOpts: (v, n) => {
    if (!isObject(v)) return 'type'
    const err = flags(v, n, ['live', 'reverse', 'keys', 'values'])
    if (err) return err
    if (v.limit && typeof v.limit !== 'number') return attrType(n, 'limit', 'number')
    if (badFlag(v.fillCache)) return attrType(n, 'fillCache', 'boolean')
    return undefined
  },
  createHistoryStreamOpts: (v, n) => {
    const o = (v ?? {}) as Record<string, unknown>
    if (!isFeedId(o.id)) return missingAttr(n, 'id', 'feedId')
    if (o.seq && typeof o.seq !== 'number') return attrType(n, 'seq', 'number')
    if (badFlag(o.live)) return attrType(n, 'live', 'boolean')
    if (o.limit && typeof o.limit !== 'number') return attrType(n, 'limit', 'number')
    return flags(o, n, ['keys', 'values'])
  },
  createUserStreamOpts: (v, n) => {
    const err = checks.readStreamOpts!(v, n)
    if (err) return err
    if (!isFeedId((v as Record<string, unknown>).id)) return missingAttr(n, 'id', 'feedId')
    return undefined
  },
  messagesByTypeOpts: (v, n) => {
    const err = checks.readStreamOpts!(v, n)
    if (err) return err
    if (typeof (v as Record<string, unknown>).type !== 'string')
      return missingAttr(n, 'type', 'string')
    return undefined
  },
  linksOpts: (v, n) => {
    if (!isObject(v)) return 'type'
    for (const end of ['source', 'dest']) {
      const x = v[end]
      if (x && !isLink(x) && !FILTERS.has(x as string)) return attrType(n, end, 'id|filter')
    }
    if (v.rel && typeof v.rel !== 'string') return attrType(n, 'rel', 'string')
    return flags(v, n, ['live', 'reverse', 'keys', 'values'])
  },
}

/** One argument spec: `'feedId'`, `'msgLink|number|object'`, `'readStreamOpts?'`. */
type Spec = readonly string[]

function checkSpec(args: readonly unknown[], spec: Spec): Error | undefined {
  let err: Error | undefined
  for (let i = 0; i < spec.length; i++) {
    const alternatives = spec[i]!.split('|')
    for (const alt of alternatives) {
      const optional = alt.endsWith('?')
      const name = optional ? alt.slice(0, -1) : alt
      const arg = args[i]
      // muxrpc-validation treats every falsy argument as missing
      if (!arg || typeof arg === 'function') {
        err = optional ? undefined : new UsageError(`Param ${i} is required`)
        break
      }
      const check = checks[name]
      if (!check) throw new Error(`no validator named ${name}`)
      const result = check(arg, String(i))
      if (result === undefined) {
        err = undefined
        break
      }
      err = result === 'type' ? new ParamTypeError(`Param ${i} must by of type ${name}`) : result
    }
    if (err) return err
  }
  return undefined
}

/**
 * Checks `args` against one spec or several alternative specs (the first that passes wins; else
 * the last one's error), and throws what the reference would have answered.
 */
export function validateArgs(args: readonly unknown[], ...specs: Spec[]): void {
  let err: Error | undefined
  for (const spec of specs) {
    err = checkSpec(args, spec)
    if (!err) return
  }
  if (err) throw err
}
