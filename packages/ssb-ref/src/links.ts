/**
 * Sigil links in text: `isLink`, `parseLink`, `extract`, `normalizeChannel` and `type`, with the
 * verdicts and return values of npm `ssb-ref` 2.16 (`ssb-protocol.md` §1.4).
 *
 * A link is an id optionally followed by `?query` (e.g. a blob with `?unbox=<key>.boxs`); clients
 * paste such links into posts, URLs and markdown, so every peer must cut them out the same way.
 */
import { isAddress } from './compat-address.js'
import { isInvite } from './compat-invite.js'
import { isBlobId, isFeedId, isMsgId } from './ids.js'
import { parseQueryString, type QueryObject } from './internal/query-string.js'

export type { QueryObject } from './internal/query-string.js'

/**
 * True when `value` is a feed, message or blob id, after cutting everything from the first `?`
 * (`ssb-ref.isLink`). `'%<id>.sha256?unbox=...'` is a link; a non-string is not.
 */
export function isLink(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const query = value.indexOf('?')
  const id = query === -1 ? value : value.slice(0, query)
  return isFeedId(id) || isMsgId(id) || isBlobId(id)
}

/**
 * `ssb-ref.isBlobLink`: starts with `&` and {@link isLink}. Like the reference it reads
 * `value[0]` first, so `null` and `undefined` throw a `TypeError`.
 */
export function isBlobLink(value: unknown): value is string {
  return (value as { [index: number]: unknown })[0] === '&' && isLink(value)
}

/**
 * `ssb-ref.isMsgLink`: starts with `%` and {@link isLink}. Like the reference it reads
 * `value[0]` first, so `null` and `undefined` throw a `TypeError`.
 */
export function isMsgLink(value: unknown): value is string {
  return (value as { [index: number]: unknown })[0] === '%' && isLink(value)
}

/** What {@link parseLink} returns: the link and, when there was a `?`, the parsed query. */
export interface ParsedLink {
  /** `@`, `%` or `&`, 43 base64 characters, `=`, `.` and a `[A-Za-z0-9_]+` suffix. */
  link: string
  /** Node `querystring.parse` of the text after `?` (no prototype); `unbox` keeps its `+`. */
  query?: QueryObject
}

const parseLinkPattern = /^([@%&][A-Za-z0-9/+]{43}=\.[\w\d]+)(\?(.+))?$/

/**
 * `ssb-ref.parseLink`: splits `<sigil><43 base64>=.<suffix>?<query>` into the link and its query
 * string, parsed as Node's `querystring.parse` does. Query parsing turns `+` into a space, which
 * would break the base64 of an `unbox` key, so spaces in a string `unbox` become `+` again.
 * Returns `undefined` when the text is not a link; the suffix and base64 are not validated.
 * Like the reference, a non-string argument is converted with `String()` first.
 */
export function parseLink(value: unknown): ParsedLink | undefined {
  const match = parseLinkPattern.exec(`${value}`)
  if (!match?.[1]) return undefined
  if (!match[2]) return { link: match[1] }
  const query = parseQueryString(match[3]!)
  const unbox = query.unbox
  if (typeof unbox === 'string') query.unbox = unbox.replace(/ /g, '+')
  return { link: match[1], query }
}

const extractPattern = /[@%&][A-Za-z0-9/+]{43}=\.[\w\d]+/

/**
 * `ssb-ref.extract`: the first `[@%&]<43 base64>=.<suffix>` in `text`. When there is none, it
 * tries again after `decodeURIComponent` (if that succeeds) and turning `&amp;` into `&`, so
 * links inside URLs and HTML are found. Returns `null` when nothing is found and `false` for a
 * non-string, as the reference does. The match is not validated as an id.
 */
export function extract(text: unknown): string | null | false {
  if (typeof text !== 'string') return false
  const direct = extractPattern.exec(text)
  if (direct) return direct[0]
  let decoded = text
  try {
    decoded = decodeURIComponent(text)
  } catch {
    // Not URI-encoded after all: search the text as it is.
  }
  const match = extractPattern.exec(decoded.replace(/&amp;/g, '&'))
  return match ? match[0] : null
}

/**
 * `ssb-ref.normalizeChannel`: lowercases, removes whitespace and `,.?!<>()[]"#`, and keeps the
 * first 30 UTF-16 units. Returns `null` for a non-string or when nothing is left.
 */
export function normalizeChannel(channel: unknown): string | null {
  if (typeof channel !== 'string') return null
  const normalized = channel.toLowerCase().replace(/\s|,|\.|\?|!|<|>|\(|\)|\[|\]|"|#/g, '')
  return normalized.length > 0 ? normalized.slice(0, 30) : null
}

/** What {@link refType} (ssb-ref's `type`) can answer. */
export type RefType = 'feed' | 'msg' | 'blob' | 'address' | 'invite'

/**
 * `ssb-ref.type`: `'feed'`, `'msg'` or `'blob'` for an id, else `'address'` for anything
 * `isAddress` accepts, else `'invite'` for an invite code, else `false`.
 */
export function refType(id: unknown): RefType | false {
  if (typeof id !== 'string') return false
  const sigil = id.charAt(0)
  if (sigil === '@' && isFeedId(id)) return 'feed'
  if (sigil === '%' && isMsgId(id)) return 'msg'
  if (sigil === '&' && isBlobId(id)) return 'blob'
  if (isAddress(id)) return 'address'
  if (isInvite(id)) return 'invite'
  return false
}

/** `ssb-ref.type` under its reference name; see {@link refType}. */
export const type: (id: unknown) => RefType | false = refType
