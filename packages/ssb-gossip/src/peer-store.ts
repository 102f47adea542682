/**
 * `<path>/gossip.json`: the peer table on disk, an array of peer records in ssb-gossip's shape
 * (`reference-features.md` §4). It is written whole to a temporary file that is then renamed
 * over the old one, so a crash leaves either the old or the new table, never half of one. A
 * file that cannot be read as an array is moved aside to `gossip.json.corrupt` and the table
 * starts empty: the peer table is a cache, and losing it must not stop the server.
 */

import { randomBytes } from 'node:crypto'
import { open, readFile, rename, rm } from 'node:fs/promises'
import type { Logger } from 'pino'

/** The outcome of {@link loadPeerFile}. */
export interface LoadedPeers {
  /** The records found (each still to be validated by the table). */
  records: unknown[]
  /** Why the file was not usable, when it was not. */
  problem?: string
}

/** Largest `gossip.json` read (10 000 peers take well under this). */
export const MAX_PEER_FILE_BYTES = 16 * 1024 * 1024

/**
 * Reads the stored peer records. A missing file gives none; an unreadable, oversized or
 * non-array file gives none plus a `problem`, and is renamed to `<file>.corrupt`.
 */
export async function loadPeerFile(file: string, logger?: Logger): Promise<LoadedPeers> {
  let text: string
  try {
    const buf = await readFile(file)
    if (buf.length > MAX_PEER_FILE_BYTES)
      throw new Error(`larger than ${MAX_PEER_FILE_BYTES} bytes`)
    text = buf.toString('utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [] }
    return setAside(file, `unreadable: ${(err as Error).message}`, logger)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    return setAside(file, `not JSON: ${(err as Error).message}`, logger)
  }
  if (!Array.isArray(parsed)) return setAside(file, 'not an array', logger)
  return { records: parsed }
}

async function setAside(file: string, problem: string, logger?: Logger): Promise<LoadedPeers> {
  logger?.warn({ file, problem }, 'peer table file unusable; starting with an empty table')
  await rename(file, `${file}.corrupt`).catch(() => {})
  return { records: [], problem }
}

/**
 * Writes `records` as JSON to `file` atomically: a temporary file in the same directory,
 * flushed to disk, then renamed over `file`.
 */
export async function savePeerFile(file: string, records: readonly unknown[]): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const handle = await open(tmp, 'w', 0o644)
  try {
    await handle.writeFile(JSON.stringify(records, null, 2), 'utf8')
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => {})
    await rm(tmp, { force: true })
    throw err
  }
  await handle.close()
  try {
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/**
 * Saves the table when it changed, at most once per `interval`, one write at a time; `flush()`
 * writes what is pending now (at close). Failures are logged and retried at the next change.
 */
export class PeerFileWriter {
  private last: string | undefined
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined
  private dirty = false

  constructor(
    private readonly file: string,
    private readonly snapshot: () => readonly unknown[],
    private readonly interval: number,
    private readonly logger?: Logger,
  ) {}

  /** Remembers what was loaded, so that an unchanged table is not rewritten. */
  loaded(records: readonly unknown[]): void {
    this.last = JSON.stringify(records)
  }

  /** Notes a change; the file is written within `interval`. */
  changed(): void {
    this.dirty = true
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.write()
    }, this.interval)
    this.timer.unref()
  }

  /** Writes now if anything changed, and waits for the write in progress. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    await this.write()
  }

  private async write(): Promise<void> {
    while (this.writing) await this.writing
    if (!this.dirty) return
    this.dirty = false
    const records = this.snapshot()
    const text = JSON.stringify(records)
    if (text === this.last) return
    this.writing = savePeerFile(this.file, records).then(
      () => {
        this.last = text
      },
      (err: unknown) => {
        this.dirty = true
        this.logger?.warn({ err: String(err), file: this.file }, 'could not save the peer table')
      },
    )
    try {
      await this.writing
    } finally {
      this.writing = undefined
    }
  }
}
