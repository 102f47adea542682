/**
 * The plugin contract. A plugin declares its methods (each with its manifest type), which of them
 * anonymous peers may call, and optional hooks; the server builds one manifest and one router
 * from all of them, and starts and closes them in order.
 */

import type { SsbDb } from '@scuttlekit/ssb-db'
import type { Keys } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'
import type { IncomingCall, MethodType, Permissions, RpcSession } from '@scuttlekit/ssb-rpc'
import type { Logger } from 'pino'
import type { ServerConfig } from './config.js'

/**
 * One method. `fn` gets the call's arguments and the call itself (who calls, the abort signal,
 * and for `sink`/`duplex` the `input` stream). It returns, by type:
 * - `async`/`sync`: the value (or a Promise of it);
 * - `source`/`duplex`: an `AsyncIterable` of the values to send;
 * - `sink`: a Promise that settles when `call.input` is consumed.
 */
export interface MethodSpec {
  readonly type: MethodType
  readonly fn: (args: readonly unknown[], call: IncomingCall) => unknown
}

/** A plugin's methods, nested as the manifest nests them. */
export interface MethodTree {
  readonly [name: string]: MethodSpec | MethodTree
}

/** Whether a tree node is a method (as opposed to a group of methods). */
export function isMethodSpec(node: MethodSpec | MethodTree): node is MethodSpec {
  return typeof (node as MethodSpec).fn === 'function' && typeof node.type === 'string'
}

/** What a plugin gets at start. */
export interface PluginContext {
  readonly config: ServerConfig
  readonly keys: Keys
  /** our feed id */
  readonly id: FeedId
  readonly db: SsbDb
  /** a child logger with `{ mod: <plugin name> }` */
  readonly logger: Logger
  /** the server, for calls across plugins and for connections */
  readonly server: ServerHandle
}

/** What a plugin may ask of the server. */
export interface ServerHandle {
  readonly id: FeedId
  /** Calls a method with full rights, in process (the way the CLI's `start` publishes). */
  call(name: string | readonly string[], args?: readonly unknown[]): Promise<unknown>
  /** Another plugin's in-process API, when it exposes one. */
  plugin<T = unknown>(name: string): T | undefined
  /** Open RPC connections, both directions. */
  sessions(): readonly RpcSession[]
  /** The server's multiserver address for a scope (`device`, `local`, `public`). */
  address(scope?: string): string | null
  /**
   * Dials a peer (`net:host:port~shs:<key>`). Every plugin's `onSession` sees the new session
   * with `isClient` true; the peer gets anonymous rights on us.
   */
  connect(address: string): Promise<RpcSession>
  /**
   * Adds a check on every `createHistoryStream` a peer asks of us: `(feed, requester)` → false
   * serves that peer nothing of that feed (ssb-replicate's block rule, `ssb-protocol.md` §7.1).
   * Calls with full rights (our own key, master, unix socket) are not checked. Returns a
   * function that removes the check.
   */
  guardHistory(check: (feed: FeedId, requester: FeedId) => boolean): () => void
}

/** A running plugin. */
export interface PluginInstance {
  readonly methods?: MethodTree
  /** Exposed to other plugins through {@link ServerHandle.plugin}. */
  readonly api?: unknown
  /**
   * Decides the rights of a peer that completed the handshake: permissions to grant, `false` to
   * refuse the connection (e.g. a blocked peer), `undefined` to leave it to the next plugin.
   */
  authorize?(
    remoteId: FeedId,
  ): Permissions | false | undefined | Promise<Permissions | false | undefined>
  /** A new RPC connection; `isClient` when we dialled it. */
  onSession?(session: RpcSession, isClient: boolean): void
  /** Extra fields of `status()`, under the plugin's name. */
  status?(): unknown
  /** Extra fields of `progress()`, under the plugin's name. */
  progress?(): unknown
  close?(): void | Promise<void>
}

/** A plugin definition. */
export interface Plugin {
  /** The manifest section (`blobs`, `gossip`); `''` mounts the methods at the top level. */
  readonly name: string
  /** Method paths, relative to the plugin, that anonymous peers may call. */
  readonly anonymous?: readonly string[]
  init(ctx: PluginContext): PluginInstance | Promise<PluginInstance>
}
