/**
 * `loadConfig`: ssb-config 3.4.6's `inject(appname)` (rc layering, defaults, connection
 * derivation, the secret file) with validation and named sources.
 */
import { homedir } from 'node:os'
import {
  loadOrCreateSecretFileSync,
  readSecretFileSync,
  SecretFileNotFoundError,
} from '@scuttlekit/ssb-keys'
import { deriveConnections } from './connections.js'
import { baseDefaults } from './defaults.js'
import { ConfigError } from './errors.js'
import { deepExtend } from './internal/merge.js'
import { isPlainRecord } from './internal/records.js'
import { secretPath } from './paths.js'
import { type Layer, readRcLayers } from './sources.js'
import type {
  ConfigSource,
  LoadConfigOptions,
  SsbConfig,
  SsbConfigBase,
  SsbConfigWithoutKeys,
} from './types.js'
import { convertKnownTypes, type SourceOf, Validator } from './validate.js'

/**
 * The part of a layer responsible for the value at `path`: the full path when the layer sets
 * it, a prefix when the layer puts a non-object (or an array, which replaces wholesale) there,
 * `undefined` when the layer does not touch it.
 */
function responsiblePath(
  data: unknown,
  path: readonly (string | number)[],
): (string | number)[] | undefined {
  let node: unknown = data
  for (let i = 0; i < path.length; i++) {
    if (i > 0 && (!isPlainRecord(node) || Array.isArray(node))) return path.slice(0, i)
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, path[i] as string)) {
      return undefined
    }
    node = (node as Record<string | number, unknown>)[path[i] as string]
  }
  return [...path]
}

function sourceFinder(layers: readonly Layer[]): SourceOf {
  return (path) => {
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as Layer
      const hit = responsiblePath(layer.data, path)
      if (hit) return layer.describe(hit.join('.'))
    }
    return 'defaults'
  }
}

function checkAppName(appName: unknown, source: string): string {
  if (typeof appName !== 'string' || appName === '' || /[/\\\0]/.test(appName)) {
    throw new ConfigError(
      'appName',
      source,
      `invalid config appName (from ${source}): must be a non-empty name without path separators, got ${JSON.stringify(appName)}`,
    )
  }
  return appName
}

/**
 * Loads the configuration exactly as npm ssb-config 3.4.6 does for ssb-server 16
 * (reference-features.md §3), so that existing `~/.ssb/config` files, `ssb_*` environment
 * variables and `--flags` keep working, then validates it and loads (or creates) the identity
 * in `<path>/secret`.
 *
 * Precedence, lowest first: built-in defaults → `/etc/<name>/config` → `/etc/<name>rc` →
 * `~/.config/<name>/config` → `~/.config/<name>` → `~/.<name>/config` → `~/.<name>rc` →
 * nearest `.<name>rc` from `cwd` up → file in env `<name>_config` → file in `--config` → env
 * `<name>_*` (`__` nests) → flags → `overrides`.
 *
 * Throws `ConfigError` (or a subclass) naming the field and its source for invalid values,
 * unreadable or malformed config files and conflicting connection settings; secret file
 * problems surface as `@scuttlekit/ssb-keys` errors and never lead to a new identity.
 */
export function loadConfig(options?: LoadConfigOptions & { createSecret?: true }): SsbConfig
export function loadConfig(
  options: LoadConfigOptions & { createSecret: false },
): SsbConfigWithoutKeys
export function loadConfig(options?: LoadConfigOptions): SsbConfig | SsbConfigWithoutKeys
export function loadConfig(options: LoadConfigOptions = {}): SsbConfig | SsbConfigWithoutKeys {
  const env = options.env ?? process.env
  const windows = process.platform === 'win32'
  const appName =
    options.appName !== undefined
      ? checkAppName(options.appName, 'options')
      : env.ssb_appname
        ? checkAppName(env.ssb_appname, 'environment variable ssb_appname')
        : 'ssb'
  const homeDir = options.homeDir ?? (windows ? env.USERPROFILE : env.HOME) ?? homedir()

  const { layers } = readRcLayers({
    appName,
    env,
    cwd: options.cwd ?? process.cwd(),
    homeDir,
    etcDir: options.etcDir ?? '/etc',
    argv: options.argv ?? process.argv.slice(2),
    args: options.args,
    overrides: options.overrides,
    windows,
  })
  const config = deepExtend(baseDefaults(appName, homeDir), ...layers.map((layer) => layer.data))
  const sourceOf = sourceFinder(layers)

  convertKnownTypes(config)
  new Validator(config, sourceOf).run()
  deriveConnections(config, sourceOf, options.networkInterfaces)

  const warnings: string[] = []
  if (config.keys === undefined || config.keys === null) {
    const file = secretPath(config as unknown as SsbConfigBase)
    if (options.createSecret === false) {
      try {
        config.keys = readSecretFileSync(file)
      } catch (err) {
        if (!(err instanceof SecretFileNotFoundError)) throw err
        delete config.keys
      }
    } else {
      const loaded = loadOrCreateSecretFileSync(file)
      config.keys = loaded.keys
      if (loaded.warning) warnings.push(loaded.warning)
    }
  }

  const sources: ConfigSource[] = [{ kind: 'defaults' }]
  for (const layer of layers) if (layer.source) sources.push(layer.source)
  Object.defineProperty(config, 'sources', { value: Object.freeze(sources), enumerable: false })
  Object.defineProperty(config, 'warnings', { value: Object.freeze(warnings), enumerable: false })
  return config as unknown as SsbConfig
}
