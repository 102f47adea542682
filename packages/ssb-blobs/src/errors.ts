/**
 * One error class per way a blob operation can fail (`ssb-protocol.md` §6). Where multiblob 1.13.8
 * or ssb-blobs 1.2.2 has a message for the same condition it is kept word for word, so that
 * scripts matching on it keep working.
 */
import { ScuttlekitError } from '@scuttlekit/ssb-ref'

export { InvalidBlobIdError } from '@scuttlekit/ssb-ref'

/** The blob is not in the store. */
export class BlobNotFoundError extends ScuttlekitError {
  constructor(readonly id: string) {
    super(`blob not found: ${id}`)
  }
}

/**
 * `get` or `getSlice` gave a `size` that is not the blob's, or a `max` smaller than it
 * (multiblob's message, which prints `size` even when `max` was the cause).
 */
export class BlobSizeMismatchError extends ScuttlekitError {
  constructor(
    readonly id: string,
    readonly requested: unknown,
    readonly actual: number,
  ) {
    super(`incorrect file length, requested:${requested} file was:${actual} for file:${id}`)
  }
}

/** A range that is not inside the blob, or whose bounds are not numbers. */
export class InvalidBlobRangeError extends ScuttlekitError {}

/** More bytes arrived than the cap allows; nothing was stored. */
export class BlobTooLargeError extends ScuttlekitError {
  constructor(
    readonly id: string | undefined,
    readonly max: number,
  ) {
    super(`blob ${id ?? '(unknown id)'} is larger than the limit of ${max} bytes`)
  }
}

/** The bytes do not hash to the expected id (ssb-blobs' message); nothing was stored. */
export class BlobHashMismatchError extends ScuttlekitError {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`actual hash:${actual} did not match expected id:${expected}`)
  }
}

/** The store was closed. */
export class BlobStoreClosedError extends ScuttlekitError {
  constructor() {
    super('the blob store is closed')
  }
}

/** A live listener fell too far behind (its queue passed the cap) and was ended. */
export class BlobSlowConsumerError extends ScuttlekitError {
  constructor(readonly queued: number) {
    super(`live blob stream ended: the consumer fell ${queued} entries behind`)
  }
}

/**
 * A blob method got an argument it cannot use. The message is ssb-blobs' or multiblob's for the
 * same call (`invalid id:null`, `multiblob.get: {id} is mandatory`), so that callers matching on
 * it keep working.
 */
export class BlobArgumentError extends ScuttlekitError {}

/** A peer's `blobs.get` stream carried something other than bytes. */
export class BlobChunkTypeError extends ScuttlekitError {
  constructor(readonly id: string) {
    super(`blobs.get of ${id} sent a value that is not bytes`)
  }
}
