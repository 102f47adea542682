/**
 * The `ssb-server` command: `start` runs the server in the foreground; any other command is an
 * RPC call on the running server, mapped and printed as the reference CLI (ssb-server 16 +
 * muxrpcli 3.1.2) does (reference-features.md §2). Everything goes through {@link main}, which
 * takes its streams, environment and shutdown signal as arguments and returns the exit code, so
 * that it runs in-process in tests; `bin.ts` wires it to the process.
 */

import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { createRequire } from 'node:module'
import { type ClientConfig, connectClient, type SsbClient } from '@scuttlekit/ssb-client'
import { loadConfig, type SsbConfig } from '@scuttlekit/ssb-config'
import { pinoLevel, type SsbServer, startServer } from '@scuttlekit/ssb-server'
import { pino } from 'pino'
import { type CommandLine, parseCommandLine } from './args.js'
import { formatItem, formatResult, type OutputMode } from './output.js'
import { defaultPlugins } from './plugins.js'
import { watchProgress } from './progress.js'
import { deepUsage, helpAt, isHelpCommand, isHelpGroup, quickUsage } from './usage.js'

const require = createRequire(import.meta.url)

/** This CLI's version (printed by `start`, as the reference prints ssb-server's). */
export const VERSION: string = (require('../package.json') as { version: string }).version

/** Where {@link main} reads, writes and learns that it should stop. */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream
  /** The environment (`ssb_*` variables, `ssb_appname`, `HOME`). */
  env: NodeJS.ProcessEnv
  /** Where `.ssbrc` files are searched from (default `process.cwd()`). */
  cwd?: string
  /**
   * Aborted on SIGINT/SIGTERM: `start` then closes the server and returns 0; a running stream
   * is cancelled and {@link main} returns 130.
   */
  signal?: AbortSignal
}

/** Remote error names whose message is a usage text (printed alone, exit 1, no stack). */
export const USAGE_ERROR_NAMES: ReadonlySet<string> = new Set([
  'UsageError',
  'ParamTypeError',
  'BadParamError',
  'BadArgError',
])

/** Exit code of a command interrupted by a signal (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130

const START_USAGE = `usage: ssb-server start [--path <dir>] [--host <address>] [--port <n>] [--<config key> <value> ...]

Runs the server in the foreground until SIGINT or SIGTERM, then closes it cleanly.
Every flag is a configuration key, as in ~/.ssb/config (dotted keys nest: --logging.level info,
--ws.port 8989). The data directory is ~/.ssb (~/.$ssb_appname) unless --path says otherwise.
`

const CONFIG_USAGE = `usage: ssb-server config [--<config key> <value> ...]

Prints the configuration the client side sees (files, ssb_* variables and flags merged),
with keys reduced to the id. Works without a running server.
`

const LOCAL_USAGE = `usage: ssb-server [client options] <command> [args...] [--name value ...] [-- client options]
       ssb-server start [--config-key value ...]
local commands: start|config|help    (ssb-server <command> --help for details)`

function writeText(out: NodeJS.WritableStream, text: string): void {
  out.write(text.endsWith('\n') ? text : `${text}\n`)
}

/** Writes respecting backpressure; rejects if the stream fails (EPIPE). */
async function writeChunk(out: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain')
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/**
 * Prints an error as `<name>: <message>` (usage errors: the message alone), with the stack only
 * when `verbose`. Returns the exit code 1.
 */
function report(io: CliIo, err: unknown, verbose: boolean): number {
  const e = asError(err)
  io.stderr.write(USAGE_ERROR_NAMES.has(e.name) ? `${e.message}\n` : `${e.name}: ${e.message}\n`)
  if (verbose && e.stack) io.stderr.write(`${e.stack}\n`)
  return 1
}

function load(cl: CommandLine, io: CliIo): SsbConfig {
  return loadConfig({ argv: cl.configArgv, env: io.env, cwd: io.cwd ?? process.cwd() })
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise<void>(() => {})
  if (signal.aborted) return Promise.resolve()
  return new Promise<void>((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  )
}

// ---------------------------------------------------------------------------------- start

async function runStart(cl: CommandLine, io: CliIo): Promise<number> {
  if (cl.help) {
    io.stdout.write(START_USAGE)
    return 0
  }
  let config: SsbConfig
  try {
    config = load(cl, io)
  } catch (err) {
    return report(io, err, cl.verbose)
  }
  const verbose = cl.verbose || config.verbose === true
  const level = config.logging.level
  io.stdout.write(`ssb-server ${VERSION} ${config.path} logging.level:${level}\n`)
  io.stdout.write(`my key ID: ${config.keys.public}\n`)
  for (const warning of config.warnings) io.stderr.write(`warning: ${warning}\n`)

  const logger = pino({ level: pinoLevel(level), base: undefined }, io.stderr)
  let server: SsbServer
  try {
    server = await startServer({ config, logger, plugins: defaultPlugins() })
  } catch (err) {
    if (asError(err).name === 'DatabaseLockedError') {
      io.stderr.write(
        `Error: ssb-server is already running on ${config.path} (its database is locked)\n`,
      )
      if (verbose) report(io, err, true)
      return 1
    }
    return report(io, err, verbose)
  }
  logger.info({ id: server.id, address: server.address() }, 'ssb-server started')

  const stopBar =
    io.stdout.isTTY && level !== 'info'
      ? watchProgress(
          () => server.progress(),
          (text) => io.stdout.write(text),
        )
      : undefined
  await aborted(io.signal)
  stopBar?.()
  try {
    await server.close()
  } catch (err) {
    return report(io, err, verbose)
  }
  logger.info('ssb-server stopped')
  return 0
}

// ---------------------------------------------------------------------------------- config

function printableConfig(config: SsbConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config }
  // Never print the private key (the reference prints the whole secret); the id is enough.
  out.keys = config.keys ? { id: config.keys.id } : undefined
  delete out.seed
  return out
}

function runConfig(cl: CommandLine, io: CliIo, mode: OutputMode): number {
  if (cl.help) {
    io.stdout.write(CONFIG_USAGE)
    return 0
  }
  try {
    io.stdout.write(formatResult(printableConfig(load(cl, io)), mode) ?? '')
    return 0
  } catch (err) {
    return report(io, err, cl.verbose)
  }
}

// ---------------------------------------------------------------------------------- help

function manifestAt(client: SsbClient, path: readonly string[]): unknown {
  let node: unknown = client.manifest
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

function isGroupPath(client: SsbClient, path: readonly string[]): boolean {
  const node = manifestAt(client, path)
  return typeof node === 'object' && node !== null
}

/** The help object of the group at `path`, when that group has a `help` method. */
async function helpOf(client: SsbClient, path: readonly string[]): Promise<unknown> {
  const type = client.typeOf([...path, 'help'])
  if (type !== 'sync' && type !== 'async') return undefined
  return client.call([...path, 'help'])
}

/** `<group> # <description>` for every subgroup of `path` that has help. */
async function groupLines(client: SsbClient, path: readonly string[]): Promise<string[]> {
  const node = manifestAt(client, path)
  if (typeof node !== 'object' || node === null) return []
  const lines: string[] = []
  for (const [key, value] of Object.entries(node)) {
    if (typeof value !== 'object' || value === null) continue
    const help = await helpOf(client, [...path, key]).catch(() => undefined)
    if (help === undefined) continue
    const description = isHelpGroup(help) ? (help.description ?? '') : ''
    lines.push(`${[...path, key].join('.')} # ${description}`)
  }
  return lines
}

/** The quick usage of the top level: the core commands, then one line per plugin group. */
async function topUsage(client: SsbClient): Promise<string> {
  const help = await helpOf(client, []).catch(() => undefined)
  const core = isHelpGroup(help)
    ? quickUsage(help, [])
    : Object.entries(client.manifest)
        .filter(([, type]) => typeof type === 'string')
        .map(([name]) => name)
        .join('|')
  return [LOCAL_USAGE, core, ...(await groupLines(client, []))].join('\n')
}

interface UsageText {
  text: string
  /** The path is a method or group of the server. */
  found: boolean
}

/**
 * The usage of `path`: for a command, its detailed usage when `deep`, else its flags; for a
 * group, its commands (all of them in detail when `deep`) and its documented subgroups.
 */
async function usageOf(
  client: SsbClient,
  path: readonly string[],
  deep: boolean,
  json: boolean,
): Promise<UsageText> {
  if (path.length === 0) {
    if (!json) return { text: await topUsage(client), found: true }
    return { text: JSON.stringify((await helpOf(client, [])) ?? null, null, 2), found: true }
  }
  const type = client.typeOf(path)
  const group = isGroupPath(client, path)
  if (type === undefined && !group) return { text: '', found: false }

  // The closest enclosing group with help (`gossip.peers` → `gossip.help`, else `help`).
  const base = [...path]
  let help: unknown
  while (true) {
    help = await helpOf(client, base).catch(() => undefined)
    if (help !== undefined || base.length === 0) break
    base.pop()
  }
  const rest = path.slice(base.length)
  const node = helpAt(help, rest)
  if (json) return { text: JSON.stringify(node ?? null, null, 2), found: true }

  const lines: string[] = []
  if (node && (isHelpCommand(node) || isHelpGroup(node))) {
    lines.push(deep ? deepUsage(help, rest, base) : quickUsage(help, rest))
  } else if (type !== undefined) {
    lines.push(`${path.join('.')} # (undocumented ${type} method)`)
  }
  if (group) lines.push(...(await groupLines(client, path)))
  return { text: lines.join('\n'), found: true }
}

function missingCommand(io: CliIo, typed: string, usage: string): number {
  io.stderr.write(`missing command: ${typed}\n`)
  writeText(io.stderr, usage)
  return 1
}

// ---------------------------------------------------------------------------------- calls

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array | string))
  return Buffer.concat(chunks)
}

async function* chunksOf(stream: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  for await (const chunk of stream) yield Buffer.from(chunk as Uint8Array | string)
}

/**
 * Prints every item of `source` until it ends; returns {@link EXIT_INTERRUPTED} when the signal
 * stops it first (the stream is cancelled).
 */
async function drain(source: AsyncIterable<unknown>, io: CliIo, mode: OutputMode): Promise<number> {
  const iterator = source[Symbol.asyncIterator]()
  const stop = aborted(io.signal).then(() => 'aborted' as const)
  try {
    while (true) {
      const next = await Promise.race([iterator.next(), stop])
      if (next === 'aborted') {
        void iterator.return?.()?.catch(() => {})
        return EXIT_INTERRUPTED
      }
      if (next.done) return 0
      await writeChunk(io.stdout, formatItem(next.value, mode))
    }
  } catch (err) {
    void iterator.return?.()?.catch(() => {})
    throw err
  }
}

/**
 * `blobs.add [file]`: the reference special-cases it (muxrpc sinks return nothing, yet the user
 * wants the blob id): stream the file, or stdin when it is not a terminal, into the sink while
 * hashing it, then print `&<sha256 base64>.sha256`.
 */
async function blobsAdd(client: SsbClient, cl: CommandLine, io: CliIo): Promise<number> {
  const file = cl.args.length && typeof cl.args[0] !== 'object' ? String(cl.args[0]) : undefined
  if (file === undefined && io.stdin.isTTY) {
    io.stderr.write(
      'USAGE:\n  blobs.add <filename> # add a file\n  source | blobs.add   # read from stdin\n',
    )
    return 1
  }
  const input: NodeJS.ReadableStream = file === undefined ? io.stdin : createReadStream(file)
  const hash = createHash('sha256')
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of chunksOf(input)) {
      hash.update(chunk)
      yield chunk
    }
  }
  await client.sink(['blobs', 'add'], [], hashed())
  io.stdout.write(`&${hash.digest('base64')}.sha256\n`)
  return 0
}

async function call(
  client: SsbClient,
  cl: CommandLine,
  io: CliIo,
  mode: OutputMode,
): Promise<number> {
  const type = client.typeOf(cl.path)
  if (type === 'sink') {
    if (cl.name === 'blobs.add') return blobsAdd(client, cl, io)
    await client.sink(cl.path, cl.args, chunksOf(io.stdin))
    return 0
  }
  let args = cl.args
  if (cl.stdinJson && !io.stdin.isTTY) {
    const text = (await readAll(io.stdin)).toString('utf8')
    try {
      args = [JSON.parse(text)]
    } catch (err) {
      io.stderr.write(`stdin is not valid JSON: ${asError(err).message}\n`)
      return 1
    }
  }
  if (type === 'async' || type === 'sync') {
    const result = await client.call(cl.path, ...args)
    const text = formatResult(result, mode)
    if (text !== undefined) await writeChunk(io.stdout, text)
    return 0
  }
  if (type === 'source') return drain(client.source(cl.path, ...args), io, mode)
  io.stderr.write(`${cl.name} is a ${type} method, which the command line cannot call\n`)
  return 1
}

async function runRemote(cl: CommandLine, io: CliIo, mode: OutputMode): Promise<number> {
  let config: SsbConfig
  try {
    config = load(cl, io)
  } catch (err) {
    return report(io, err, cl.verbose)
  }
  const verbose = cl.verbose || config.verbose === true
  const helpOnly = cl.name === undefined || cl.name === 'help'
  const wantsHelp = helpOnly || cl.help

  let client: SsbClient
  try {
    client = await connectClient({ config: config as unknown as ClientConfig })
  } catch (err) {
    const e = asError(err)
    if (e.name !== 'ServerNotRunningError') return report(io, err, verbose)
    if (wantsHelp) {
      // Usage without a server: what this program knows by itself.
      writeText(io.stdout, LOCAL_USAGE)
      io.stderr.write(`(${e.message}: start it to list its commands)\n`)
      return 0
    }
    io.stderr.write(`Error: ${e.message}\n`)
    io.stderr.write('Use the "start" command to start it.\n')
    io.stderr.write('Use --verbose option to see full error\n')
    if (verbose) {
      io.stderr.write(`${e.stack}\n`)
      if (e.cause) io.stderr.write(`cause: ${asError(e.cause).stack}\n`)
    }
    return 1
  }

  try {
    if (wantsHelp) {
      const last = cl.args[cl.args.length - 1]
      const json =
        typeof last === 'object' && last !== null && (last as Record<string, unknown>).json === true
      let path = cl.path
      if (cl.name === 'help') {
        const topic = cl.args[0]
        path =
          typeof topic === 'string' || typeof topic === 'number' ? String(topic).split('.') : []
      }
      const usage = await usageOf(client, path, cl.help || cl.name === 'help', json)
      if (!usage.found) {
        const typed = cl.name === 'help' ? path.join('.') : (cl.command ?? '')
        return missingCommand(io, typed, await topUsage(client))
      }
      writeText(io.stdout, usage.text)
      return 0
    }
    if (client.typeOf(cl.path) === undefined) {
      if (isGroupPath(client, cl.path)) {
        // A group: its quick usage, as muxrpcli prints it.
        writeText(io.stdout, (await usageOf(client, cl.path, false, false)).text)
        return 0
      }
      return missingCommand(io, cl.command ?? '', await topUsage(client))
    }
    return await call(client, cl, io, mode)
  } catch (err) {
    return report(io, err, verbose)
  } finally {
    await client.close().catch(() => {})
  }
}

/**
 * Runs the `ssb-server` command with `argv` (the words after the program name) and returns the
 * exit code: 0 on success, 1 on any error, 130 when a stream was interrupted. Never calls
 * `process.exit` and never throws.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let cl: CommandLine
  try {
    cl = parseCommandLine(argv)
  } catch (err) {
    return report(io, err, false)
  }
  for (const warning of cl.warnings) io.stderr.write(`${warning}\n`)
  const mode: OutputMode = { ndjson: cl.ndjson }
  try {
    if (cl.name === 'start') return await runStart(cl, io)
    if (cl.name === 'config') return runConfig(cl, io, mode)
    return await runRemote(cl, io, mode)
  } catch (err) {
    return report(io, err, cl.verbose)
  }
}
