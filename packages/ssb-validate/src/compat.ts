/**
 * Drop-in names for people moving from npm `ssb-validate` 4.1.4: the same functions, arguments,
 * state object and errors (plain `Error`-compatible objects with `fatal`). They are built on the
 * typed core, so they share its fixes: junk such as `null` gets an error instead of a TypeError,
 * and `create` checks the size of the signed message, not the unsigned one.
 */

import { type HmacKey, type Keys, messageId } from '@scuttlekit/ssb-keys'
import { type FeedId, isFeedId, type MsgId } from '@scuttlekit/ssb-ref'
import { contentError, encode, isSignatureOfAuthorCurve, shapeError } from './checks.js'
import { createMessage } from './create.js'
import { ValidationError } from './errors.js'
import { monotonicTimestamp } from './timestamp.js'
import type { FeedState, KVT, MsgValue } from './types.js'
import { checkState, prepare, resolveHmacKey, validateMessageOOO, verdictOf } from './validate.js'

/** A feed's entry in the drop-in state: its latest message and the queue of unverified ones. */
export interface CompatFeedState {
  id: MsgId | null
  sequence: number | null
  timestamp: number | null
  queue: KVT[]
}

/** The drop-in state object, as `ssb-validate.initial()` makes it. */
export interface CompatState {
  validated: number
  queued: number
  queue: KVT[]
  feeds: Record<string, CompatFeedState>
  error: ValidationError | null | false
}

/** `ssb-validate.encode`: `JSON.stringify(obj, null, 2)`. */
export { encode } from './checks.js'

/** A fresh validation state. */
export function initial(): CompatState {
  return { validated: 0, queued: 0, queue: [], feeds: {}, error: null }
}

/** `ssb-validate.id`: the message id (§2.4). */
export function id(msg: object): MsgId {
  return messageId(msg)
}

/** Wraps a message as a KVT with a monotonic receive timestamp. */
export function toKeyValueTimestamp(msg: MsgValue, msgId?: MsgId): KVT {
  return { key: msgId ?? id(msg), value: msg, timestamp: monotonicTimestamp() }
}

/** Content type check of unencrypted content; an error or `false`. */
export function isInvalidContent(content: unknown): ValidationError | false {
  return contentError(content) ?? false
}

/** `hash === 'sha256'`. */
export function isSupportedHash(msg: { hash?: unknown }): boolean {
  return msg.hash === 'sha256'
}

/** Signature format matches the author's curve: `true` or `undefined`, as the reference. */
export function isSigMatchesCurve(msg: {
  signature?: unknown
  author?: unknown
}): true | undefined {
  return typeof msg.author === 'string' && isSignatureOfAuthorCurve(msg.signature, msg.author)
    ? true
    : undefined
}

/** The shape, size and content-type checks; an error or `false`. */
export function isInvalidShape(msg: unknown): ValidationError | false {
  return shapeError(msg, encode(msg)) ?? false
}

function flatState(feed: CompatFeedState | undefined | null): FeedState | CompatFeedState | null {
  if (!feed) return null
  const last = feed.queue[feed.queue.length - 1]
  if (last) return { id: last.key, timestamp: last.value.timestamp, sequence: last.value.sequence }
  return feed
}

/** Every check but the HMAC key and the signature; an error or `false`. */
export function checkInvalidCheap(
  state: FeedState | CompatFeedState | null | undefined,
  msg: unknown,
): ValidationError | false {
  const p = prepare(msg, null)
  if (p.pre) return p.pre
  return checkState(state as FeedState, p) ?? p.post ?? false
}

/** Every check including the signature; an error or `false`. */
export function checkInvalid(
  state: FeedState | CompatFeedState | null | undefined,
  hmacKey: HmacKey,
  msg: unknown,
): ValidationError | false {
  const key = resolveHmacKey(hmacKey)
  const v = verdictOf(prepare(msg, key instanceof Uint8Array ? key : null), state as FeedState, key)
  return v.ok ? false : v.error
}

/** The out-of-order checks (no chain); an error or `false`. */
export function checkInvalidOOO(msg: unknown, hmacKey: HmacKey): ValidationError | false {
  const v = validateMessageOOO(msg, { hmacKey })
  return v.ok ? false : v.error
}

function authorOf(msg: unknown): string {
  return (msg as { author: string }).author
}

/** Cheap checks only; queues the message on its feed. Sets `state.error` on failure. */
export function queue(state: CompatState, msg: MsgValue): CompatState {
  const err = checkInvalidCheap(flatState(state.feeds[authorOf(msg)]), msg)
  state.error = err || null
  if (err) return state
  state.feeds[msg.author] ??= { id: null, sequence: null, timestamp: null, queue: [] }
  state.queued += 1
  state.feeds[msg.author]!.queue.push(toKeyValueTimestamp(msg))
  return state
}

/** Validates a KVT (trusting its key as the id) and appends it. Throws on failure. */
export function appendKVT(state: CompatState, hmacKey: HmacKey, kvt: KVT): CompatState {
  const msg = kvt.value as unknown
  const author = typeof msg === 'object' && msg !== null ? authorOf(msg) : undefined
  const feed = author === undefined ? undefined : state.feeds[author]
  const err = checkInvalid(flatState(feed), hmacKey, msg)
  if (err) throw err
  const value = kvt.value
  if (feed) {
    feed.id = kvt.key
    feed.sequence = value.sequence
    feed.timestamp = value.timestamp
    state.validated += feed.queue.length
    state.queued -= feed.queue.length
    for (const queued of feed.queue) state.queue.push(queued)
    feed.queue = []
  } else if (value.sequence === 1) {
    state.feeds[value.author] = feedEntry(kvt)
  }
  state.queue.push(kvt)
  state.validated += 1
  return state
}

/** A feed entry whose latest message is `kvt`. */
function feedEntry(kvt: KVT): CompatFeedState {
  return { id: kvt.key, sequence: kvt.value.sequence, timestamp: kvt.value.timestamp, queue: [] }
}

/** Validates `msg` as the next message of its feed and appends it. Throws on failure. */
export function append(state: CompatState, hmacKey: HmacKey, msg: MsgValue): CompatState {
  if (typeof msg !== 'object' || msg === null) throw checkInvalid(null, hmacKey, msg)
  return appendKVT(state, hmacKey, toKeyValueTimestamp(msg))
}

/** Validates without the chain and appends. Sets `state.error` on failure. */
export function appendOOO(state: CompatState, hmacKey: HmacKey, msg: MsgValue): CompatState {
  const v = validateMessageOOO(msg, { hmacKey })
  state.error = v.ok ? false : v.error
  if (!v.ok) return state
  const kvt = toKeyValueTimestamp(msg, v.id)
  state.feeds[msg.author] ??= feedEntry(kvt)
  state.queue.push(kvt)
  state.validated += 1
  return state
}

/** Verifies the last queued message of `feed` and with it accepts the whole queue. */
export function validate(state: CompatState, hmacKey: HmacKey, feed: FeedId): CompatState {
  if (!isFeedId(feed)) throw new Error('validate takes a feedId')
  const f = state.feeds[feed]
  if (!f || f.queue.length === 0) return state
  const kvt = f.queue.pop()!
  state.queued -= 1
  return appendKVT(state, hmacKey, kvt)
}

/**
 * Creates and signs the next message after `state` (a feed entry of the state object, a
 * `{id, sequence, timestamp}`, or null). Throws on bad content or timestamp.
 */
export function create(
  state: FeedState | CompatFeedState | null | undefined,
  keys: Keys,
  hmacKey: HmacKey,
  content: Record<string, unknown> | string,
  timestamp: number,
): MsgValue {
  const flat = state && 'queue' in state ? flatState(state) : state
  return createMessage(flat as FeedState | null, keys, content, timestamp, { hmacKey }).value
}

/** Creates the next message of `keys`' feed and appends it to the state. */
export function appendNew(
  state: CompatState,
  hmacKey: HmacKey,
  keys: Keys,
  content: Record<string, unknown> | string,
  timestamp: number,
): CompatState {
  const msg = create(state.feeds[keys.id], keys, hmacKey, content, timestamp)
  return append(state, hmacKey, msg)
}

export { ValidationError }
