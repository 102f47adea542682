/**
 * Node's `querystring.parse(qs)` with default arguments (`&`, `=`, at most 1000 pairs), which
 * npm `ssb-ref.parseLink` uses on the part after `?`. Re-implemented so the package stays free
 * of Node built-ins; its quirks are kept: `+` is a space, a pair is only decoded when a valid
 * `%XX` was seen, a failed `decodeURIComponent` falls back to a byte-wise decoder that keeps the
 * low byte of each UTF-16 unit, repeated keys collect into an array, the result has no prototype.
 */

/** The object `querystring.parse` returns (prototype `null`). */
export type QueryObject = Record<string, string | string[]>

const AMPERSAND = 0x26
const EQUALS = 0x3d
const PLUS = 0x2b
const PERCENT = 0x25
const MAX_PAIRS = 1000

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (code >= 0x41 && code <= 0x46) return code - 0x37
  if (code >= 0x61 && code <= 0x66) return code - 0x57
  return -1
}

const utf8 = new TextDecoder('utf-8')

// Node's `querystring.unescapeBuffer(s).toString()`: valid `%XX` become bytes, every other UTF-16
// unit is stored as its low byte (as a write into a Uint8Array does), then decoded as UTF-8.
function unescapeBytes(text: string): string {
  const out = new Uint8Array(text.length)
  let length = 0
  let index = 0
  while (index < text.length) {
    let code = text.charCodeAt(index)
    if (code === PERCENT && index < text.length - 2) {
      const high = hexValue(text.charCodeAt(index + 1))
      const low = high < 0 ? -1 : hexValue(text.charCodeAt(index + 2))
      if (high >= 0 && low >= 0) {
        code = high * 16 + low
        index += 2
      }
    }
    out[length++] = code & 0xff
    index++
  }
  return utf8.decode(out.subarray(0, length))
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return unescapeBytes(text)
  }
}

function add(
  result: QueryObject,
  rawKey: string,
  rawValue: string,
  keyEncoded: boolean,
  valueEncoded: boolean,
): void {
  const key = rawKey.length > 0 && keyEncoded ? decode(rawKey) : rawKey
  const value = rawValue.length > 0 && valueEncoded ? decode(rawValue) : rawValue
  const current = result[key]
  if (current === undefined) result[key] = value
  else if (Array.isArray(current)) current.push(value)
  else result[key] = [current, value]
}

/** `require('querystring').parse(qs)` of Node 20, for a string argument. */
export function parseQueryString(qs: string): QueryObject {
  const result: QueryObject = Object.create(null)
  if (qs.length === 0) return result

  let pairs = MAX_PAIRS
  let lastPos = 0
  let sawEquals = false
  let key = ''
  let value = ''
  let keyEncoded = false
  let valueEncoded = false
  // Counts the characters of a `%XX` in progress (1 after `%`, 3 when complete).
  let encodeCheck = 0

  for (let i = 0; i < qs.length; i++) {
    const code = qs.charCodeAt(i)
    if (code === AMPERSAND) {
      if (!sawEquals) {
        if (lastPos < i) key += qs.slice(lastPos, i)
        else if (key.length === 0) {
          // An empty pair between separators still counts towards the limit.
          if (--pairs === 0) return result
          lastPos = i + 1
          continue
        }
      } else if (lastPos < i) value += qs.slice(lastPos, i)
      add(result, key, value, keyEncoded, valueEncoded)
      if (--pairs === 0) return result
      keyEncoded = valueEncoded = false
      key = value = ''
      encodeCheck = 0
      lastPos = i + 1
      sawEquals = false
      continue
    }

    if (!sawEquals) {
      if (code === EQUALS) {
        sawEquals = true
        if (lastPos < i) key += qs.slice(lastPos, i)
        encodeCheck = 0
        lastPos = i + 1
        continue
      }
      if (!keyEncoded) {
        if (code === PERCENT) {
          encodeCheck = 1
          continue
        }
        if (encodeCheck > 0) {
          if (hexValue(code) >= 0) {
            if (++encodeCheck === 3) keyEncoded = true
            continue
          }
          encodeCheck = 0
        }
      }
      if (code === PLUS) {
        if (lastPos < i) key += qs.slice(lastPos, i)
        key += ' '
        lastPos = i + 1
        continue
      }
    }

    // Reached for value characters, and (as in Node) for key characters once the key is known
    // to be encoded: the shared `encodeCheck` can then mark the value as encoded too.
    if (code === PLUS) {
      if (lastPos < i) value += qs.slice(lastPos, i)
      value += ' '
      lastPos = i + 1
    } else if (!valueEncoded) {
      if (code === PERCENT) encodeCheck = 1
      else if (encodeCheck > 0) {
        if (hexValue(code) >= 0) {
          if (++encodeCheck === 3) valueEncoded = true
        } else encodeCheck = 0
      }
    }
  }

  if (lastPos < qs.length) {
    if (!sawEquals) key += qs.slice(lastPos)
    else value += qs.slice(lastPos)
  } else if (!sawEquals && key.length === 0) {
    return result
  }
  add(result, key, value, keyEncoded, valueEncoded)
  return result
}
