/**
 * The shallow copy npm `ssb-keys` makes before signing or verifying (§2.3 of ssb-protocol.md):
 * own enumerable properties, copied by assignment in `for…in` order.
 *
 * Assignment matters for an own `__proto__` key (which `JSON.parse` creates): it sets the copy's
 * prototype instead of copying, so the key drops out of the serialisation, as it does in the
 * reference. A spread copy would keep it and compute different signing bytes.
 */
export function referenceClone(obj: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  if (obj === null || obj === undefined) return copy
  const source = obj as Record<string, unknown>
  for (const key in source) {
    if (Object.hasOwn(source, key)) copy[key] = source[key]
  }
  return copy
}
