/**
 * Deep merging as npm `deep-extend` 0.6 does it, which is how `rc` layers its sources and how
 * ssb-config 3.4.6 lays the result over its defaults: objects merge key by key, anything else
 * (arrays included) replaces what was there, arrays and byte buffers are copied, `__proto__` is
 * never read or written.
 */
import { isPlainRecord } from './records.js'

function cloneLeaf(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value)
  if (value instanceof Date) return new Date(value.getTime())
  if (value instanceof RegExp) return new RegExp(value)
  return value
}

function cloneArray(items: readonly unknown[]): unknown[] {
  return items.map((item) => {
    if (Array.isArray(item)) return cloneArray(item)
    if (isPlainRecord(item)) return deepExtend({}, item)
    return cloneLeaf(item)
  })
}

/**
 * Merges each source into `target` (mutated and returned). Sources that are not plain objects
 * are skipped, as deep-extend skips them.
 */
export function deepExtend(
  target: Record<string, unknown>,
  ...sources: unknown[]
): Record<string, unknown> {
  for (const source of sources) {
    if (!isPlainRecord(source)) continue
    for (const key of Object.keys(source)) {
      if (key === '__proto__') continue
      const incoming = source[key]
      const existing = Object.hasOwn(target, key) ? target[key] : undefined
      if (incoming === target) continue
      if (Array.isArray(incoming)) {
        target[key] = cloneArray(incoming)
      } else if (!isPlainRecord(incoming)) {
        target[key] = cloneLeaf(incoming)
      } else if (!isPlainRecord(existing)) {
        target[key] = deepExtend({}, incoming)
      } else {
        target[key] = deepExtend(existing, incoming)
      }
    }
  }
  return target
}
