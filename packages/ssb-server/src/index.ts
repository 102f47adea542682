/**
 * @packageDocumentation
 * Composes Scuttlekit plugins into one SSB server, as `ssb-server` 16 composes secret-stack
 * plugins: one manifest, permissions for every connection (full rights for our key,
 * `config.master` and the unix socket; the anonymous list for other peers), the core methods of
 * ssb-db over RPC, and an orderly start and close.
 *
 * ```ts
 * import { loadConfig } from '@scuttlekit/ssb-config'
 * import { startServer } from '@scuttlekit/ssb-server'
 *
 * const server = await startServer({ config: loadConfig() })
 * console.log('my key ID:', server.id)
 * await server.call('publish', [{ type: 'post', text: 'My First Post!' }])
 * process.on('SIGINT', () => server.close())
 * ```
 */
export * from './config.js'
export * from './errors.js'
export * from './permissions.js'
export * from './plugin.js'
export { type CoreSources, corePlugin } from './plugins/core.js'
export { dbPlugin, type StatusSources } from './plugins/db.js'
export { dbHelp, type Help, type HelpArg, type HelpCommand } from './plugins/help.js'
export { pinoLevel, type ServerOptions, SsbServer, startServer } from './server.js'
export { validateArgs } from './validators.js'
export { VERSION } from './version.js'
