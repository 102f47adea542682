/**
 * The links a message's content carries, found exactly as npm `ssb-msgs` `indexLinks` (used by
 * ssb-db 20's link index) finds them:
 *
 * - only the top level of the content is searched, not nested objects;
 * - each truthy value is taken as is, or, if it is an array (or an object with keys `0`, `1`, …
 *   holding truthy values), element by element;
 * - an element is a link if it is a string, or an object whose `link` is a string, that is a
 *   feed, message or blob id (anything after a `?` ignored); the `rel` is the content key;
 * - if the content has a `content` (or `value.content`) object with a `type`, that object is
 *   searched instead (ssb-msgs's duck typing).
 *
 * Unlike ssb-msgs, a `null` or other non-object array element is skipped instead of throwing
 * (npm ssb-db crashes its link index on `{"mentions": [null]}`).
 */
import { isLink } from '@scuttlekit/ssb-ref'

export interface FoundLink {
  rel: string
  dest: string
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

function contentOf(obj: Record<string, unknown>): Record<string, unknown> {
  const value = obj.value
  if (isObject(value) && isObject(value.content) && value.content.type) return value.content
  if (isObject(obj.content) && obj.content.type) return obj.content
  return obj
}

function arrayLike(v: unknown): unknown[] | null {
  if (Array.isArray(v)) return v
  if (!isObject(v)) return null
  const out: unknown[] = []
  for (let i = 0; v[i]; i++) out.push(v[i])
  return out.length > 0 ? out : null
}

/** Every link in `content`, in the order ssb-msgs reports them. */
export function linksOf(content: unknown): FoundLink[] {
  if (!isObject(content)) return []
  const found: FoundLink[] = []
  const top = contentOf(content)
  for (const rel in top) {
    const v = top[rel]
    if (!v) continue
    const items = arrayLike(v) ?? [v]
    for (const item of items) {
      const dest = typeof item === 'string' ? item : isObject(item) ? item.link : undefined
      if (isLink(dest)) found.push({ rel, dest })
    }
  }
  return found
}
