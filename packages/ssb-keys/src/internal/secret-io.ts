/**
 * File I/O of the secret file (§1.2 of ssb-protocol.md), async and sync, with every failure
 * mapped to one named error. Shared by `secret-file.ts` (typed API) and `compat.ts`.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  CorruptSecretFileError,
  InvalidKeysError,
  SecretFileExistsError,
  SecretFileNotFoundError,
  SecretFileUnreadableError,
  SecretFileUnwritableError,
  SecretKeyMismatchError,
} from '../errors.js'
import type { Keys } from '../keys.js'
import {
  checkKeyObject,
  formatSecretText,
  MAX_SECRET_FILE_BYTES,
  type ParsedSecret,
  parseSecretText,
  SecretTextProblem,
} from './secret-text.js'

/** A secret file as read: its keys, the parsed JSON object (if any) and its permission bits. */
export interface LoadedSecret extends ParsedSecret {
  mode: number
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

/** The named error for a failed `stat`/`readFile`. `linkExists`: the path is a symbolic link. */
function readError(path: string, err: unknown, linkExists: boolean): Error {
  const code = codeOf(err)
  if (code === 'ENOENT') {
    return linkExists
      ? new SecretFileUnreadableError(path, err, 'broken symbolic link')
      : new SecretFileNotFoundError(path, { cause: err })
  }
  if (code === 'EISDIR') return new SecretFileUnreadableError(path, err, 'it is a directory')
  return new SecretFileUnreadableError(path, err)
}

/** Refuses what `stat` says cannot be a secret file; returns the permission bits. */
function checkStats(path: string, stats: fs.Stats): number {
  if (!stats.isFile() && !stats.isDirectory()) {
    const cause = new Error('not a regular file')
    throw new SecretFileUnreadableError(path, cause, 'not a regular file')
  }
  if (stats.isFile() && stats.size > MAX_SECRET_FILE_BYTES) {
    throw new CorruptSecretFileError(path, `larger than ${MAX_SECRET_FILE_BYTES} bytes`)
  }
  return stats.mode & 0o7777
}

/** `parseSecretText`, with its problems turned into the named errors of this package. */
export function parseSecretNamed(text: string, path?: string): ReturnType<typeof parseSecretText> {
  try {
    return parseSecretText(text)
  } catch (err) {
    if (!(err instanceof SecretTextProblem)) throw err
    const { kind, reason } = err.problem
    throw kind === 'mismatch'
      ? new SecretKeyMismatchError(path, reason)
      : new CorruptSecretFileError(path, reason)
  }
}

/** Parses the file's bytes (read as ASCII, like npm ssb-keys) into named errors. */
function parse(path: string, bytes: Buffer, mode: number): LoadedSecret {
  return { ...parseSecretNamed(bytes.toString('ascii'), path), mode }
}

/**
 * Whether `path` is a symbolic link (asked after `stat` said ENOENT: then a dangling one). Not
 * merely whether something is there: another process may have created the file between the two
 * calls, and that is a file not found at the time, not a broken link.
 */
async function isSymlink(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    (st) => st.isSymbolicLink(),
    () => false,
  )
}

function isSymlinkSync(path: string): boolean {
  try {
    return fs.lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

/** Reads and validates the secret file at `path`. */
export async function loadSecret(path: string): Promise<LoadedSecret> {
  const fail = async (err: unknown) =>
    readError(path, err, codeOf(err) === 'ENOENT' && (await isSymlink(path)))
  let stats: fs.Stats
  try {
    stats = await fsp.stat(path)
  } catch (err) {
    throw await fail(err)
  }
  const mode = checkStats(path, stats)
  let bytes: Buffer
  try {
    bytes = await fsp.readFile(path)
  } catch (err) {
    throw await fail(err)
  }
  return parse(path, bytes, mode)
}

/** Sync {@link loadSecret}. */
export function loadSecretSync(path: string): LoadedSecret {
  const fail = (err: unknown) =>
    readError(path, err, codeOf(err) === 'ENOENT' && isSymlinkSync(path))
  let stats: fs.Stats
  try {
    stats = fs.statSync(path)
  } catch (err) {
    throw fail(err)
  }
  const mode = checkStats(path, stats)
  let bytes: Buffer
  try {
    bytes = fs.readFileSync(path)
  } catch (err) {
    throw fail(err)
  }
  return parse(path, bytes, mode)
}

/** Validates `keys` and renders the file text; throws on a key object that is not a pair. */
export function renderSecret(keys: Keys, legacy: boolean): string {
  const checked = checkKeyObject(keys)
  if (!checked.ok) {
    throw checked.kind === 'mismatch'
      ? new SecretKeyMismatchError(undefined, checked.reason)
      : new InvalidKeysError(checked.reason)
  }
  return formatSecretText(checked.keys, legacy)
}

/** Permission bits of a new secret file: owner read-only (`0x100` in npm ssb-keys). */
export const SECRET_FILE_MODE = 0o400
/** Permission bits of folders created for it. */
export const SECRET_DIR_MODE = 0o700

function openError(path: string, err: unknown): Error {
  return codeOf(err) === 'EEXIST'
    ? new SecretFileExistsError(path, { cause: err })
    : new SecretFileUnwritableError(path, err)
}

/**
 * Writes `text` to a new file at `path`: parents made with mode 0700, the file opened `wx`
 * (never overwrites, never follows a dangling symlink) with mode 0400, then flushed to disk. A
 * file left half-written by a failed write is removed.
 */
export async function writeSecret(path: string, text: string): Promise<void> {
  try {
    await fsp.mkdir(dirname(path), { recursive: true, mode: SECRET_DIR_MODE })
  } catch (err) {
    throw new SecretFileUnwritableError(path, err)
  }
  let handle: fsp.FileHandle
  try {
    handle = await fsp.open(path, 'wx', SECRET_FILE_MODE)
  } catch (err) {
    throw openError(path, err)
  }
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => {})
    await fsp.unlink(path).catch(() => {})
    throw new SecretFileUnwritableError(path, err)
  }
  await handle.close()
}

/** Sync {@link writeSecret}. */
export function writeSecretSync(path: string, text: string): void {
  try {
    fs.mkdirSync(dirname(path), { recursive: true, mode: SECRET_DIR_MODE })
  } catch (err) {
    throw new SecretFileUnwritableError(path, err)
  }
  let fd: number
  try {
    fd = fs.openSync(path, 'wx', SECRET_FILE_MODE)
  } catch (err) {
    throw openError(path, err)
  }
  try {
    fs.writeFileSync(fd, text, 'utf8')
    fs.fsyncSync(fd)
  } catch (err) {
    try {
      fs.closeSync(fd)
      fs.unlinkSync(path)
    } catch {
      // best effort: the write error below is the one to report
    }
    throw new SecretFileUnwritableError(path, err)
  }
  fs.closeSync(fd)
}
