/**
 * The client: one RPC connection to a server, the server's manifest, and typed shortcuts for the
 * core methods. Any other method is reachable by name through {@link SsbClient.call} and friends.
 */

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig, MAIN_NET_CAPS } from '@scuttlekit/ssb-config'
import type { Keys } from '@scuttlekit/ssb-keys'
import { publicKeyOf } from '@scuttlekit/ssb-keys'
import type { FeedId, MsgId } from '@scuttlekit/ssb-ref'
import {
  connect,
  type Manifest,
  type MethodType,
  RpcConnectError,
  type RpcSession,
} from '@scuttlekit/ssb-rpc'
import { ServerNotRunningError, UnknownMethodError } from './errors.js'

/** The configuration keys the client reads (a subset of `@scuttlekit/ssb-config`'s result). */
export interface ClientConfig {
  path: string
  keys: Keys
  caps?: { shs?: string; [key: string]: unknown }
  appKey?: string
  host?: string
  port?: number
  timeout?: number
  timers?: { handshake?: number; [key: string]: unknown }
  remote?: string
  [key: string]: unknown
}

/** Options of {@link connectClient}. */
export interface ClientOptions {
  /** Default: `loadConfig()` from `@scuttlekit/ssb-config` (files, `ssb_*` env, no flags). */
  config?: ClientConfig
  /** Who we are; default the configuration's keys. */
  keys?: Keys
  /**
   * Where to connect: a multiserver address. Default: `config.remote`, else the unix socket
   * `<path>/socket` when it exists, else `net:<host or localhost>:<port>~shs:<our key>`.
   */
  remote?: string
  /** Skip the `manifest` call and use this one. */
  manifest?: Manifest
  /** Handshake timeout; default `timers.handshake`, else 3000 ms as ssb-client. */
  timeoutMs?: number
}

/** A stream item of the log, feed, history and user streams with default options. */
export interface KVT {
  key: MsgId
  value: Record<string, unknown> & { author: FeedId; sequence: number; content: unknown }
  timestamp: number
}

function pathOf(name: string | readonly string[]): string[] {
  return typeof name === 'string' ? name.split('.') : [...name]
}

/** A connection to a server. */
export class SsbClient {
  constructor(
    readonly session: RpcSession,
    readonly manifest: Manifest,
    /** the address this client connected to */
    readonly address: string,
  ) {}

  /** The server's feed id as the handshake proved it (our own id over the unix socket). */
  get remoteId(): FeedId {
    return this.session.info.remoteId
  }

  /** The manifest type of a dotted method name, or `undefined` when the server has none. */
  typeOf(name: string | readonly string[]): MethodType | undefined {
    let node: Manifest | MethodType | undefined = this.manifest
    for (const part of pathOf(name)) {
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return undefined
      node = node[part]
    }
    return typeof node === 'string' ? node : undefined
  }

  /** Calls an `async` or `sync` method. */
  call(name: string | readonly string[], ...args: unknown[]): Promise<unknown> {
    return this.session.request(pathOf(name), args)
  }

  /** Opens a `source` method. */
  source<T = unknown>(name: string | readonly string[], ...args: unknown[]): AsyncIterable<T> {
    return this.session.source(pathOf(name), args) as AsyncIterable<T>
  }

  /** Feeds `input` to a `sink` method; resolves when the server has taken it all. */
  sink(name: string | readonly string[], args: unknown[], input: AsyncIterable<unknown>) {
    return this.session.sink(pathOf(name), args, input)
  }

  /** Opens a `duplex` method. */
  duplex(name: string | readonly string[], args: unknown[], input: AsyncIterable<unknown>) {
    return this.session.duplex(pathOf(name), args, input)
  }

  /**
   * Calls `name` the way its manifest type says: a Promise for `async`/`sync`, an AsyncIterable
   * for `source`. Throws {@link UnknownMethodError} for names the manifest lacks.
   */
  invoke(name: string, args: unknown[], input?: AsyncIterable<unknown>): unknown {
    const type = this.typeOf(name)
    switch (type) {
      case 'async':
      case 'sync':
        return this.call(name, ...args)
      case 'source':
        return this.source(name, ...args)
      case 'sink':
        return this.sink(name, args, input ?? (async function* () {})())
      case 'duplex':
        return this.duplex(name, args, input ?? (async function* () {})())
      default:
        throw new UnknownMethodError(name)
    }
  }

  // The core methods, typed.

  whoami(): Promise<{ id: FeedId }> {
    return this.call('whoami') as Promise<{ id: FeedId }>
  }
  publish(content: Record<string, unknown> & { type: string }): Promise<KVT> {
    return this.call('publish', content) as Promise<KVT>
  }
  add(msg: object): Promise<KVT> {
    return this.call('add', msg) as Promise<KVT>
  }
  get(id: MsgId | { id: MsgId; private?: boolean; meta?: boolean }): Promise<unknown> {
    return this.call('get', id)
  }
  getLatest(id: FeedId): Promise<{ key: MsgId; value: KVT['value'] } | undefined> {
    return this.call('getLatest', id) as Promise<{ key: MsgId; value: KVT['value'] } | undefined>
  }
  latestSequence(id: FeedId): Promise<number> {
    return this.call('latestSequence', id) as Promise<number>
  }
  getVectorClock(): Promise<Record<FeedId, number>> {
    return this.call('getVectorClock') as Promise<Record<FeedId, number>>
  }
  createLogStream(opts: Record<string, unknown> = {}): AsyncIterable<unknown> {
    return this.source('createLogStream', opts)
  }
  createFeedStream(opts: Record<string, unknown> = {}): AsyncIterable<unknown> {
    return this.source('createFeedStream', opts)
  }
  createHistoryStream(opts: Record<string, unknown> & { id: FeedId }): AsyncIterable<unknown> {
    return this.source('createHistoryStream', opts)
  }
  createUserStream(opts: Record<string, unknown> & { id: FeedId }): AsyncIterable<unknown> {
    return this.source('createUserStream', opts)
  }
  messagesByType(opts: string | (Record<string, unknown> & { type: string })) {
    return this.source('messagesByType', opts)
  }
  links(opts: Record<string, unknown>): AsyncIterable<unknown> {
    return this.source('links', opts)
  }
  status(): Promise<Record<string, unknown>> {
    return this.call('status') as Promise<Record<string, unknown>>
  }
  progress(): Promise<Record<string, unknown>> {
    return this.call('progress') as Promise<Record<string, unknown>>
  }

  /** Says goodbye and closes the connection. */
  close(): Promise<void> {
    return this.session.close()
  }
}

/** The address the client dials for a configuration, and the host/port to name in errors. */
export function defaultRemote(config: ClientConfig, keys: Keys): string {
  if (config.remote) return config.remote
  const socket = join(config.path, 'socket')
  const key = publicKeyOf(keys).toString('base64')
  const host = config.host || 'localhost'
  const port = config.port ?? 8008
  const net = `net:${host}:${port}~shs:${key}`
  return existsSync(socket) ? `unix:${socket}~noauth;${net}` : net
}

/**
 * Connects to a server and fetches its manifest. Rejects with {@link ServerNotRunningError}
 * when nothing answers.
 */
export async function connectClient(options: ClientOptions = {}): Promise<SsbClient> {
  const config = options.config ?? (loadConfig() as unknown as ClientConfig)
  const keys = options.keys ?? config.keys
  const remote = options.remote ?? defaultRemote(config, keys)
  const appKey = Buffer.from(config.caps?.shs ?? config.appKey ?? MAIN_NET_CAPS.shs, 'base64')
  const timeoutMs =
    options.timeoutMs ??
    (config.timeout && config.timeout > 0 ? config.timeout : config.timers?.handshake || 3000)
  let session: RpcSession
  try {
    session = await connect(remote, { keys, appKey, handshakeTimeoutMs: timeoutMs })
  } catch (err) {
    if (err instanceof RpcConnectError) {
      throw new ServerNotRunningError(config.host || 'localhost', config.port ?? 8008, {
        cause: err,
      })
    }
    throw err
  }
  try {
    const manifest = options.manifest ?? ((await session.request(['manifest'], [])) as Manifest)
    return new SsbClient(session, manifest, remote)
  } catch (err) {
    await session.close()
    throw err
  }
}
