/**
 * The INI dialect of npm `ini` 1.3.8 (`ini.parse`), which `rc` uses for every config file that
 * does not start with `{`. Everything is INI to it, so it never fails: lines it cannot read
 * are skipped. What it does:
 *
 * - `[section]` (the whole line, no surrounding spaces) opens a section; `[a.b]` nests as
 *   `{a: {b: …}}`, and `\.` escapes a dot.
 * - `key = value`; a line with no `=` sets `key` to `true`; `key[] = v` appends to an array.
 * - Values are strings, except `true`, `false` and `null`, which become those values. A value in
 *   double quotes is read as JSON; one in single quotes loses them and is read as JSON when it
 *   can be (so `'8008'` is the *number* 8008); otherwise an unescaped `;` or `#` starts a comment.
 * - Lines starting with `;` or `#` are comments; `__proto__` sections and keys are ignored.
 */
import { isPlainRecord } from './records.js'

const PLACEHOLDER = '\u0001'
const LITERAL = '\u0002LITERAL\\1LITERAL\u0002'

function isQuoted(value: string): boolean {
  return (
    (value.charAt(0) === '"' && value.slice(-1) === '"') ||
    (value.charAt(0) === "'" && value.slice(-1) === "'")
  )
}

/** `ini`'s `unsafe`: trims, unquotes, or cuts at the first unescaped `;`/`#`. */
function unescapeValue(raw: string): unknown {
  const value = raw.trim()
  if (isQuoted(value)) {
    const inner = value.charAt(0) === "'" ? value.slice(1, Math.max(1, value.length - 1)) : value
    try {
      return JSON.parse(inner)
    } catch {
      return inner
    }
  }
  let escaped = false
  let out = ''
  for (const char of value) {
    if (escaped) {
      out += '\\;#'.includes(char) ? char : `\\${char}`
      escaped = false
    } else if (char === ';' || char === '#') {
      break
    } else if (char === '\\') {
      escaped = true
    } else {
      out += char
    }
  }
  if (escaped) out += '\\'
  return out.trim()
}

/** Splits a section name on unescaped dots, as `ini`'s `dotSplit` does. */
function dotSplit(name: string): string[] {
  return name
    .replaceAll(PLACEHOLDER, LITERAL)
    .replace(/\\\./g, PLACEHOLDER)
    .split('.')
    .map((part) => part.replaceAll(PLACEHOLDER, '\\.').replaceAll(LITERAL, PLACEHOLDER))
}

/** Parses INI text into a plain object, exactly as `ini.parse` 1.3.8 would. */
export function parseIni(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let section: Record<string, unknown> = out
  const pattern = /^\[([^\]]*)\]$|^([^=]+)(=(.*))?$/i
  for (const line of text.split(/[\r\n]+/g)) {
    if (!line || /^\s*[;#]/.test(line)) continue
    const match = pattern.exec(line)
    if (!match) continue
    if (match[1] !== undefined) {
      const name = String(unescapeValue(match[1]))
      if (name === '__proto__') {
        section = {}
        continue
      }
      const existing = Object.hasOwn(out, name) ? out[name] : undefined
      if (existing) {
        // A name already holding a scalar: `ini` keeps the scalar and loses the section's keys.
        section = isPlainRecord(existing) || Array.isArray(existing) ? (existing as never) : {}
      } else {
        section = {}
        out[name] = section
      }
      continue
    }
    let key = String(unescapeValue(match[2] as string))
    if (key === '__proto__') continue
    let value = match[3] ? unescapeValue(match[4] as string) : true
    if (value === 'true' || value === 'false' || value === 'null') value = JSON.parse(value)
    if (key.length > 2 && key.endsWith('[]')) {
      key = key.slice(0, -2)
      if (key === '__proto__') continue
      const existing = Object.hasOwn(section, key) ? section[key] : undefined
      if (!existing) section[key] = []
      else if (!Array.isArray(existing)) section[key] = [existing]
    }
    const existing = Object.hasOwn(section, key) ? section[key] : undefined
    if (Array.isArray(existing)) existing.push(value)
    else section[key] = value
  }

  // `[a.b]` becomes `{a: {b: …}}`, replacing a scalar `a` on the way.
  const moved: string[] = []
  for (const name of Object.keys(out)) {
    const value = out[name]
    if (!isPlainRecord(value)) continue
    const parts = dotSplit(name)
    const last = parts.pop() as string
    const unescaped = last.replace(/\\\./g, '.')
    let parent: Record<string, unknown> = out
    for (const part of parts) {
      if (part === '__proto__') continue
      const child = Object.hasOwn(parent, part) ? parent[part] : undefined
      if (!child || typeof child !== 'object') parent[part] = {}
      parent = parent[part] as Record<string, unknown>
    }
    if (parent === out && unescaped === last) continue
    parent[unescaped] = value
    moved.push(name)
  }
  for (const name of moved) delete out[name]
  return out
}
