/**
 * Error classes of `@scuttlekit/ssb-config`. Every configuration problem is a `ConfigError`
 * (or a subclass, told apart by `.name`) that says which field is wrong and which source set
 * it: a file path, `environment variable ssb_port`, `flag --port`, `overrides` or `defaults`.
 * ssb-config 3.4.6 accepts almost anything and fails later, far from the cause (bad-inputs.md
 * §1: "config: bad JSON, …, port out of range, appKey that is not 32 bytes of base64 → clear
 * error naming the field; exit ≠ 0; no partial start").
 *
 * Problems with the `secret` file are not wrapped: they surface as the `@scuttlekit/ssb-keys`
 * errors (`CorruptSecretFileError`, `SecretKeyMismatchError`, `SecretFileUnreadableError`, …).
 */
import { ScuttlekitError } from '@scuttlekit/ssb-ref'

/** A configuration value is invalid. `field` is its key path, `source` where it was set. */
export class ConfigError extends ScuttlekitError {
  constructor(
    /** Key path such as `port` or `connections.incoming.net[0].port`; undefined for a whole file. */
    readonly field: string | undefined,
    /** Where the value came from: a file path, `environment variable …`, `flag --…`, … */
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/**
 * A config file starts with `{` (so it is JSON, as `rc` decides) but is not valid JSON after
 * comments are removed. `rc` throws a bare `SyntaxError` that names no file.
 */
export class ConfigSyntaxError extends ConfigError {
  constructor(
    readonly path: string,
    detail: string,
    /** 1-based position of the error in the file, when known. */
    readonly line?: number,
    readonly column?: number,
    options?: { cause?: unknown },
  ) {
    const where = line === undefined ? '' : ` at line ${line}, column ${column}`
    super(undefined, path, `config file ${path} is not valid JSON${where}: ${detail}`, options)
  }
}

/**
 * A config file exists but cannot be read for a reason other than "missing" or "is a
 * directory" (`EACCES`, for instance). `rc` skips such files silently.
 */
export class ConfigFileUnreadableError extends ConfigError {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const reason =
      cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : cause
    super(undefined, path, `cannot read config file ${path}: ${String(reason)}`, { cause })
  }
}

/**
 * The legacy `host`/`port`/`ws.port` settings disagree with `connections.incoming`. The message
 * starts as ssb-config's does (`ssb-config: conflicting connection settings for: net port`) and
 * then says which values from which sources disagree.
 */
export class ConflictingConnectionsError extends ConfigError {
  constructor(
    /** The conflicts as ssb-config names them: `net host`, `net port`, `ws port`. */
    readonly conflicts: readonly string[],
    field: string,
    source: string,
    details: string,
  ) {
    super(
      field,
      source,
      `ssb-config: conflicting connection settings for: ${conflicts.join(', ')} (${details})`,
    )
  }
}
