/** Small helpers shared by the benchmarks: timing, medians and a printed table. */
import { performance } from 'node:perf_hooks'

/** Runs `fn` `runs` times and returns the median wall time in ms. */
export async function medianMs(
  runs: number,
  fn: () => unknown | Promise<unknown>,
): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await fn()
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]!
}

/** Messages per second for `count` items in `ms`. */
export function rate(count: number, ms: number): number {
  return (count / ms) * 1000
}

/** Prints rows of label / value pairs aligned. */
export function printTable(title: string, rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([k]) => k.length))
  console.log(`\n${title}`)
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`)
}

/** Formats a rate as `12,345/s`. */
export function fmtRate(r: number): string {
  return `${Math.round(r).toLocaleString('en-US')}/s`
}
