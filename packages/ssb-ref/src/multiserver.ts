/**
 * Multiserver addresses at the grammar level (`ssb-protocol.md` §1.5), as npm
 * `multiserver-address` 1.0.1 defines them:
 *
 * ```
 * multi    = address (";" address)*
 * address  = protocol ("~" protocol)*
 * protocol = name (":" data)*
 * name     = [a-z][a-z0-9-]+
 * data     = ( ["-9] | [<-}] | "!" [!~:;] )*
 * ```
 *
 * The first protocol of an address is its transport (`net`, `ws`, `onion`, `unix`, ...), the
 * others are transforms applied on top (`shs`, `noauth`). Unlike npm `multiserver-address`, whose
 * `encode` does not escape, {@link stringifyMultiserverAddress} writes `!`, `~`, `:` and `;` in
 * data as `!!`, `!~`, `!:` and `!;`, so parse and stringify are exact inverses.
 */
import { InvalidAddressError } from './errors.js'

/** One `name:data:data...` piece of an address. `data` holds the fields with escapes removed. */
export interface MultiserverProtocol {
  readonly name: string
  readonly data: readonly string[]
}

/** One `;`-separated alternative: a transport followed by zero or more transforms. */
export interface MultiserverRoute {
  readonly transport: MultiserverProtocol
  readonly transforms: readonly MultiserverProtocol[]
}

/** A whole multiserver address: one or more routes to the same peer, tried in order. */
export type MultiserverAddress = readonly MultiserverRoute[]

const namePattern = /^[a-z][a-z0-9-]+$/

/** True for a valid protocol name: `[a-z][a-z0-9-]+` (two characters at least). */
export function isMultiserverName(value: unknown): value is string {
  return typeof value === 'string' && namePattern.test(value)
}

// A literal data character: `"` (0x22) to `9` (0x39) or `<` (0x3c) to `}` (0x7d).
function isDataChar(code: number): boolean {
  return (code >= 0x22 && code <= 0x39) || (code >= 0x3c && code <= 0x7d)
}

function isEscapable(char: string | undefined): boolean {
  return char === '!' || char === '~' || char === ':' || char === ';'
}

type RawProtocol = { name: string; data: string[] }

// Splits the text into routes of protocols, undoing escapes, or returns a reason for failure.
function scan(text: string): RawProtocol[][] | string {
  const routes: RawProtocol[][] = []
  let route: RawProtocol[] = []
  let fields: string[] = []
  let field = ''
  let i = 0
  const finishProtocol = (): string | undefined => {
    fields.push(field)
    const [name, ...data] = fields
    if (!namePattern.test(name!)) return `bad protocol name ${JSON.stringify(name)}`
    route.push({ name: name!, data })
    fields = []
    field = ''
    return undefined
  }
  while (i < text.length) {
    const char = text[i]!
    if (char === '!') {
      const next = text[i + 1]
      if (!isEscapable(next)) return `bad escape at offset ${i}`
      if (fields.length === 0) return `escape inside protocol name at offset ${i}`
      field += next
      i += 2
      continue
    }
    if (char === ':') {
      fields.push(field)
      field = ''
    } else if (char === '~' || char === ';') {
      const failure = finishProtocol()
      if (failure) return failure
      if (char === ';') {
        routes.push(route)
        route = []
      }
    } else if (isDataChar(char.charCodeAt(0))) {
      field += char
    } else {
      return `character ${JSON.stringify(char)} not allowed at offset ${i}`
    }
    i++
  }
  const failure = finishProtocol()
  if (failure) return failure
  routes.push(route)
  return routes
}

/**
 * True when `value` is a string in the multiserver grammar; the same verdict as npm
 * `multiserver-address.check`. This says nothing about the transports being known.
 */
export function isMultiserverAddress(value: unknown): value is string {
  return typeof value === 'string' && typeof scan(value) !== 'string'
}

/**
 * Parses a multiserver address into routes (npm `multiserver-address.decode`, reshaped into
 * transport and transforms). Throws {@link InvalidAddressError} when the text is outside the
 * grammar. Data fields may be empty: `net:::1:8008` has the fields `''`, `''`, `'1'`, `'8008'`.
 */
export function parseMultiserverAddress(text: string): MultiserverAddress {
  if (typeof text !== 'string') throw new InvalidAddressError(text, 'not a string')
  const routes = scan(text)
  if (typeof routes === 'string') throw new InvalidAddressError(text, routes)
  return routes.map(([transport, ...transforms]) => ({ transport: transport!, transforms }))
}

/**
 * Escapes one data field: `!`, `~`, `:` and `;` get a `!` in front. Throws
 * {@link InvalidAddressError} for characters the grammar cannot carry at all (space, control
 * characters, `DEL` and anything outside ASCII).
 */
export function escapeMultiserverData(field: string): string {
  let out = ''
  for (const char of field) {
    if (isEscapable(char)) out += `!${char}`
    else if (char.length === 1 && isDataChar(char.charCodeAt(0))) out += char
    else throw new InvalidAddressError(field, `character ${JSON.stringify(char)} cannot be encoded`)
  }
  return out
}

function stringifyProtocol(protocol: MultiserverProtocol): string {
  if (!isMultiserverName(protocol.name)) {
    throw new InvalidAddressError(protocol.name, 'bad protocol name')
  }
  return [protocol.name, ...protocol.data.map(escapeMultiserverData)].join(':')
}

/**
 * Writes routes back as text, escaping data. `parseMultiserverAddress(s)` stringifies back to
 * exactly `s`. Throws {@link InvalidAddressError} for an empty list, a bad name, or data with
 * characters the grammar cannot carry.
 */
export function stringifyMultiserverAddress(address: MultiserverAddress): string {
  if (!Array.isArray(address) || address.length === 0) {
    throw new InvalidAddressError(address, 'no routes')
  }
  return address
    .map((route) => [route.transport, ...route.transforms].map(stringifyProtocol).join('~'))
    .join(';')
}
