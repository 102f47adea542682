/** Node options for worker threads (not part of the package's API). */

/** Options that give code to run (the value follows unless written `--opt=value`). */
const CODE_OPTIONS = new Set(['-e', '--eval', '-p', '--print', '-pe', '-ep'])

/**
 * The parent's Node options a worker can take: `argv` (`process.execArgv`) without code given
 * on the command line (`-e`, `--eval`, `-p`, `--print`, with their argument) and without
 * `--input-type`, which Node refuses for a file. A worker inherits its parent's options by
 * default: under `node -e …` it ran that code instead of verifying, and died at start unseen,
 * so every signature was checked on the calling thread.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (CODE_OPTIONS.has(a) || a === '--input-type') {
      i++
      continue
    }
    if (/^(--eval|--print|--input-type)=/.test(a)) continue
    out.push(a)
  }
  return out
}
