/**
 * Command-line flags as npm `minimist` 1.2.8 parses them when called without options, which is
 * how `rc` (and so ssb-config 3.4.6 inside ssb-server 16) reads `process.argv`: numeric-looking
 * values become numbers, a bare `--flag` is `true`, `--no-flag` is `false`, `--flag false` is
 * the *string* `"false"`, dotted names build nested objects, a repeated flag becomes an array,
 * single-dash letters are short flags, and everything after `--` is positional.
 *
 * Alongside the parsed object we keep, for every key path that was set, the flag that set it,
 * so that a validation error can say "from flag --port".
 */
import { isPlainRecord } from './internal/records.js'

/** The parsed flags (`_` holds the positional arguments) and where each key came from. */
export interface ParsedArgv {
  args: Record<string, unknown>
  /** Dotted key path → the flag as typed (`--ws.port`, `-p`). */
  origins: Map<string, string>
}

/** minimist's test for a value it turns into a number. */
function looksNumeric(value: unknown): boolean {
  if (typeof value === 'number') return true
  if (typeof value !== 'string') return false
  if (/^0x[0-9a-f]+$/i.test(value)) return true
  return /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(e[-+]?\d+)?$/.test(value)
}

/** Keys minimist refuses to walk into or assign, so that flags cannot reach prototypes. */
function isForbiddenKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor'
}

/**
 * Parses `argv` (without the node binary and script) the way `minimist(argv)` does.
 * Where minimist would throw (a dotted flag below a flag that already holds a number or a
 * string, such as `--a 1 --a.b 2`), the deeper flag is dropped and the earlier value kept.
 */
export function parseArgv(argv: readonly string[]): ParsedArgv {
  const args: Record<string, unknown> = { _: [] }
  const positional = args._ as unknown[]
  const origins = new Map<string, string>()

  const setKey = (keys: string[], value: unknown): boolean => {
    let node: Record<string, unknown> = args
    for (const key of keys.slice(0, -1)) {
      if (isForbiddenKey(key)) return false
      if (!Object.hasOwn(node, key) || node[key] === undefined) node[key] = {}
      const next = node[key]
      if (typeof next !== 'object' || next === null) return false
      node = next as Record<string, unknown>
    }
    const last = keys[keys.length - 1] as string
    if (isForbiddenKey(last)) return false
    const existing = Object.hasOwn(node, last) ? node[last] : undefined
    if (existing === undefined || typeof existing === 'boolean') node[last] = value
    else if (Array.isArray(existing)) existing.push(value)
    else node[last] = [existing, value]
    return true
  }

  const setArg = (key: string, value: unknown, flag: string): void => {
    const converted = looksNumeric(value) ? Number(value) : value
    if (setKey(key.split('.'), converted)) origins.set(key, flag)
  }

  let flags = [...argv]
  let rest: string[] = []
  const separator = flags.indexOf('--')
  if (separator !== -1) {
    rest = flags.slice(separator + 1)
    flags = flags.slice(0, separator)
  }

  for (let i = 0; i < flags.length; i++) {
    const arg = flags[i] as string
    const next = flags[i + 1]
    if (/^--.+=/.test(arg)) {
      const match = /^--([^=]+)=([\s\S]*)$/.exec(arg)
      if (match) setArg(match[1] as string, match[2] as string, `--${match[1]}`)
    } else if (/^--no-.+/.test(arg)) {
      const key = arg.slice('--no-'.length)
      setArg(key, false, arg)
    } else if (/^--.+/.test(arg)) {
      const key = arg.slice(2)
      if (next !== undefined && !/^(-|--)[^-]/.test(next)) {
        setArg(key, next, arg)
        i += 1
      } else if (next !== undefined && /^(true|false)$/.test(next)) {
        setArg(key, next === 'true', arg)
        i += 1
      } else {
        setArg(key, true, arg)
      }
    } else if (/^-[^-]+/.test(arg)) {
      const letters = arg.slice(1, -1).split('')
      let broken = false
      for (let j = 0; j < letters.length; j++) {
        const letter = letters[j] as string
        const tail = arg.slice(j + 2)
        if (tail === '-') {
          setArg(letter, tail, `-${letter}`)
          continue
        }
        if (/[A-Za-z]/.test(letter) && tail[0] === '=') {
          setArg(letter, tail.slice(1), `-${letter}`)
          broken = true
          break
        }
        if (/[A-Za-z]/.test(letter) && /-?\d+(\.\d*)?(e-?\d+)?$/.test(tail)) {
          setArg(letter, tail, `-${letter}`)
          broken = true
          break
        }
        const following = letters[j + 1]
        if (following !== undefined && /\W/.test(following)) {
          setArg(letter, tail, `-${letter}`)
          broken = true
          break
        }
        setArg(letter, true, `-${letter}`)
      }
      const key = arg.slice(-1)
      if (!broken && key !== '-') {
        if (next && !/^(-|--)[^-]/.test(next)) {
          setArg(key, next, `-${key}`)
          i += 1
        } else if (next && /^(true|false)$/.test(next)) {
          setArg(key, next === 'true', `-${key}`)
          i += 1
        } else {
          setArg(key, true, `-${key}`)
        }
      }
    } else {
      positional.push(looksNumeric(arg) ? Number(arg) : arg)
    }
  }
  positional.push(...rest)
  return { args, origins }
}

/**
 * Records the origin of every leaf of an already parsed flags object (the `args` option), so
 * that errors can still name the flag.
 */
export function originsOfParsed(args: Record<string, unknown>): Map<string, string> {
  const origins = new Map<string, string>()
  const walk = (node: unknown, path: string[]): void => {
    if (isPlainRecord(node)) {
      for (const [key, value] of Object.entries(node)) {
        if (path.length === 0 && key === '_') continue
        const here = [...path, key]
        origins.set(here.join('.'), `--${here.join('.')}`)
        walk(value, here)
      }
    }
  }
  walk(args, [])
  return origins
}
