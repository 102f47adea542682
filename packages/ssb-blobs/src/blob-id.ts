/**
 * Blob ids (`ssb-protocol.md` §6.1): `&` + base64(sha256(bytes)) + `.sha256`, and the conversions
 * between an id, its 32-byte digest and the bytes it names.
 *
 * Only the canonical form is accepted. `isBlobId` from `@scuttlekit/ssb-ref` (like npm ssb-ref)
 * already insists on canonical base64 (the last character carries no padding bits) but its regex
 * has an unescaped `.`, so `&…=_sha256` would pass it; we also require the literal `.sha256`
 * suffix. A valid id therefore has exactly 52 characters and maps to exactly one digest, which is
 * what makes it safe to build a file name from (see `store.ts`).
 */
import { createHash } from 'node:crypto'
import { type BlobId, InvalidBlobIdError, isBlobId } from '@scuttlekit/ssb-ref'

/** Length of every valid blob id: `&` + 44 base64 characters + `.sha256`. */
export const BLOB_ID_LENGTH = 52

const SUFFIX = '.sha256'

/**
 * The id of the empty blob (sha256 of zero bytes). It always counts as present with size 0 and is
 * never stored as a file (`ssb-protocol.md` §6.1).
 */
export const EMPTY_BLOB_ID: BlobId = '&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256'

/**
 * True for a canonical blob id: what `isBlobId` accepts, with the literal `.sha256` suffix and
 * 52 characters. Every store method checks this before a path is built, so a hostile id
 * (`../`, bad base64, another suffix) never reaches the file system.
 */
export function isValidBlobId(value: unknown): value is BlobId {
  return (
    typeof value === 'string' &&
    value.length === BLOB_ID_LENGTH &&
    value.endsWith(SUFFIX) &&
    isBlobId(value)
  )
}

/** The id naming a 32-byte sha256 digest; a digest of another length is a programming error. */
export function blobIdOfDigest(digest: Uint8Array): BlobId {
  if (digest.length !== 32) {
    throw new RangeError(`a sha256 digest has 32 bytes, got ${digest.length}`)
  }
  return `&${Buffer.from(digest.buffer, digest.byteOffset, 32).toString('base64')}${SUFFIX}`
}

/** The 32-byte digest an id names; throws `InvalidBlobIdError` for anything but a valid id. */
export function digestOfBlobId(id: string): Buffer {
  if (!isValidBlobId(id)) throw new InvalidBlobIdError(id)
  return Buffer.from(id.slice(1, 45), 'base64')
}

/** The id of a whole buffer (a string is hashed as its UTF-8 bytes, as ssb-blobs does). */
export function blobIdOf(bytes: Uint8Array | string): BlobId {
  return blobIdOfDigest(createHash('sha256').update(bytes).digest())
}
