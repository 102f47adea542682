/**
 * The command line → RPC call mapping of the `ssb-server` command (reference-features.md §2.2).
 * Pure: no I/O, no process globals.
 *
 * The part after the command is mapped exactly as npm `muxrpcli` 3.1.2 maps it: minimist 1.2.8
 * parses it, the first positional is the method path (dots select plugin groups), the other
 * positionals are the leading arguments, and every `--flag` goes into ONE object appended as the
 * last argument (dotted flags nest, numeric-looking values become numbers, `--flag false` is the
 * string `"false"`). `.` as the first argument asks for stdin as one JSON value.
 *
 * Unlike the reference, flags meant for the method never configure the client (defect §5.13.7,
 * where `gossip.add --host x --port y` dialled x:y). The rule is positional:
 * - flags BEFORE the command (`ssb-server --path /tmp/a whoami`) and flags after a lone `--`
 *   (`ssb-server whoami -- --port 8009`, the separator the reference meant for this) are client
 *   configuration, read by ssb-config as flags;
 * - flags AFTER the command are the method's arguments, and nothing else;
 * - `--verbose`, `--ndjson` and `--help` are the CLI's own switches wherever they appear before
 *   `--`; they are booleans and never reach the method or the configuration;
 * - `start` and `config` have no method to pass flags to, so for them every flag (anywhere) is
 *   configuration, as in the reference (`ssb-server start --port 8009 --logging.level info`).
 */

import { UsageError } from '@scuttlekit/ssb-server'
import minimist from 'minimist'

/**
 * minimist, with its one throw turned into a usage error: a flag named like a property every
 * JavaScript object has (`--toString`, `--constructor.x`) makes it throw a TypeError (so
 * muxrpcli crashes on them too).
 */
function parseFlags(argv: string[], opts: minimist.Opts): minimist.ParsedArgs {
  try {
    return minimist(argv, opts)
  } catch (err) {
    const bad = argv.find((w) => {
      const name = /^--?([^=.]+)/.exec(w)?.[1]
      return name !== undefined && name in Object.prototype
    })
    throw new UsageError(
      bad === undefined
        ? `cannot read the options: ${err instanceof Error ? err.message : String(err)}`
        : `unsupported option ${bad.split('=')[0]}: every JavaScript object has a property of that name`,
    )
  }
}

/** The CLI's own switches. Declared boolean, so they never swallow the next word. */
export const CLI_SWITCHES = ['verbose', 'ndjson', 'help'] as const

/**
 * Command aliases of the reference (ssb-server's `lib/cli-cmd-aliases.js`). `public`/`pub` point
 * at `getPublicKey`, which ssb-server 16 no longer has; they are kept so that they fail the same
 * way ("missing command").
 */
export const COMMAND_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  feed: 'createFeedStream',
  history: 'createHistoryStream',
  hist: 'createHistoryStream',
  public: 'getPublicKey',
  pub: 'getPublicKey',
  log: 'createLogStream',
  logt: 'messagesByType',
  conf: 'config',
})

/** What the reference prints for the deprecated `server` command (we print it on stderr). */
export const SERVER_DEPRECATION =
  'WARNING-DEPRECATION: `sbot server` has been renamed to `ssb-server start`'

/** muxrpcli's reading of the words after the program name. */
export interface MuxrpcliCall {
  /** The method path (`['gossip', 'peers']`), empty when there is no command. */
  cmd: string[]
  /** Positional arguments, then the flags object when there is at least one flag. */
  args: unknown[]
  /** The first argument is `.`: with stdin not a terminal, stdin (as JSON) is the only argument. */
  isStdin: boolean
  /** The flags object (also the last element of `args` when it has any key). */
  opts: Record<string, unknown>
  /** The values of the `switches` asked for (removed from `opts`). */
  switches: Record<string, boolean>
}

/**
 * The mapping muxrpcli 3.1.2 applies to its `argv` (the words after the program name, the
 * command first). `switches` are parsed as booleans and removed from the flags object; with
 * none, the result equals muxrpcli's for any input (tested against it).
 */
export function mapMuxrpcli(
  argv: readonly string[],
  switches: readonly string[] = [],
): MuxrpcliCall {
  const parsed = parseFlags([...argv], switches.length ? { boolean: [...switches] } : {})
  const positional = parsed._ as unknown[]
  const first = positional[0]
  const args: unknown[] = positional.slice(1)
  const isStdin = args[0] === '.'
  const opts: Record<string, unknown> = { ...parsed }
  delete opts._
  const found: Record<string, boolean> = {}
  for (const name of switches) {
    found[name] = opts[name] === true
    delete opts[name]
  }
  if (Object.keys(opts).length) args.push(opts)
  // muxrpcli splits whatever minimist produced; a numeric command word is a number there (and
  // crashes it). We keep the word as typed.
  const cmd = first === undefined || first === '' ? [] : String(first).split('.')
  return { cmd, args, isStdin, opts, switches: found }
}

/** The whole command line, read. */
export interface CommandLine {
  /** The command word as typed (`feed`, `gossip.peers`), or undefined. */
  command: string | undefined
  /**
   * The command after alias resolution: `start` for `server`, `config` for `conf`, the method
   * name for the stream aliases. Undefined when there is no command.
   */
  name: string | undefined
  /** `name` split at the dots (the method path). */
  path: string[]
  /** Arguments for the method (muxrpcli's mapping of the words after the command). */
  args: unknown[]
  /** The first argument after the command is `.` (stdin JSON mode when stdin is not a TTY). */
  stdinJson: boolean
  help: boolean
  verbose: boolean
  ndjson: boolean
  /** Raw words for `loadConfig({argv})`: the flags that configure the client (or the server). */
  configArgv: string[]
  /** Warnings to print (the `server` deprecation). */
  warnings: string[]
}

const SWITCH_TOKEN = new RegExp(`^--(?:no-)?(?:${CLI_SWITCHES.join('|')})(?:=.*)?$`, 's')

function withoutSwitches(words: readonly string[]): string[] {
  return words.filter((w) => !SWITCH_TOKEN.test(w))
}

function switchesOf(parsed: Record<string, unknown>): Record<string, boolean> {
  return Object.fromEntries(CLI_SWITCHES.map((name) => [name, parsed[name] === true]))
}

/** Commands that take no method arguments: every flag configures them. */
const LOCAL_COMMANDS = new Set(['start', 'config'])

/**
 * Splits the words after the program name into the CLI switches, the configuration flags and
 * the RPC call (see the module comment for the rule).
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const separator = argv.indexOf('--')
  const words = separator === -1 ? [...argv] : argv.slice(0, separator)
  const afterSeparator = separator === -1 ? [] : argv.slice(separator + 1)

  // Leading flags: stop at the first positional word, which is the command.
  const leading = parseFlags(words, { stopEarly: true, boolean: [...CLI_SWITCHES] })
  const commandAt = words.length - (leading._ as unknown[]).length
  const leadingWords = words.slice(0, commandAt)
  const commandWords = words.slice(commandAt)
  const lead = switchesOf(leading)

  const call = mapMuxrpcli(commandWords, CLI_SWITCHES)
  const tail = call.switches

  const warnings: string[] = []
  const command = commandWords[0]
  let name = command
  if (command === 'server') {
    warnings.push(SERVER_DEPRECATION)
    name = 'start'
  } else if (command !== undefined && Object.hasOwn(COMMAND_ALIASES, command)) {
    name = COMMAND_ALIASES[command]
  }
  if (name === '') name = undefined

  const local = name !== undefined && LOCAL_COMMANDS.has(name)
  const configArgv = [
    ...withoutSwitches(leadingWords),
    ...(local ? withoutSwitches(commandWords.slice(1)) : []),
    ...afterSeparator,
  ]

  return {
    command,
    name,
    path: name === undefined ? [] : name.split('.'),
    args: local ? [] : call.args,
    stdinJson: !local && call.isStdin,
    help: Boolean(lead.help || tail.help),
    verbose: Boolean(lead.verbose || tail.verbose),
    ndjson: Boolean(lead.ndjson || tail.ndjson),
    configArgv,
    warnings,
  }
}
