/**
 * The `secret` file that holds an identity (§1.2 of ssb-protocol.md): written byte-for-byte as
 * npm ssb-keys writes it, read as it reads it, and validated on the way in.
 *
 * Unlike the reference, nothing here ever returns `undefined` keys or silently replaces a file
 * it cannot read with a new identity (bad-inputs.md §1): a damaged file may still be repaired,
 * while a new identity abandons the user's feed, and that cannot be undone.
 */
import { CorruptSecretFileError, SecretFileExistsError, SecretFileNotFoundError } from './errors.js'
import {
  type LoadedSecret,
  loadSecret,
  loadSecretSync,
  parseSecretNamed,
  renderSecret,
  SECRET_FILE_MODE,
  writeSecret,
  writeSecretSync,
} from './internal/secret-io.js'
import { generateKeys, type Keys } from './keys.js'

/** How to write a secret file. */
export interface SecretFileOptions {
  /**
   * Write the bare `private` string instead of the JSON key object (the `legacy` flag of npm
   * ssb-keys `create`). npm ssb-keys 8.5 cannot read such a file back; this package can.
   */
  legacy?: boolean
}

/** What {@link loadOrCreateSecretFile} found or made. */
export interface LoadedSecretFile {
  keys: Keys
  /** `true` when no file existed and a new identity was written. */
  created: boolean
  /** Permission bits of the file (`0o400` for one just created). */
  mode: number
  /** `true` when group or others may read the file (never on Windows, which has no such bits). */
  exposed: boolean
  /** A one-line warning for the log when `exposed`, else `undefined`. */
  warning: string | undefined
}

/**
 * Whether permission bits let anyone but the owner touch the file. The reference writes 0400
 * (bad-inputs.md §1: "secret is world-readable → warn").
 */
export function isExposedMode(mode: number): boolean {
  return process.platform !== 'win32' && (mode & 0o077) !== 0
}

function describeMode(path: string, keys: Keys, mode: number, created: boolean): LoadedSecretFile {
  const exposed = isExposedMode(mode)
  const octal = `0${(mode & 0o777).toString(8)}`
  const warning = exposed
    ? `secret file ${path} can be read by other users (mode ${octal}); run: chmod 400 ${path}`
    : undefined
  return { keys, created, mode, exposed, warning }
}

/**
 * The text of a secret file for `keys`, exactly as npm ssb-keys writes it: a warning block,
 * `JSON.stringify(keys, null, 2)` (or the bare `private` string with `legacy`), a closing block
 * whose last line is `#   <id>`, no trailing newline. Throws `InvalidKeysError` or
 * `SecretKeyMismatchError` when `keys` is not a consistent ed25519 key pair.
 */
export function formatSecretFile(keys: Keys, options: SecretFileOptions = {}): string {
  return renderSecret(keys, options.legacy === true)
}

/**
 * Parses and validates the text of a secret file (the JSON form or the legacy bare `private`
 * string), returning canonical keys. Throws `CorruptSecretFileError` or `SecretKeyMismatchError`;
 * `path` only labels the error.
 */
export function parseSecretFile(text: string, path?: string): Keys {
  return parseSecretNamed(text, path).keys
}

/**
 * Reads the secret file at `path` and checks it (see {@link parseSecretFile}). Never returns
 * `undefined`. Errors: `SecretFileNotFoundError`, `SecretFileUnreadableError` (directory, broken
 * symlink, `EACCES`, …), `CorruptSecretFileError`, `SecretKeyMismatchError`.
 */
export async function readSecretFile(path: string): Promise<Keys> {
  return (await loadSecret(path)).keys
}

/** Sync {@link readSecretFile}. */
export function readSecretFileSync(path: string): Keys {
  return loadSecretSync(path).keys
}

/**
 * Writes `keys` to a new secret file at `path`: missing parent folders are created with mode
 * 0700, the file is opened with `wx` and mode 0400 and flushed to disk. An existing file is
 * never touched: `SecretFileExistsError`. Other failures: `SecretFileUnwritableError`.
 */
export async function writeSecretFile(
  path: string,
  keys: Keys,
  options: SecretFileOptions = {},
): Promise<void> {
  await writeSecret(path, formatSecretFile(keys, options))
}

/** Sync {@link writeSecretFile}. */
export function writeSecretFileSync(
  path: string,
  keys: Keys,
  options: SecretFileOptions = {},
): void {
  writeSecretSync(path, formatSecretFile(keys, options))
}

/** Options of {@link createSecretFile}. */
export interface CreateSecretFileOptions extends SecretFileOptions {
  /** Derive the identity from this seed (see `generateKeys`) instead of random bytes. */
  seed?: Uint8Array | string
}

/** Generates a new identity and writes it with {@link writeSecretFile}; returns its keys. */
export async function createSecretFile(
  path: string,
  options: CreateSecretFileOptions = {},
): Promise<Keys> {
  const keys = generateKeys(options.seed)
  await writeSecretFile(path, keys, options)
  return keys
}

/** Sync {@link createSecretFile}. */
export function createSecretFileSync(path: string, options: CreateSecretFileOptions = {}): Keys {
  const keys = generateKeys(options.seed)
  writeSecretFileSync(path, keys, options)
  return keys
}

const RACE_ATTEMPTS = 40
const RACE_DELAY_MS = 25

/**
 * Reads a file another process has just created: it may still be empty or half written, so a
 * corrupt read is retried for up to a second before it counts.
 */
async function loadAfterRace(path: string): Promise<LoadedSecret> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await loadSecret(path)
    } catch (err) {
      if (!(err instanceof CorruptSecretFileError) || attempt >= RACE_ATTEMPTS) throw err
      await new Promise((resolve) => setTimeout(resolve, RACE_DELAY_MS))
    }
  }
}

/** Sync {@link loadAfterRace}. */
function loadAfterRaceSync(path: string): LoadedSecret {
  for (let attempt = 1; ; attempt++) {
    try {
      return loadSecretSync(path)
    } catch (err) {
      if (!(err instanceof CorruptSecretFileError) || attempt >= RACE_ATTEMPTS) throw err
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RACE_DELAY_MS)
    }
  }
}

/**
 * Loads the identity at `path`, creating a new one **only** when the file does not exist
 * (`ENOENT`). A file that is corrupt, mismatched or unreadable is an error, never replaced
 * (npm ssb-keys creates a new identity on any load failure). If another process creates the file
 * between our read and our write, its file is read instead. The result says whether the file
 * was created and whether its permissions expose it.
 */
export async function loadOrCreateSecretFile(path: string): Promise<LoadedSecretFile> {
  try {
    const { keys, mode } = await loadSecret(path)
    return describeMode(path, keys, mode, false)
  } catch (err) {
    if (!(err instanceof SecretFileNotFoundError)) throw err
  }
  const keys = generateKeys()
  try {
    await writeSecret(path, formatSecretFile(keys))
  } catch (err) {
    if (!(err instanceof SecretFileExistsError)) throw err
    const { keys: theirs, mode } = await loadAfterRace(path)
    return describeMode(path, theirs, mode, false)
  }
  return describeMode(path, keys, SECRET_FILE_MODE, true)
}

/** Sync {@link loadOrCreateSecretFile}. */
export function loadOrCreateSecretFileSync(path: string): LoadedSecretFile {
  try {
    const { keys, mode } = loadSecretSync(path)
    return describeMode(path, keys, mode, false)
  } catch (err) {
    if (!(err instanceof SecretFileNotFoundError)) throw err
  }
  const keys = generateKeys()
  try {
    writeSecretSync(path, formatSecretFile(keys))
  } catch (err) {
    if (!(err instanceof SecretFileExistsError)) throw err
    const { keys: theirs, mode } = loadAfterRaceSync(path)
    return describeMode(path, theirs, mode, false)
  }
  return describeMode(path, keys, SECRET_FILE_MODE, true)
}
