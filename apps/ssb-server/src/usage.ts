/**
 * Usage text from a plugin's `help` object, in the layout of npm `muxrpc-usage` 2.1.0 (which
 * muxrpcli prints), so that `ssb-server` and `ssb-server publish --help` look as they did.
 * Pure.
 *
 * A help object is `{description, commands: {name: {type, description, args: {name: {type,
 * description, optional, default}}}}}`; a command may itself be a group (`{commands}`).
 */

/** One argument of a documented command. */
export interface HelpArgument {
  type?: string
  description?: string
  optional?: boolean
  default?: unknown
}

/** A documented command, or a group of them. */
export interface HelpNode {
  type?: string
  description?: string
  /** Documented name of the single positional argument, printed as ` {name}`. */
  single?: string
  args?: Record<string, HelpArgument>
  commands?: Record<string, HelpNode>
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A node with `commands` is a group; muxrpc-usage reads everything else as a command. */
export function isHelpGroup(
  node: unknown,
): node is HelpNode & { commands: Record<string, HelpNode> } {
  return isObject(node) && isObject(node.commands)
}

/** A command: it has a `type` and is not a group. */
export function isHelpCommand(node: unknown): node is HelpNode & { type: string } {
  return isObject(node) && typeof node.type === 'string' && !isHelpGroup(node)
}

/** The node at `path` below `help` (through `commands`), or undefined. */
export function helpAt(help: unknown, path: readonly string[]): HelpNode | undefined {
  let node: unknown = help
  for (const key of path) {
    if (!isHelpGroup(node) || !Object.hasOwn(node.commands, key)) return undefined
    node = node.commands[key]
  }
  return isObject(node) ? (node as HelpNode) : undefined
}

function argsOf(node: HelpNode): Record<string, HelpArgument> {
  return isObject(node.args) ? node.args : {}
}

/**
 * One line: the commands of a group joined by `|`, or `--arg1|--arg2` for a command (empty for
 * a command without arguments). muxrpc-usage's `quick`.
 */
export function quickUsage(help: unknown, path: readonly string[] = []): string {
  const node = helpAt(help, path)
  if (node === undefined) return ''
  if (isHelpGroup(node)) return Object.keys(node.commands).join('|')
  const names = Object.keys(argsOf(node))
  return names.length ? `--${names.join('|')}` : ''
}

/** Left-aligns columns, one space apart, trailing blanks removed. */
function align(rows: readonly string[][]): string {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join(' ')
        .trimEnd(),
    )
    .join('\n')
}

function argRow(name: string, arg: HelpArgument): string[] {
  const dflt = Object.hasOwn(arg, 'default') ? `=${String(arg.default)}` : ''
  return [`  --${name}`, `[${arg.type}${dflt}${arg.optional ? ']?' : ']'}`, `# ${arg.description}`]
}

/**
 * The detailed usage of a command (its description, then one aligned row per argument:
 * `--name [type]? # description`), or of every command of a group. `prefix` is the group's
 * own path, printed before the command name. muxrpc-usage's `deep`, text for text.
 */
export function deepUsage(
  help: unknown,
  path: readonly string[] = [],
  prefix: readonly string[] = [],
): string {
  const node = helpAt(help, path)
  if (node === undefined) return ''
  if (isHelpGroup(node)) {
    return Object.keys(node.commands)
      .map((key) => deepUsage(help, [...path, key], prefix))
      .join('\n')
  }
  const args = argsOf(node)
  const names = Object.keys(args)
  const single = names.length && node.single ? ` {${node.single}}` : ''
  const head = `${[...prefix, ...path].join('.')}${single} # ${node.description}`
  const rows = align(names.map((name) => argRow(name, args[name] as HelpArgument)))
  return `${[head, rows].filter(Boolean).join('\n')}\n`
}
