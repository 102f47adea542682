/**
 * The types shared by every layer of an SSB connection: manifests, permissions, calls and the
 * limits that keep one peer from exhausting the process (`ssb-protocol.md` §3–4).
 */

import type { FeedId } from '@scuttlekit/ssb-ref'

/** How a method is called: the manifest's words (`ssb-protocol.md` §4.7). */
export type MethodType = 'async' | 'sync' | 'source' | 'sink' | 'duplex'

/**
 * The type a request carries on the wire. `sync` methods are requested as `async` (JS muxrpc
 * sends no `type` for non-stream calls, §4.5).
 */
export type WireType = 'async' | 'source' | 'sink' | 'duplex'

/** A nested map of method names to their types, as `manifest` returns it. */
export interface Manifest {
  [name: string]: MethodType | Manifest
}

/**
 * Which methods a connection may call. Method paths are joined with dots (`blobs.has`).
 * `allow: null` allows everything not denied; `deny: null` denies nothing.
 */
export interface Permissions {
  readonly allow: readonly string[] | null
  readonly deny: readonly string[] | null
}

/** A JSON-ish value as muxrpc carries it: strings as text, Buffers as binary, the rest as JSON. */
export type RpcValue = unknown

/** A request that arrived from the remote peer, handed to the local {@link CallHandler}. */
export interface IncomingCall {
  /** The method path, e.g. `['blobs', 'has']`; validated to be a non-empty array of strings. */
  readonly name: readonly string[]
  /** What the caller asked for on the wire. */
  readonly type: WireType
  /** The arguments; always an array (a request without one is refused before this point). */
  readonly args: readonly RpcValue[]
  /** For `sink` and `duplex`: the values the caller streams to us, ended when the caller ends. */
  readonly input?: AsyncIterable<RpcValue>
  /** Aborted when the caller aborts the stream or the connection goes away. */
  readonly signal: AbortSignal
  /** The connection the call came in on (who is calling, their rights). */
  readonly session: RpcSessionInfo
}

/**
 * Serves one incoming call. Return (or resolve to):
 * - `async`: the reply value;
 * - `source` and `duplex`: an `AsyncIterable` of values to stream back;
 * - `sink`: a Promise that settles when the handler has consumed `input` (its value is ignored).
 * Throwing, or a rejected Promise, becomes an error reply for that request only.
 */
export type CallHandler = (call: IncomingCall) => unknown

/** What a call handler may know about the connection it serves. */
export interface RpcSessionInfo {
  /** The remote peer's long-term id; for a `noauth` unix-socket connection, our own id. */
  readonly remoteId: FeedId
  /** Whatever the server's authorize hook attached (e.g. the connection's {@link Permissions}). */
  readonly auth: unknown
  /** Free-form per-connection data for plugins. */
  readonly data: Map<string, unknown>
}

/** Caps that bound what one peer can make us hold. */
export interface RpcLimits {
  /** Largest frame body accepted; a larger declared length closes the connection (default 4 MiB). */
  readonly maxFrameBytes: number
  /** Requests and streams a peer may have open on us at once; more get an error (default 4096). */
  readonly maxOpenRequests: number
  /**
   * Bytes of received stream values not yet consumed locally; above this the connection stops
   * reading from the socket until the consumer catches up (default 8 MiB).
   */
  readonly maxInboundBufferBytes: number
  /** Close the connection after this long with no traffic either way; 0 disables (default 0). */
  readonly idleTimeoutMs: number
}
