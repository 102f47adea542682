/**
 * Monotonic receive timestamps, as npm `monotonic-timestamp` 0.0.9 makes them (§2.7): the wall
 * clock in ms, and within one millisecond `ms + n/(n+1000)` for n = 1, 2, … so that every value
 * is strictly greater than the previous one. Unlike the reference, a clock that steps back never
 * yields a value lower than one already handed out.
 */
let lastMs = 0
let count = 1
let lastValue = 0

/** A strictly increasing timestamp in ms since the epoch (fractional within one ms). */
export function monotonicTimestamp(): number {
  const now = Date.now()
  let value: number
  if (now === lastMs) {
    do {
      const n = count++
      value = now + n / (count + 999)
    } while (value === lastValue)
  } else {
    count = 1
    value = now
  }
  lastMs = now
  if (value <= lastValue) value = lastValue + 0.001
  lastValue = value
  return value
}
