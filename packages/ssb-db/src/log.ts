/**
 * The append-only log: the single source of truth of a database (docs/decisions/0003-ssb-db-storage.md).
 *
 * File layout: a 16-byte file header (`SCUTTLOG`, u32 LE format version, u32 reserved), then
 * records, each
 *
 * ```
 * u32 LE magic   'SKR1' for a live record, 'SKD1' for a deleted one (payload zeroed)
 * u32 LE length  of the payload
 * u32 LE crc32   of the length field's four bytes followed by the payload
 * payload        UTF-8 JSON of {key, value, timestamp}
 * ```
 *
 * A record's offset (the byte position of its magic) is its permanent address. Every record is
 * checksummed; the magic makes it possible to find the next record after damage in the middle of
 * the file. Writes go through {@link Log.write} (one positional write per group of records) and
 * {@link Log.sync} (one `fdatasync`), so a group is either wholly durable or (after a crash) a
 * torn tail that {@link Log.scan} trims.
 */
import {
  constants,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  readSync,
  writeSync,
} from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { CorruptLogError, CorruptRecordError, WriteFailedError } from './errors.js'
import type { Logger } from './logger.js'

const FILE_MAGIC = Buffer.from('SCUTTLOG', 'latin1')
const FORMAT_VERSION = 1
/** Size of the file header; the first record starts here. */
export const LOG_START = 16
/** Size of a record header. */
export const RECORD_HEADER = 12
const LIVE = 0x31524b53 // 'SKR1' read as u32 LE
const DELETED = 0x31444b53 // 'SKD1'
/** No payload is larger: a message is at most 8192 UTF-16 units, so well under 64 KiB as JSON. */
export const MAX_PAYLOAD = 1 << 20
const CHUNK = 1 << 20
const EMPTY = Buffer.alloc(0)
/** The largest window a {@link LogReader} grows to for a span of records. */
const MAX_WINDOW = 1 << 20
/** Windows up to this size are allocated as asked; larger ones are {@link MAX_WINDOW}. */
const SMALL_WINDOW = 64 << 10
/** Large windows a log keeps for its next readers. */
const SPARE_WINDOWS = 4
/** The window of a one-off {@link Log.read}: larger records take a second read. */
const SINGLE_READ = 4096

/** One record found by {@link Log.scan}. `payload` is null for a deleted record. */
export interface ScannedRecord {
  offset: number
  /** offset of the byte after this record */
  next: number
  payload: Buffer | null
}

/** What {@link Log.scan} does at damage it cannot read past. */
export interface ScanOptions {
  /** first offset to read (a record boundary); default the first record */
  from?: number
  /** stop before this offset; default the end of the file as it was when the scan started */
  to?: number
  /**
   * Recovery mode (used at open): damage with no valid record after it is a torn tail and is
   * cut off the file, with a warning.
   */
  trimTail?: boolean
  /** called for every damaged byte range that was skipped */
  onCorrupt?: (from: number, to: number) => void
}

/** CRC-32 (zlib's) table, for the four bytes of a length field. */
const CRC_TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

/**
 * `zlib.crc32` of the four bytes at `at`, in JS: for so few bytes, cheaper than a call into
 * native code.
 */
function crc4(buf: Buffer, at: number): number {
  let c = -1
  for (let i = at; i < at + 4; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/** The checksum of a record: the length field's four bytes at `at`, then the payload. */
function crcOf(buf: Buffer, at: number, payload: Buffer): number {
  const c = crc4(buf, at)
  // zlib's crc32 answers its initial value, 0, for a buffer without memory behind it (some empty
  // ones), whatever value it was given to continue from
  return payload.length === 0 ? c : crc32(payload, c)
}

/** Encodes one record (header and payload) into `out` at `at`; returns the offset after it. */
function encodeRecord(out: Buffer, at: number, payload: Buffer, magic = LIVE): number {
  out.writeUInt32LE(magic, at)
  out.writeUInt32LE(payload.length, at + 4)
  out.writeUInt32LE(crcOf(out, at + 4, payload), at + 8)
  payload.copy(out, at + RECORD_HEADER)
  return at + RECORD_HEADER + payload.length
}

/**
 * Checks the record that starts at `pos` in `buf` (which holds file bytes from `base`).
 * Returns the record length, `0` when the buffer ends before the record does (read more), or
 * `-1` when the bytes there are not a valid record.
 */
function recordAt(buf: Buffer, pos: number, limit: number): number {
  if (pos + RECORD_HEADER > limit) return 0
  const magic = buf.readUInt32LE(pos)
  if (magic !== LIVE && magic !== DELETED) return -1
  const length = buf.readUInt32LE(pos + 4)
  if (length > MAX_PAYLOAD) return -1
  if (pos + RECORD_HEADER + length > limit) return 0
  const payload = buf.subarray(pos + RECORD_HEADER, pos + RECORD_HEADER + length)
  if (crcOf(buf, pos + 4, payload) !== buf.readUInt32LE(pos + 8)) return -1
  return RECORD_HEADER + length
}

/** Reads `length` bytes at `position` into `buf` from 0, or fewer at the end of the file. */
async function readFully(
  fh: FileHandle,
  buf: Buffer,
  length: number,
  position: number,
): Promise<number> {
  let got = 0
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return got
}

/** Reads up to `length` bytes at `position` into `buf` from 0, synchronously; returns the count. */
function readAt(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got)
    if (n === 0) break
    got += n
  }
  return got
}

/** The log file of one database. Not safe for two writers: the database serialises writes. */
export class Log {
  /**
   * Windows of {@link MAX_WINDOW} bytes that readers gave back: a new one costs a page fault at
   * the first touch of each of its pages, which (in a VM) costs more than the read into it.
   */
  private readonly spare: Buffer[] = []

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    /** offset after the last record: where the next append goes */
    public end: number,
    private readonly logger: Logger,
  ) {}

  /** Opens (creating if needed) the log at `path`. A file of another format is refused. */
  static async open(path: string, logger: Logger): Promise<Log> {
    // Read-write, created if missing, and *not* O_APPEND ('a+'): on Linux, positional writes to an
    // O_APPEND file go to its end, which would misplace deletes and every append after them.
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644)
    // The rest synchronously: a few small calls at open, each cheaper in place than through
    // the thread pool.
    const fd = fh.fd
    try {
      let size = fstatSync(fd).size
      if (size < LOG_START) {
        // A new file, or one torn while its header was written: nothing was ever stored in it.
        const header = Buffer.alloc(LOG_START)
        if (size > 0) {
          const have = Buffer.alloc(size)
          readAt(fd, have, size, 0)
          if (!FILE_MAGIC.subarray(0, size).equals(have.subarray(0, Math.min(size, 8)))) {
            throw new CorruptLogError(path, 'unknown file header')
          }
          ftruncateSync(fd, 0)
        }
        FILE_MAGIC.copy(header, 0)
        header.writeUInt32LE(FORMAT_VERSION, 8)
        writeSync(fd, header, 0, LOG_START, 0)
        fsyncSync(fd)
        size = LOG_START
      } else {
        const header = Buffer.alloc(LOG_START)
        readAt(fd, header, LOG_START, 0)
        if (!header.subarray(0, 8).equals(FILE_MAGIC)) {
          throw new CorruptLogError(path, 'unknown file header')
        }
        const version = header.readUInt32LE(8)
        if (version !== FORMAT_VERSION) {
          throw new CorruptLogError(path, `format version ${version}`)
        }
      }
      return new Log(path, fh, size, logger)
    } catch (err) {
      await fh.close()
      throw err
    }
  }

  /**
   * Writes `payloads` as consecutive records with one positional write, without syncing: they
   * are readable at once, durable after {@link Log.sync}. On failure nothing of the group
   * remains in the file and a {@link WriteFailedError} is thrown.
   */
  async write(payloads: readonly Buffer[]): Promise<number[]> {
    let size = 0
    for (const p of payloads) {
      if (p.length > MAX_PAYLOAD) throw new RangeError(`record of ${p.length} bytes is too large`)
      size += RECORD_HEADER + p.length
    }
    const out = Buffer.allocUnsafe(size)
    const offsets: number[] = new Array(payloads.length)
    let at = 0
    for (let i = 0; i < payloads.length; i++) {
      offsets[i] = this.end + at
      at = encodeRecord(out, at, payloads[i]!)
    }
    const start = this.end
    // A synchronous write: it only copies into the page cache, which costs less than a round
    // trip through the thread pool, and it takes the write off the commit's critical path.
    const fd = this.fh.fd
    try {
      let written = 0
      while (written < size) {
        written += writeSync(fd, out, written, size - written, start + written)
      }
    } catch (err) {
      // Leave no partial group behind; if even that fails, open() will trim it as a torn tail.
      try {
        ftruncateSync(fd, start)
      } catch {}
      throw new WriteFailedError(err)
    }
    this.end = start + size
    return offsets
  }

  /**
   * Makes everything written so far durable (`fdatasync`). If that fails, the records from
   * `groupStart` on are cut off again and a {@link WriteFailedError} is thrown.
   */
  async sync(groupStart: number): Promise<void> {
    try {
      // The callback API: a FileHandle call costs about twice as much (decision 0006).
      await new Promise<void>((resolve, reject) =>
        fdatasync(this.fh.fd, (err) => (err ? reject(err) : resolve())),
      )
    } catch (err) {
      await this.fh.truncate(groupStart).catch(() => {})
      this.end = Math.min(this.end, groupStart)
      throw new WriteFailedError(err)
    }
  }

  /**
   * Reads the payload of the record at `offset`: `null` if it was deleted. Throws
   * {@link CorruptRecordError} when the bytes there are not an intact record. Synchronous
   * underneath (one page-cache read, cheaper in place than through the thread pool), through a
   * reader of its own whose window holds a typical record whole.
   */
  async read(offset: number): Promise<Buffer | null> {
    return this.reader(SINGLE_READ).read(offset)
  }

  /** A reader with a read-ahead window, for streams that visit offsets in rising order. */
  reader(windowSize = 64 * 1024): LogReader {
    return new LogReader(this, this.fh.fd, windowSize)
  }

  /**
   * Yields every record from `options.from` in file order. Damage followed by valid records is
   * skipped (reported through `onCorrupt` and a warning); damage at the end is a torn tail, cut
   * off when `trimTail` is set.
   */
  async *scan(options: ScanOptions = {}): AsyncGenerator<ScannedRecord> {
    let pos = options.from ?? LOG_START
    const to = options.to ?? this.end
    let buf = Buffer.allocUnsafe(CHUNK)
    let base = pos
    let limit = 0 // bytes of buf that hold file data
    const fill = async (at: number, min: number): Promise<void> => {
      if (min > buf.length) buf = Buffer.allocUnsafe(min)
      base = at
      limit = await readFully(this.fh, buf, Math.min(buf.length, to - at), at)
    }
    await fill(pos, 0)
    while (pos < to) {
      let rel = pos - base
      let length = recordAt(buf, rel, limit)
      if (length === 0 && base + limit < to) {
        // The record runs past what is buffered: refill from it.
        await fill(pos, 0)
        rel = 0
        length = recordAt(buf, 0, limit)
        if (length === 0 && base + limit < to) {
          // Larger than a chunk (the length field was checked against MAX_PAYLOAD).
          await fill(pos, RECORD_HEADER + buf.readUInt32LE(4))
          length = recordAt(buf, 0, limit)
        }
      }
      if (length > 0) {
        const deleted = buf.readUInt32LE(rel) === DELETED
        yield {
          offset: pos,
          next: pos + length,
          // Copy: the buffer is reused for the next chunk.
          payload: deleted ? null : Buffer.from(buf.subarray(rel + RECORD_HEADER, rel + length)),
        }
        pos += length
        continue
      }
      // Damage at `pos`: look for the next intact record.
      const resume = await this.resync(pos + 1, to)
      if (resume === -1) {
        if (options.trimTail) {
          this.logger.warn(
            { path: this.path, offset: pos, bytes: to - pos },
            'log ends in a torn or damaged tail; trimming it',
          )
          await this.fh.truncate(pos)
          await this.fh.sync()
          this.end = pos
        } else {
          this.logger.warn({ path: this.path, offset: pos }, 'damaged log record skipped')
        }
        options.onCorrupt?.(pos, to)
        return
      }
      this.logger.warn(
        { path: this.path, from: pos, to: resume },
        'damaged bytes in the middle of the log skipped',
      )
      options.onCorrupt?.(pos, resume)
      pos = resume
      await fill(pos, 0)
    }
  }

  /** The offset of the first intact record at or after `from` (before `to`), or -1. */
  private async resync(from: number, to: number): Promise<number> {
    const window = Buffer.allocUnsafe(CHUNK + RECORD_HEADER + MAX_PAYLOAD)
    let at = from
    const magics = [Buffer.from('SKR1', 'latin1'), Buffer.from('SKD1', 'latin1')]
    while (at < to) {
      const got = await readFully(this.fh, window, Math.min(window.length, to - at), at)
      const view = window.subarray(0, got)
      let i = 0
      const scanLimit = Math.min(got, CHUNK)
      while (i < scanLimit) {
        const a = view.indexOf(magics[0]!, i)
        const b = view.indexOf(magics[1]!, i)
        const hit = a === -1 ? b : b === -1 ? a : Math.min(a, b)
        if (hit === -1 || hit >= scanLimit) break
        if (recordAt(view, hit, got) > 0) return at + hit
        i = hit + 1
      }
      if (got < window.length) break
      at += CHUNK
    }
    return -1
  }

  /** Marks the record at `offset` deleted and zeroes its payload, durably. */
  async delete(offset: number): Promise<void> {
    const payload = await this.read(offset)
    if (payload === null) return
    const out = Buffer.allocUnsafe(RECORD_HEADER + payload.length)
    encodeRecord(out, 0, Buffer.alloc(payload.length), DELETED)
    await this.fh.write(out, 0, out.length, offset)
    await this.fh.datasync()
  }

  async close(): Promise<void> {
    this.spare.length = 0
    await this.fh.close()
  }

  /** A buffer for a reader's window of `size` bytes: a spare one when it fits. */
  takeWindow(size: number): Buffer {
    if (size > MAX_WINDOW) return Buffer.allocUnsafe(size)
    if (size > SMALL_WINDOW) return this.spare.pop() ?? Buffer.allocUnsafe(MAX_WINDOW)
    return Buffer.allocUnsafe(size)
  }

  /** Takes back a window from {@link Log.takeWindow} that its reader no longer uses. */
  giveWindow(buf: Buffer): void {
    if (buf.length === MAX_WINDOW && this.spare.length < SPARE_WINDOWS) this.spare.push(buf)
  }
}

/**
 * Reads records by offset through a window of file bytes, so that a stream visiting nearby
 * offsets in rising order costs one read per window rather than one per record.
 */
export class LogReader {
  private buf: Buffer
  private base = 0
  private limit = 0
  /** the offset of the record after the one {@link LogReader.read} returned last */
  next = 0

  constructor(
    private readonly log: Log,
    private readonly fd: number,
    windowSize: number,
  ) {
    this.buf = log.takeWindow(windowSize)
  }

  /** Gives the window back to the log (for the next reader); this reader is done. */
  release(): void {
    this.log.giveWindow(this.buf)
    this.buf = EMPTY
    this.base = 0
    this.limit = 0
  }

  /**
   * Like {@link Log.read}, but synchronous (page-cache reads; a round trip through the thread
   * pool per record would cost more than the read) and through the window. The returned buffer
   * is only valid until the next call. When the window has to move, `span` bytes are read
   * (at most {@link MAX_WINDOW}; the window grows to hold them), else a window's worth.
   */
  read(offset: number, span?: number): Buffer | null {
    let rel = offset - this.base
    if (rel < 0 || rel + RECORD_HEADER > this.limit) {
      this.fill(offset, 0, span)
      rel = 0
    }
    // The checks of recordAt, written out: through recordAt (a second subarray and magic read
    // per record) the log stream was about 6% slower.
    let buf = this.buf
    const magic = buf.readUInt32LE(rel)
    const length = buf.readUInt32LE(rel + 4)
    if ((magic !== LIVE && magic !== DELETED) || length > MAX_PAYLOAD) {
      throw new CorruptRecordError(offset)
    }
    if (rel + RECORD_HEADER + length > this.limit) {
      // the payload runs past the window (also when the header ends exactly at its end)
      this.fill(offset, RECORD_HEADER + length)
      rel = 0
      buf = this.buf
      if (RECORD_HEADER + length > this.limit) throw new CorruptRecordError(offset)
    }
    const payload = buf.subarray(rel + RECORD_HEADER, rel + RECORD_HEADER + length)
    if (crcOf(buf, rel + 4, payload) !== buf.readUInt32LE(rel + 8)) {
      throw new CorruptRecordError(offset)
    }
    this.next = offset + RECORD_HEADER + length
    return magic === DELETED ? null : payload
  }

  /** Whether the record header at `offset` is in the window (a read there needs no I/O). */
  holds(offset: number): boolean {
    const rel = offset - this.base
    return rel >= 0 && rel + RECORD_HEADER <= this.limit
  }

  private fill(offset: number, min = 0, span = this.buf.length): void {
    if (offset < LOG_START || offset >= this.log.end) throw new CorruptRecordError(offset)
    if (min > MAX_PAYLOAD + RECORD_HEADER) throw new CorruptRecordError(offset)
    const size = Math.max(min, Math.min(span, MAX_WINDOW))
    if (size > this.buf.length) {
      this.log.giveWindow(this.buf)
      this.buf = this.log.takeWindow(size)
    }
    const want = Math.min(size, this.log.end - offset)
    this.base = offset
    this.limit = readAt(this.fd, this.buf, want, offset)
  }
}
