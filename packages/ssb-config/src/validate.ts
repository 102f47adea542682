/**
 * Type conversion and validation of the merged configuration, before connections are derived.
 *
 * Conversion: environment variables and INI files can only hold text, and minimist leaves
 * `--offline false` as the string `"false"`. ssb-config passes such strings on as they are, so
 * `ssb_port=9999` yields the string `"9999"` and `ssb_offline=false` is *truthy*. Here, at the
 * keys known to hold numbers or booleans, a decimal string becomes a number and `"true"` /
 * `"false"` become booleans. Anything else is left alone and then rejected by validation if the
 * key is validated.
 *
 * Validation (bad-inputs.md §1): every error is a `ConfigError` naming the key path and the
 * source that set it.
 */
import { parseSecretFile } from '@scuttlekit/ssb-keys'
import { describe, type FeedId, isFeedId } from '@scuttlekit/ssb-ref'
import { ConfigError } from './errors.js'
import { formatPath, getPath, isPlainRecord } from './internal/records.js'
import type { LogLevel } from './types.js'

/** Names the source of the value at a key path. */
export type SourceOf = (path: readonly (string | number)[]) => string

/** Accepted `logging.level` values. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze([
  'error',
  'warning',
  'notice',
  'info',
  'debug',
  'trace',
])

const NUMBER_KEYS: readonly (readonly string[])[] = [
  ['port'],
  ['ws', 'port'],
  ['timeout'],
  ['friends', 'hops'],
  ['friends', 'dunbar'],
  ['gossip', 'connections'],
  ['blobs', 'max'],
  ['blobs', 'sympathy'],
  ['blobs', 'pushy'],
  ['ooo', 'timeout'],
]

const BOOLEAN_KEYS: readonly (readonly string[])[] = [
  ['offline'],
  ['allowPrivate'],
  ['party'],
  ['pub'],
  ['local'],
  ['blobs', 'stingy'],
  ['blobs', 'legacy'],
  ['replicate', 'legacy'],
  ['replicate', 'fallback'],
  ['gossip', 'local'],
  ['gossip', 'friends'],
  ['gossip', 'seed'],
  ['gossip', 'global'],
  ['gossip', 'autoPopulate'],
  ['gossip', 'pub'],
  ['ooo', 'hook'],
]

const DECIMAL = /^\s*-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?\s*$/i

function convertAt(
  root: Record<string, unknown>,
  path: readonly string[],
  convert: (value: string) => unknown,
): void {
  const parent = getPath(root, path.slice(0, -1))
  const key = path[path.length - 1] as string
  if (!isPlainRecord(parent) || !Object.hasOwn(parent, key)) return
  const value = parent[key]
  if (typeof value === 'string') parent[key] = convert(value)
}

const toNumber = (value: string): unknown => (DECIMAL.test(value) ? Number(value) : value)
const toBoolean = (value: string): unknown =>
  value === 'true' ? true : value === 'false' ? false : value

/** Converts text at the keys known to hold numbers or booleans (see the module comment). */
export function convertKnownTypes(config: Record<string, unknown>): void {
  for (const path of NUMBER_KEYS) convertAt(config, path, toNumber)
  for (const path of BOOLEAN_KEYS) convertAt(config, path, toBoolean)
  const timers = config.timers
  if (isPlainRecord(timers)) {
    for (const key of Object.keys(timers)) convertAt(config, ['timers', key], toNumber)
  }
  const incoming = getPath(config, ['connections', 'incoming'])
  if (isPlainRecord(incoming)) {
    for (const entries of Object.values(incoming)) {
      if (!Array.isArray(entries)) continue
      for (const entry of entries) {
        if (isPlainRecord(entry) && typeof entry.port === 'string')
          entry.port = toNumber(entry.port)
      }
    }
  }
}

/** Validates and normalises the merged configuration in place. */
export class Validator {
  constructor(
    private readonly config: Record<string, unknown>,
    private readonly sourceOf: SourceOf,
  ) {}

  private fail(path: readonly (string | number)[], problem: string, value: unknown): never {
    const field = formatPath(path)
    const source = this.sourceOf(path)
    throw new ConfigError(
      field,
      source,
      `invalid config ${field} (from ${source}): ${problem}, got ${describe(value)}`,
    )
  }

  private record(path: readonly (string | number)[]): Record<string, unknown> {
    const value = getPath(this.config, path)
    if (!isPlainRecord(value)) this.fail(path, 'must be an object', value)
    return value
  }

  /** An integer from 1 to 65535; 0 too when it comes from `overrides`; null means unset. */
  port(path: readonly (string | number)[], holder: Record<string, unknown>, key: string): void {
    const value = holder[key]
    if (value === undefined) return
    if (value === null) {
      delete holder[key]
      return
    }
    const min = this.sourceOf(path) === 'overrides' ? 0 : 1
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
      this.fail(path, `must be an integer from ${min} to 65535`, value)
    }
  }

  private nonNegative(path: readonly (string | number)[], value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      this.fail(path, 'must be a non-negative number', value)
    }
  }

  /** A 32-byte key as base64 (bytes are turned into base64); undefined when null/undefined. */
  private key32(path: readonly (string | number)[], value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined
    if (value instanceof Uint8Array && value.length === 32)
      return Buffer.from(value).toString('base64')
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(value)) {
      this.fail(path, 'must be base64 of exactly 32 bytes', value)
    }
    return value
  }

  private connections(): void {
    const connections = this.record(['connections'])
    const incoming = connections.incoming
    if (incoming !== undefined && incoming !== null) {
      const transports = this.record(['connections', 'incoming'])
      for (const [transport, entries] of Object.entries(transports)) {
        const base = ['connections', 'incoming', transport]
        if (!Array.isArray(entries)) this.fail(base, 'must be an array of entries', entries)
        entries.forEach((entry: unknown, index) => {
          const at = [...base, index]
          if (!isPlainRecord(entry)) this.fail(at, 'must be an object', entry)
          const scope = entry.scope
          const scopeOk =
            (typeof scope === 'string' && scope !== '') ||
            (Array.isArray(scope) && scope.every((s) => typeof s === 'string'))
          if ((transport === 'net' || transport === 'ws' || scope !== undefined) && !scopeOk) {
            this.fail([...at, 'scope'], 'must be a scope name or a list of them', scope)
          }
          if (entry.host !== undefined && typeof entry.host !== 'string') {
            this.fail([...at, 'host'], 'must be a string', entry.host)
          }
          if (entry.transform !== undefined && typeof entry.transform !== 'string') {
            this.fail([...at, 'transform'], 'must be a string', entry.transform)
          }
          this.port([...at, 'port'], entry, 'port')
        })
      }
    } else {
      delete connections.incoming
    }
    if (connections.outgoing !== undefined) {
      const transports = this.record(['connections', 'outgoing'])
      for (const [transport, entries] of Object.entries(transports)) {
        if (!Array.isArray(entries)) {
          this.fail(['connections', 'outgoing', transport], 'must be an array of entries', entries)
        }
      }
    }
  }

  private caps(): void {
    const caps = this.record(['caps'])
    const appKey = this.key32(['appKey'], this.config.appKey)
    if (appKey !== undefined) this.config.appKey = appKey
    const shs = this.key32(['caps', 'shs'], caps.shs)
    if (shs !== undefined) caps.shs = shs
    else if (appKey !== undefined) caps.shs = appKey
    else this.fail(['caps', 'shs'], 'must be base64 of exactly 32 bytes (or set appKey)', caps.shs)
    const sign = this.key32(['caps', 'sign'], caps.sign)
    caps.sign = sign ?? null
  }

  private master(): void {
    const value = this.config.master
    const list = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]
    list.forEach((id: unknown, index) => {
      const path = Array.isArray(value) ? ['master', index] : ['master']
      if (!isFeedId(id) || !id.endsWith('.ed25519')) {
        this.fail(path, 'must be a feed id (@<base64>.ed25519) or a list of them', id)
      }
    })
    this.config.master = list as FeedId[]
  }

  private keys(): void {
    const keys = this.config.keys
    if (keys === undefined || keys === null) return
    try {
      if (!isPlainRecord(keys)) throw new TypeError('not an object')
      this.config.keys = parseSecretFile(JSON.stringify(keys))
    } catch (err) {
      const source = this.sourceOf(['keys'])
      const reason = err instanceof Error ? err.message : String(err)
      throw new ConfigError(
        'keys',
        source,
        `invalid config keys (from ${source}): must be a consistent ed25519 key object (${reason})`,
        { cause: err },
      )
    }
  }

  /** Runs every check; throws the first `ConfigError`. */
  run(): void {
    const config = this.config
    if (typeof config.path !== 'string' || config.path === '' || config.path.includes('\0')) {
      this.fail(['path'], 'must be a non-empty string', config.path)
    }
    if (config.host !== undefined && config.host !== null && typeof config.host !== 'string') {
      this.fail(['host'], 'must be a string', config.host)
    }
    this.port(['port'], config, 'port')
    if (isPlainRecord(config.ws)) this.port(['ws', 'port'], config.ws, 'port')
    this.connections()
    this.nonNegative(['timeout'], config.timeout)
    const timers = this.record(['timers'])
    for (const [key, value] of Object.entries(timers)) {
      if (value !== undefined) this.nonNegative(['timers', key], value)
    }
    const friends = this.record(['friends'])
    this.nonNegative(['friends', 'hops'], friends.hops)
    this.caps()
    const logging = this.record(['logging'])
    if (!LOG_LEVELS.includes(logging.level as LogLevel)) {
      this.fail(['logging', 'level'], `must be one of ${LOG_LEVELS.join(', ')}`, logging.level)
    }
    this.master()
    this.keys()
  }
}
