/**
 * The terminal progress bar `ssb-server start` shows while the indexes catch up with the log
 * (reference-features.md §2.1: a 50-column `***...` bar, only when stdout is a TTY and
 * `logging.level` is not `info`). Unlike the reference, which redraws forever, the bar is
 * cleared and the polling stops once everything has caught up.
 */

/** One progress entry of `progress()`: `current` goes from `start` to `target`. */
export interface ProgressEntry {
  start: number
  current: number
  target: number
}

/** Bar width in columns, as the reference. */
export const BAR_WIDTH = 50

/** Erases the current terminal line. */
export const CLEAR_LINE = '\r\x1b[K'

function isEntry(value: unknown): value is ProgressEntry {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.start === 'number' && typeof v.current === 'number' && typeof v.target === 'number'
  )
}

/** How far one entry is, 0 to 1 (1 when there is nothing to do). */
export function progressRatio(entry: ProgressEntry): number {
  if (entry.current >= entry.target || entry.target <= entry.start) return 1
  return Math.max(0, (entry.current - entry.start) / (entry.target - entry.start))
}

/**
 * The bar for a `progress()` result, or undefined when every entry has caught up. Entries that
 * are not `{start, current, target}` are ignored.
 */
export function progressLine(progress: Record<string, unknown>): string | undefined {
  let ratio = 1
  const tasks: string[] = []
  for (const [name, entry] of Object.entries(progress)) {
    if (!isEntry(entry)) continue
    const r = progressRatio(entry)
    if (r < 1) tasks.push(`${name}:${(Math.floor(r * 1000) / 10).toFixed(1)}%`)
    ratio = Math.min(ratio, r)
  }
  if (ratio >= 1) return undefined
  const filled = Math.floor(ratio * BAR_WIDTH)
  const bar = '*'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled)
  return `\r${bar} (${tasks.join(', ')})\x1b[K\r`
}

/**
 * Polls `progress` every `intervalMs` and writes the bar when it changes; clears it and stops
 * once everything has caught up (or when the returned function is called).
 */
export function watchProgress(
  progress: () => Record<string, unknown>,
  write: (text: string) => void,
  intervalMs = 333,
): () => void {
  let last: string | undefined
  let timer: NodeJS.Timeout | undefined
  const stop = (): void => {
    if (timer) clearInterval(timer)
    timer = undefined
    if (last !== undefined) write(CLEAR_LINE)
    last = undefined
  }
  const tick = (): void => {
    let line: string | undefined
    try {
      line = progressLine(progress())
    } catch {
      line = undefined
    }
    if (line === undefined) {
      stop()
      return
    }
    if (line !== last) write(line)
    last = line
  }
  timer = setInterval(tick, intervalMs)
  timer.unref()
  tick()
  return stop
}
