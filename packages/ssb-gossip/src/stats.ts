/**
 * Running statistics, in the shape npm `statistics` gives and ssb-gossip stores in
 * `gossip.json` (`duration`, `ping.rtt`, `ping.skew`): `{mean, stdev, count, sum, sqsum}`.
 * Keeping the shape lets a `gossip.json` move between this server and ssb-server 16.
 */

/** Mean and standard deviation of a series, with the sums needed to extend it. */
export interface Stats {
  mean: number
  stdev: number
  count: number
  sum: number
  sqsum: number
}

/** The statistics of no samples (npm `statistics.initial()`). */
export function emptyStats(): Stats {
  return { mean: 0, stdev: 0, count: 0, sum: 0, sqsum: 0 }
}

/** A new {@link Stats} with one more sample; `null` or `undefined` start a new series. */
export function addSample(acc: Stats | null | undefined, value: number): Stats {
  if (!acc) return { mean: value, stdev: 0, count: 1, sum: value, sqsum: value * value }
  const count = acc.count + 1
  const sum = acc.sum + value
  const sqsum = acc.sqsum + value * value
  const mean = sum / count
  // rounding can make the variance a hair below zero
  const stdev = Math.sqrt(Math.max(0, sqsum / count - mean * mean))
  return { mean, stdev, count, sum, sqsum }
}

/** A {@link Stats} read from disk or the network, or `undefined` when it is not one. */
export function toStats(value: unknown): Stats | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  const fields = ['mean', 'stdev', 'count', 'sum', 'sqsum'] as const
  for (const f of fields) if (typeof v[f] !== 'number' || !Number.isFinite(v[f])) return undefined
  if ((v.count as number) < 0) return undefined
  return {
    mean: v.mean as number,
    stdev: v.stdev as number,
    count: v.count as number,
    sum: v.sum as number,
    sqsum: v.sqsum as number,
  }
}
