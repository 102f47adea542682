/**
 * Error classes of `@scuttlekit/ssb-keys`. One class per condition, told apart by `.name`
 * (see `ScuttlekitError`). None of them ever carries key material in its message: a secret file
 * that fails to parse is described, never quoted.
 */
import { describe, ScuttlekitError } from '@scuttlekit/ssb-ref'

/** `ENOENT`: there is no secret file at `path` (the only case in which one may be created). */
export class SecretFileNotFoundError extends ScuttlekitError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`secret file not found: ${path}`, options)
  }
}

/**
 * Creating a secret file found one already there (flag `wx`, §1.2 of ssb-protocol.md): an
 * identity is never overwritten.
 */
export class SecretFileExistsError extends ScuttlekitError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`secret file already exists, refusing to overwrite it: ${path}`, options)
  }
}

/**
 * The secret file exists but does not hold a key: empty, only comments, not JSON, truncated,
 * too large, or with a field of the wrong form. `reason` says which, without quoting the file.
 */
export class CorruptSecretFileError extends ScuttlekitError {
  constructor(
    readonly path: string | undefined,
    readonly reason: string,
  ) {
    super(`secret file is corrupt (${reason})${path === undefined ? '' : `: ${path}`}`)
  }
}

/**
 * The keys in a secret file (or a key object about to be written) do not belong together: the
 * public key is not the one derived from the seed, or `id` names another key.
 */
export class SecretKeyMismatchError extends ScuttlekitError {
  constructor(
    readonly path: string | undefined,
    detail = 'secret key does not match public key',
  ) {
    super(`${detail}${path === undefined ? '' : ` in ${path}`}`)
  }
}

/**
 * The secret file path exists but cannot be read: a directory, a broken symbolic link, a
 * permission error (`EACCES`), a path component that is not a directory, or a special file.
 * `cause` is the underlying error.
 */
export class SecretFileUnreadableError extends ScuttlekitError {
  constructor(
    readonly path: string,
    cause: unknown,
    reason?: string,
  ) {
    super(`cannot read secret file ${path}: ${reason ?? reasonOf(cause)}`, { cause })
  }
}

/** Creating the secret file or its parent folder failed for a reason other than `EEXIST`. */
export class SecretFileUnwritableError extends ScuttlekitError {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot write secret file ${path}: ${reasonOf(cause)}`, { cause })
  }
}

/** A key object handed to a writer is not a well-formed ed25519 key pair. */
export class InvalidKeysError extends ScuttlekitError {
  constructor(readonly reason: string) {
    super(`invalid key object: ${reason}`)
  }
}

/** A curve other than `ed25519` was asked for (§1.1: the only one SSB supports). */
export class UnsupportedCurveError extends ScuttlekitError {
  constructor(readonly curve: unknown) {
    super(`unknown curve: ${describe(curve)}, expected: ed25519`)
  }
}

/**
 * `generate()` was asked for a feed format other than `classic`. npm ssb-keys turns the id into
 * an `ssb:` URI for those, which classic SSB never uses (§1.1).
 */
export class UnsupportedFeedFormatError extends ScuttlekitError {
  constructor(readonly feedFormat: unknown) {
    super(`unsupported feed format: ${describe(feedFormat)}, expected: classic`)
  }
}

function reasonOf(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code
    return code ? `${code} ${cause.message.replace(/^[A-Z]+: /, '')}` : cause.message
  }
  return String(cause)
}
