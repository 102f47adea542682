/**
 * How results are printed (reference-features.md §2.3). Pure: these functions return the text
 * or bytes to write; the caller writes them.
 *
 * Default mode is muxrpcli 3.1.2's: an `async`/`sync` result is `JSON.stringify(v, null, 2)`
 * and a newline (so a string result prints quoted, `"20.4.1"`), and `undefined` prints
 * nothing; every item of a `source` stream is pretty JSON followed by a blank line (`"\n\n"`);
 * binary items (Buffers, as `blobs.get` streams) are written raw.
 *
 * `--ndjson` mode prints one compact JSON value per line instead, for results and stream items
 * alike, which `jq` and line-oriented tools read directly. Binary items stay raw.
 */

/** The output switches. */
export interface OutputMode {
  /** One compact JSON value per line. */
  ndjson: boolean
}

/** The default (reference) output mode. */
export const PRETTY: OutputMode = Object.freeze({ ndjson: false })

function isBinary(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array
}

function json(value: unknown, mode: OutputMode): string {
  // JSON.stringify yields undefined for functions and symbols; print them as muxrpcli would.
  const text = mode.ndjson ? JSON.stringify(value) : JSON.stringify(value, null, 2)
  return text === undefined ? 'undefined' : text
}

/**
 * The text for the result of an `async` or `sync` call, or undefined when nothing is to be
 * printed (the method returned nothing).
 */
export function formatResult(value: unknown, mode: OutputMode = PRETTY): string | undefined {
  if (value === undefined) return undefined
  return `${json(value, mode)}\n`
}

/** The text (or raw bytes) for one item of a `source` stream. */
export function formatItem(value: unknown, mode: OutputMode = PRETTY): string | Uint8Array {
  if (isBinary(value)) return value
  return mode.ndjson ? `${json(value, mode)}\n` : `${json(value, mode)}\n\n`
}
