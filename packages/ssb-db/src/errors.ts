/**
 * The errors of `@scuttlekit/ssb-db`. Callers test `err.name` (muxrpc carries only `name`,
 * `message` and `stack` over the wire).
 */
import { ScuttlekitError, safeString } from '@scuttlekit/ssb-ref'

/** Another process (or another open handle in this one) holds the database directory. */
export class DatabaseLockedError extends ScuttlekitError {
  constructor(readonly path: string) {
    super(`database at ${path} is locked: another ssb server is already running on it`)
  }
}

/** A call on a database that has been closed (or is closing). */
export class DatabaseClosedError extends ScuttlekitError {
  constructor() {
    super('database is closed')
  }
}

/** The log file is not a Scuttlekit log at all (wrong magic or version): we refuse to touch it. */
export class CorruptLogError extends ScuttlekitError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path} is not a Scuttlekit log (${reason}); refusing to open it`)
  }
}

/** A stored record failed its checksum: it is never served. */
export class CorruptRecordError extends ScuttlekitError {
  constructor(
    readonly offset: number,
    readonly key?: string,
  ) {
    super(`log record at offset ${offset}${key ? ` (${key})` : ''} failed its checksum`)
  }
}

/** `get` of a message id the database does not hold (the reference's text). */
export class MessageNotFoundError extends ScuttlekitError {
  constructor(readonly id: string) {
    super(`Key not found in database [${id}]`)
  }
}

/** `latestSequence` of a feed the database does not hold (the reference's text). */
export class FeedNotFoundError extends ScuttlekitError {
  constructor(readonly id: string) {
    super(`not found:${safeString(id)}`)
  }
}

/** A feed was seen forking: nothing more of it is stored. */
export class ForkedFeedError extends ScuttlekitError {
  constructor(readonly feed: string) {
    super(`feed ${feed} is forked: no more of its messages are stored`)
  }
}

/** Bad arguments to a read or write call (the message names what is wrong). */
export class InvalidArgumentError extends ScuttlekitError {}

/** `publish` with `recps` that cannot be boxed to (the reference's text). */
export class RecipientsError extends ScuttlekitError {}

/** Writing to the log failed (disk full, I/O error): nothing of that write is stored. */
export class WriteFailedError extends ScuttlekitError {
  constructor(cause: unknown) {
    super(`writing to the log failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })
  }
}

/**
 * A live stream's consumer fell too far behind: more new records waited for it than
 * `maxLiveQueue`. The stream ends with this error; the consumer may open it again from where it
 * got to.
 */
export class SlowConsumerError extends ScuttlekitError {
  constructor(readonly limit: number) {
    super(`live stream consumer too slow: more than ${limit} records waiting`)
  }
}
