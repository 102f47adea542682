/**
 * @packageDocumentation
 * Configuration as ssb-server 16 users know it: `~/.ssb/config` (JSON with comments, or INI),
 * the other rc files, `ssb_*` environment variables and `--flags`, merged and defaulted exactly
 * as npm ssb-config 3.4.6 does (reference-features.md §3), then validated so that a bad value
 * is reported with its field and the file, variable or flag that set it. The identity in
 * `<path>/secret` is loaded, or created when there is none (§1.2 of ssb-protocol.md).
 *
 * ```ts
 * import { ConfigError, loadConfig, shsAppKey, socketPath } from '@scuttlekit/ssb-config'
 *
 * try {
 *   const config = loadConfig() // reads process.argv, process.env, ~/.ssb/config, …
 *   console.log(config.path, config.keys.id, `${config.host}:${config.port}`)
 *   shsAppKey(config) // 32-byte network key for secret-handshake
 *   socketPath(config) // ~/.ssb/socket
 * } catch (err) {
 *   if (err instanceof ConfigError) console.error(`${err.field} in ${err.source}: ${err.message}`)
 *   throw err
 * }
 *
 * // In tests: nothing from the process, an ephemeral port.
 * const testConfig = loadConfig({
 *   appName: 'ssb-test', homeDir: '/tmp/home', env: {}, argv: [], overrides: { port: 0, host: '127.0.0.1' },
 * })
 * ```
 */

export { type ParsedArgv, parseArgv } from './argv.js'
export { BLOBS_DEFAULTS, DEFAULT_PORTS, MAIN_NET_CAPS } from './defaults.js'
export {
  ConfigError,
  ConfigFileUnreadableError,
  ConfigSyntaxError,
  ConflictingConnectionsError,
} from './errors.js'
export { loadConfig } from './load-config.js'
export { manifestPath, secretPath, shsAppKey, socketPath } from './paths.js'
export { parseConfigText } from './sources.js'
export type * from './types.js'
export { LOG_LEVELS } from './validate.js'
