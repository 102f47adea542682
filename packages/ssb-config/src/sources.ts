/**
 * The sources `rc` 1.2.8 reads, in its order, each kept as a separate layer that remembers
 * where its values came from (so validation errors can name the file, variable or flag):
 *
 * `/etc/<name>/config` → `/etc/<name>rc` → `~/.config/<name>/config` → `~/.config/<name>` →
 * `~/.<name>/config` → `~/.<name>rc` → the nearest `.<name>rc` from the cwd up → the file named
 * by env `<name>_config` → the file named by `--config` → env `<name>_*` → flags.
 *
 * A file is read once even when two rules name it; a missing file, a directory or an empty file
 * is skipped, as in rc. Unlike rc, an unreadable file (`EACCES`) and a JSON file with a syntax
 * error are errors that name the file.
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { originsOfParsed, parseArgv } from './argv.js'
import { ConfigFileUnreadableError, ConfigSyntaxError } from './errors.js'
import { parseIni } from './internal/ini.js'
import { findJsonSyntaxError, looksLikeJson, stripJsonComments } from './internal/json.js'
import type { ConfigSource } from './types.js'

/** One source's values and how to name the source of one of its keys. */
export interface Layer {
  source: ConfigSource | undefined
  data: Record<string, unknown>
  /** Human-readable source of the value at a (dotted) key path inside `data`. */
  describe(path: string): string
}

/** What the rc stage produced: its layers, lowest precedence first, and the files read. */
export interface RcResult {
  layers: Layer[]
  files: string[]
}

/** Inputs of {@link readRcLayers}, already defaulted by `loadConfig`. */
export interface RcInputs {
  appName: string
  env: NodeJS.ProcessEnv
  cwd: string
  homeDir: string | undefined
  etcDir: string
  argv: readonly string[]
  args: Record<string, unknown> | undefined
  overrides: Record<string, unknown> | undefined
  windows: boolean
}

/** Parses config file text as rc does: JSON (with comments) when it starts with `{`, else INI. */
export function parseConfigText(text: string, path: string): Record<string, unknown> {
  if (!looksLikeJson(text)) return parseIni(text)
  const stripped = stripJsonComments(text.replace(/^\uFEFF/, ''))
  let parsed: unknown
  try {
    parsed = JSON.parse(stripped)
  } catch (err) {
    const problem = findJsonSyntaxError(stripped)
    const detail = problem?.detail ?? (err instanceof Error ? err.message : String(err))
    throw new ConfigSyntaxError(path, detail, problem?.line, problem?.column, { cause: err })
  }
  return parsed as Record<string, unknown>
}

/** Reads a config file; `undefined` when rc would skip it (missing, a directory, empty). */
function readConfigFile(path: string): string | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined
    throw new ConfigFileUnreadableError(path, err)
  }
  return text === '' ? undefined : text
}

/** The nearest `name` in `start` or a parent folder (anything that exists, as rc's `find`). */
function findUp(start: string, name: string): string | undefined {
  let dir = start
  for (;;) {
    const candidate = join(dir, name)
    try {
      statSync(candidate)
      return candidate
    } catch {
      const parent = dirname(dir)
      if (parent === dir) return undefined
      dir = parent
    }
  }
}

/**
 * rc's environment scan: variables whose name starts with `prefix` (any case); the rest of the
 * name, split on `__` with empty parts dropped, is the key path; values stay strings. A path
 * through a key that already holds a string is ignored, as rc ignores it.
 */
export function envLayer(
  prefix: string,
  env: NodeJS.ProcessEnv,
): { data: Record<string, unknown>; origins: Map<string, string> } {
  const data: Record<string, unknown> = {}
  const origins = new Map<string, string>()
  const lower = prefix.toLowerCase()
  for (const name of Object.keys(env)) {
    if (!name.toLowerCase().startsWith(lower)) continue
    const value = env[name]
    if (value === undefined) continue
    const keys = name
      .slice(prefix.length)
      .split('__')
      .filter((part) => part !== '')
    let node: Record<string, unknown> = data
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string
      if (key === '__proto__') break
      if (i === keys.length - 1) {
        node[key] = value
        origins.set(keys.join('.'), name)
        break
      }
      if (!Object.hasOwn(node, key)) node[key] = {}
      const next = node[key]
      if (typeof next !== 'object' || next === null) break
      node = next as Record<string, unknown>
    }
  }
  return { data, origins }
}

/** Names the nearest recorded origin of `path` or one of its ancestors. */
function nearestOrigin(origins: Map<string, string>, path: string): string | undefined {
  let key = path
  for (;;) {
    const found = origins.get(key)
    if (found !== undefined) return found
    const cut = key.lastIndexOf('.')
    if (cut === -1) return undefined
    key = key.slice(0, cut)
  }
}

/** Builds every rc layer for the inputs, reading the config files it finds. */
export function readRcLayers(inputs: RcInputs): RcResult {
  const { appName, env, cwd, homeDir, etcDir } = inputs
  const layers: Layer[] = []
  const files: string[] = []

  const addFile = (path: unknown): void => {
    if (typeof path !== 'string' || files.includes(path)) return
    const text = readConfigFile(resolve(cwd, path))
    if (text === undefined) return
    layers.push({
      source: { kind: 'file', path },
      data: parseConfigText(text, path),
      describe: () => path,
    })
    files.push(path)
  }

  const envScan = envLayer(`${appName}_`, env)
  const parsedArgs =
    inputs.args !== undefined
      ? { args: inputs.args, origins: originsOfParsed(inputs.args) }
      : parseArgv(inputs.argv)

  if (!inputs.windows) {
    addFile(join(etcDir, appName, 'config'))
    addFile(join(etcDir, `${appName}rc`))
  }
  if (homeDir) {
    addFile(join(homeDir, '.config', appName, 'config'))
    addFile(join(homeDir, '.config', appName))
    addFile(join(homeDir, `.${appName}`, 'config'))
    addFile(join(homeDir, `.${appName}rc`))
  }
  addFile(findUp(cwd, `.${appName}rc`))
  if (envScan.data.config) addFile(envScan.data.config)
  if (parsedArgs.args.config) addFile(parsedArgs.args.config)

  const variables = [...new Set(envScan.origins.values())]
  layers.push({
    source: variables.length > 0 ? { kind: 'env', variables } : undefined,
    data: envScan.data,
    describe: (path) => `environment variable ${nearestOrigin(envScan.origins, path) ?? '?'}`,
  })
  const flags = [...new Set(parsedArgs.origins.values())]
  layers.push({
    source: flags.length > 0 ? { kind: 'argv', flags } : undefined,
    data: parsedArgs.args,
    describe: (path) => `flag ${nearestOrigin(parsedArgs.origins, path) ?? `--${path}`}`,
  })
  if (inputs.overrides !== undefined) {
    layers.push({
      source: { kind: 'overrides' },
      data: inputs.overrides,
      describe: () => 'overrides',
    })
  }
  if (files.length > 0) {
    layers.push({
      source: undefined,
      data: { configs: [...files], config: files[files.length - 1] },
      describe: () => 'the list of config files read',
    })
  }
  return { layers, files }
}
