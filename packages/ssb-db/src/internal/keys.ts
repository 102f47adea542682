/**
 * Order-preserving binary encoding of index keys (tuples of strings and numbers), so that level's
 * byte order is the order the reference's charwise keys give: element by element, `null` first,
 * then numbers ascending, then strings by their UTF-8 bytes.
 *
 * - `null`   → 0x01
 * - number → 0x02 + 8 bytes: the IEEE double, sign bit flipped for positives, all bits for
 *   negatives (so byte order is numeric order)
 * - string → 0x03 + UTF-8 with 0x00 written 0x00 0xFF, then 0x00
 */
export type KeyPart = string | number | null

const NULL = 0x01
const NUM = 0x02
const STR = 0x03

/**
 * Encodes a tuple, after `prefix` (one byte, e.g. an index's letter, or none). The result of a
 * prefix of a tuple is a byte prefix of the whole.
 */
export function encodeKey(parts: readonly KeyPart[], prefix?: number): Buffer {
  let size = prefix === undefined ? 0 : 1
  // Strings holding NUL need escaping and go through a buffer; others are written directly.
  let escaped: (Buffer | undefined)[] | undefined
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]
    if (typeof p === 'string') {
      if (p.indexOf('\u0000') === -1) {
        size += 2 + Buffer.byteLength(p, 'utf8')
      } else {
        const b = Buffer.from(p, 'utf8')
        escaped ??= new Array(parts.length)
        escaped[i] = b
        let zeros = 0
        for (let j = b.indexOf(0); j !== -1; j = b.indexOf(0, j + 1)) zeros++
        size += 2 + b.length + zeros
      }
    } else if (typeof p === 'number') {
      size += 9
    } else {
      size += 1
    }
  }
  const out = Buffer.allocUnsafe(size)
  let at = 0
  if (prefix !== undefined) out[at++] = prefix
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]
    if (typeof p === 'string') {
      out[at++] = STR
      const b = escaped?.[i]
      if (b === undefined) {
        at += out.write(p, at, 'utf8')
      } else {
        let from = 0
        for (let j = b.indexOf(0); j !== -1; j = b.indexOf(0, j + 1)) {
          at += b.copy(out, at, from, j + 1)
          out[at++] = 0xff
          from = j + 1
        }
        at += b.copy(out, at, from)
      }
      out[at++] = 0
    } else if (typeof p === 'number') {
      out[at++] = NUM
      out.writeDoubleBE(p === 0 ? 0 : p, at) // -0 sorts as 0
      if (out[at]! & 0x80) {
        for (let k = 0; k < 8; k++) out[at + k] = ~out[at + k]! & 0xff
      } else {
        out[at] = out[at]! | 0x80
      }
      at += 8
    } else {
      out[at++] = NULL
    }
  }
  return out
}

/** Decodes a key made by {@link encodeKey}. */
export function decodeKey(buf: Uint8Array): KeyPart[] {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const parts: KeyPart[] = []
  let at = 0
  while (at < b.length) {
    const tag = b[at++]
    if (tag === NULL) parts.push(null)
    else if (tag === NUM) {
      const bytes = Buffer.from(b.subarray(at, at + 8))
      if (bytes[0]! & 0x80) bytes[0] = bytes[0]! & 0x7f
      else for (let k = 0; k < 8; k++) bytes[k] = ~bytes[k]! & 0xff
      parts.push(bytes.readDoubleBE(0))
      at += 8
    } else if (tag === STR) {
      const chunks: Buffer[] = []
      let from = at
      for (;;) {
        const z = b.indexOf(0, at)
        if (z === -1) throw new RangeError('unterminated string in index key')
        if (b[z + 1] === 0xff) {
          chunks.push(b.subarray(from, z + 1))
          at = z + 2
          from = at
          continue
        }
        chunks.push(b.subarray(from, z))
        at = z + 1
        break
      }
      parts.push(Buffer.concat(chunks).toString('utf8'))
    } else {
      throw new RangeError(`bad tag ${tag} in index key`)
    }
  }
  return parts
}

/** The key of index `index` (one letter) for the tuple `parts`. */
export function indexKey(index: string, parts: readonly KeyPart[]): Buffer {
  return encodeKey(parts, index.charCodeAt(0))
}

/** A bound just above every key that starts with `key` (for `lt`/`gt` over a whole prefix). */
export function pastPrefix(key: Buffer): Buffer {
  return Buffer.concat([key, HIGH])
}

const HIGH = Buffer.from([0xff])

/** Offsets are stored as 6-byte big-endian values (logs up to 256 TiB). */
export function encodeOffset(offset: number): Buffer {
  const b = Buffer.allocUnsafe(6)
  b.writeUIntBE(offset, 0, 6)
  return b
}

export function decodeOffset(b: Uint8Array): number {
  return (b as Buffer).readUIntBE(0, 6)
}
