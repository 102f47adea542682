/**
 * Creating the next message of one's own feed (§2.1, §2.3, §2.5 of ssb-protocol.md).
 */

import { type Keys, messageIdOfJson, signJson } from '@scuttlekit/ssb-keys'
import { type MsgId, safeString } from '@scuttlekit/ssb-ref'
import { isEncrypted, MAX_MESSAGE_LENGTH, shapeError } from './checks.js'
import {
  InvalidContentError,
  MessageTooLargeError,
  TimestampRequiredError,
  UnserialisableContentError,
} from './errors.js'
import type { FeedState, MsgValue, UnsignedMsgValue } from './types.js'
import { resolveHmacKey, type ValidateOptions } from './validate.js'

/** A freshly created message and what storing it needs. */
export interface Created {
  id: MsgId
  value: MsgValue
  /** `JSON.stringify(value, null, 2)` */
  json: string
}

/**
 * Builds and signs the next message of `keys`' feed, whose latest message is `state` (`null`
 * for a new feed). Keys are written `previous, sequence, author, timestamp, hash, content`, as
 * the reference's `create()` writes them (§2.1). Unlike the reference, the size limit is
 * checked on the *signed* message, so we never create a message no peer would accept.
 *
 * Throws a {@link ValidationError} subclass for bad content, a missing timestamp or a message
 * that would be too large.
 */
export function createMessage(
  state: FeedState | null | undefined,
  keys: Keys,
  content: Record<string, unknown> | string,
  timestamp: number,
  options: ValidateOptions = {},
): Created {
  if (timestamp === null || timestamp === undefined || Number.isNaN(+timestamp)) {
    throw new TimestampRequiredError()
  }
  if (!(typeof content === 'object' && content !== null) && !isEncrypted(content)) {
    throw new InvalidContentError()
  }
  const key = resolveHmacKey(options.hmacKey)
  if (!(key === null || key instanceof Uint8Array)) throw key
  const unsigned: UnsignedMsgValue = {
    previous: state ? state.id : null,
    sequence: state ? state.sequence + 1 : 1,
    author: keys.id,
    timestamp: +timestamp,
    hash: 'sha256',
    content,
  } as UnsignedMsgValue
  // Not `encode`, which never throws: its placeholder for content JSON cannot hold would be
  // signed and stored as the message.
  let unsignedJson: string
  try {
    unsignedJson = JSON.stringify(unsigned, null, 2)
  } catch (err) {
    throw new UnserialisableContentError(err instanceof Error ? err.message : safeString(err))
  }
  const shape = shapeError(unsigned, unsignedJson)
  if (shape) throw shape
  const value = unsigned as MsgValue
  value.signature = signJson(keys, unsignedJson, key)
  // The signature is the last key and its text needs no escaping, so the signed serialisation
  // is the unsigned one with one more member (§2.3): no second stringify.
  const json = `${unsignedJson.slice(0, -2)},\n  "signature": "${value.signature}"\n}`
  if (json.length > MAX_MESSAGE_LENGTH) throw new MessageTooLargeError(json.length)
  return { id: messageIdOfJson(json), value, json }
}
