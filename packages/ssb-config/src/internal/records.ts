/** Small helpers for walking untyped configuration objects. */

/** True for an object that is merged key by key: not null, not an array, not bytes or a date. */
export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Date) &&
    !(value instanceof RegExp)
  )
}

/** A key path as users write it: `connections.incoming.net[0].port`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? part : `.${part}`
  }
  return out
}

/** The value at `path`, walking own properties of objects and arrays only. */
export function getPath(root: unknown, path: readonly (string | number)[]): unknown {
  let node: unknown = root
  for (const part of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return undefined
    node = (node as Record<string | number, unknown>)[part]
  }
  return node
}
