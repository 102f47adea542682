/**
 * @packageDocumentation
 * The `ssb-server` command line (bins `ssb-server` and `sbot`), a drop-in for the CLI of npm
 * `ssb-server` 16 (reference-features.md §2). The executable is `dist/bin.js`; this entry point
 * exposes the pieces for embedding and tests.
 *
 * ```ts
 * import { main } from '@scuttlekit/ssb-server-cli'
 *
 * const code = await main(['whoami'], {
 *   stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env,
 * })
 * ```
 */
export {
  CLI_SWITCHES,
  COMMAND_ALIASES,
  type CommandLine,
  type MuxrpcliCall,
  mapMuxrpcli,
  parseCommandLine,
  SERVER_DEPRECATION,
} from './args.js'
export { type CliIo, EXIT_INTERRUPTED, main, USAGE_ERROR_NAMES, VERSION } from './cli.js'
export { formatItem, formatResult, type OutputMode, PRETTY } from './output.js'
export { defaultPlugins, hopsToReplication } from './plugins.js'
export { progressLine, progressRatio, watchProgress } from './progress.js'
export { deepUsage, type HelpArgument, type HelpNode, helpAt, quickUsage } from './usage.js'
