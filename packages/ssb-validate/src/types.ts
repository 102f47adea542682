import type { FeedId, MsgId, Signature } from '@scuttlekit/ssb-ref'

/**
 * A signed classic message value (§2.1 of ssb-protocol.md). Key order on the wire is
 * `previous, author|sequence, sequence|author, timestamp, hash, content, signature`; it is part of
 * what gets signed, so a value must never be rebuilt with other key order.
 */
export interface MsgValue {
  previous: MsgId | null
  author: FeedId
  sequence: number
  timestamp: number
  hash: 'sha256'
  /** an object with a string `type`, or private-box ciphertext `<base64>.box` */
  content: Record<string, unknown> | string
  signature: Signature
}

/** A message before signing: what `createMessage` builds. */
export type UnsignedMsgValue = Omit<MsgValue, 'signature'>

/** What validation needs to know of a feed: its latest accepted message. */
export interface FeedState {
  id: MsgId
  sequence: number
  timestamp: number
}

/** A stored record: message id, value and local receive timestamp (§2.7). */
export interface KVT<V = MsgValue> {
  key: MsgId
  value: V
  timestamp: number
}
