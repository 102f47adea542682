/**
 * Listening and dialling: TCP with secret-handshake and box-stream (`ssb-protocol.md` §3), and the
 * unix socket with `noauth` (plain muxrpc, full rights: whoever can open the socket file is the
 * local user). Each connection becomes an {@link RpcSession}.
 *
 * A listener bounds what half-open connections can cost: handshakes time out, and at most
 * `maxPendingHandshakes` run at once (a new socket beyond that evicts the oldest handshake), so
 * a flood of connections that never finish the handshake can neither exhaust memory nor keep
 * real peers out.
 */

import { chmod, lstat, unlink } from 'node:fs/promises'
import net from 'node:net'
import { type Keys, publicKeyOf, secretKeyOf } from '@scuttlekit/ssb-keys'
import {
  type FeedId,
  feedIdFromBytes,
  feedIdToBytes,
  InvalidAddressError,
  parseMultiserverAddress,
} from '@scuttlekit/ssb-ref'
import { RpcConnectError, SocketInUseError } from './errors.js'
import { type RpcLogger, RpcSession } from './rpc-session.js'
import { clientHandshake, serverHandshake } from './secret-channel.js'
import type { CallHandler, RpcLimits } from './types.js'

/** What every listener and dialler needs. */
export interface EndpointOptions {
  /** our long-term identity */
  keys: Keys
  /** serves the remote peer's calls; without one every call gets an error */
  handler?: CallHandler
  /** caps for each connection (see {@link RpcLimits}) */
  limits?: Partial<RpcLimits>
  logger?: RpcLogger
}

/** Options shared by the secret-handshake listener and dialler. */
export interface ShsOptions extends EndpointOptions {
  /** the network key `caps.shs`, 32 bytes */
  appKey: Uint8Array
  /** the whole handshake must finish within this (default 5000 ms, ssb-config's `timers.handshake`) */
  handshakeTimeoutMs?: number
}

/** Options of {@link listenNet}. */
export interface NetListenOptions extends ShsOptions {
  /** default: every interface */
  host?: string
  /** 0 picks a free port */
  port: number
  /** the multiserver scopes this listener serves (reported by {@link RpcListener.address}) */
  scope?: string | readonly string[]
  /**
   * Decides a peer's rights once its key is proven (handshake message 3). The value becomes the
   * session's `info.auth`. `false`, `null`, `undefined` or a throw refuse the peer: it never gets
   * message 4.
   */
  authorize?: (remoteId: FeedId) => unknown | Promise<unknown>
  /** handshakes in progress at once (default 128); a socket beyond it evicts the oldest one */
  maxPendingHandshakes?: number
  /** a new authenticated connection */
  onSession?: (session: RpcSession) => void
}

/** Options of {@link listenUnix}. */
export interface UnixListenOptions extends EndpointOptions {
  /** the socket file, e.g. `~/.ssb/socket`; created with mode 0600 */
  path: string
  /** the rights of every connection (the socket is `noauth`: the file mode is the lock) */
  auth: () => unknown
  onSession?: (session: RpcSession) => void
}

/** Where a listener listens. */
export type ListenerAddress =
  | { transport: 'net'; host: string; port: number; scope?: string | readonly string[] }
  | { transport: 'unix'; path: string }

/** A listening socket. */
export interface RpcListener {
  address(): ListenerAddress
  /** Stops accepting, aborts handshakes in progress and closes this listener's sessions. */
  close(): Promise<void>
}

/** Options of {@link connect}. */
export interface ConnectOptions extends ShsOptions {
  /** what the remote peer may call on us; becomes the session's `info.auth` */
  auth?: unknown
  /** give up dialling after this long (default: the handshake timeout) */
  connectTimeoutMs?: number
  signal?: AbortSignal
}

function shsKeys(keys: Keys) {
  return { publicKey: publicKeyOf(keys), secretKey: secretKeyOf(keys) }
}

function trackSessions(sessions: Set<RpcSession>, session: RpcSession) {
  sessions.add(session)
  void session.closed.then(() => sessions.delete(session))
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

function listenOn(server: net.Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(opts, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

/**
 * Listens for secret-handshake connections on TCP. Resolves once listening; rejects when the
 * port cannot be bound.
 */
export async function listenNet(options: NetListenOptions): Promise<RpcListener> {
  const keys = shsKeys(options.keys)
  const maxPending = options.maxPendingHandshakes ?? 128
  const timeoutMs = options.handshakeTimeoutMs ?? 5000
  const log = options.logger
  const pending = new Set<net.Socket>()
  const sessions = new Set<RpcSession>()
  let closed = false

  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {}) // reported through the handshake or the session
    if (closed) {
      socket.destroy()
      return
    }
    if (pending.size >= maxPending) {
      // Evict the oldest handshake rather than refuse the newcomer: a real peer finishes in one
      // round trip, so an attacker holding every slot with silent sockets would have to open
      // `maxPending` new ones within that round trip to keep it out.
      const oldest = pending.values().next().value as net.Socket
      pending.delete(oldest)
      oldest.destroy()
    }
    pending.add(socket)
    serverHandshake(socket, {
      keys,
      appKey: options.appKey,
      timeoutMs,
      authorize: options.authorize,
    })
      .then((channel) => {
        pending.delete(socket)
        if (closed) {
          channel.stream.destroy()
          return
        }
        const session = new RpcSession({
          stream: channel.stream,
          handler: options.handler,
          info: { remoteId: channel.remoteId, auth: channel.auth, data: new Map() },
          limits: options.limits,
          logger: log,
        })
        trackSessions(sessions, session)
        options.onSession?.(session)
      })
      .catch((err: Error) => {
        pending.delete(socket)
        socket.destroy()
        log?.debug({ err: err.message, remote: socket.remoteAddress }, 'handshake failed')
      })
  })
  server.on('error', (err) => log?.error({ err }, 'listener error'))
  await listenOn(server, { host: options.host, port: options.port })
  const bound = server.address() as net.AddressInfo

  return {
    address: () => ({
      transport: 'net',
      host: options.host ?? bound.address,
      port: bound.port,
      scope: options.scope,
    }),
    async close() {
      if (closed) return
      closed = true
      const done = closeServer(server)
      for (const socket of pending) socket.destroy()
      await Promise.allSettled([...sessions].map((s) => s.close()))
      await done
    },
  }
}

/** Whether something answers on a unix socket path. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect({ path })
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
}

/**
 * Listens on a unix socket with `noauth`: plain muxrpc, no handshake. A stale socket file left by
 * a crash is replaced; one that a live process still answers on is an error.
 */
export async function listenUnix(options: UnixListenOptions): Promise<RpcListener> {
  const { path } = options
  const sessions = new Set<RpcSession>()
  let closed = false
  const stat = await lstat(path).catch(() => undefined)
  if (stat) {
    if (!stat.isSocket()) throw new SocketInUseError(path, 'the path exists and is not a socket')
    if (await socketAnswers(path)) throw new SocketInUseError(path, 'another process listens on it')
    await unlink(path)
  }
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    if (closed) {
      socket.destroy()
      return
    }
    const session = new RpcSession({
      stream: socket,
      handler: options.handler,
      info: { remoteId: feedIdOfKeys(options.keys), auth: options.auth(), data: new Map() },
      limits: options.limits,
      logger: options.logger,
    })
    trackSessions(sessions, session)
    options.onSession?.(session)
  })
  server.on('error', (err) => options.logger?.error({ err }, 'unix listener error'))
  await listenOn(server, { path })
  await chmod(path, 0o600)
  return {
    address: () => ({ transport: 'unix', path }),
    async close() {
      if (closed) return
      closed = true
      const done = closeServer(server)
      await Promise.allSettled([...sessions].map((s) => s.close()))
      await done
    },
  }
}

function feedIdOfKeys(keys: Keys): FeedId {
  return feedIdFromBytes(publicKeyOf(keys))
}

/** A dial target, from a multiserver address or an object. */
export type DialTarget =
  | string
  | { host: string; port: number; key: string }
  | { path: string; key?: string }

interface Route {
  kind: 'net' | 'unix'
  host?: string
  port?: number
  path?: string
  key?: FeedId
}

function routesOf(target: DialTarget): Route[] {
  if (typeof target !== 'string') {
    if ('path' in target) return [{ kind: 'unix', path: target.path }]
    const key = feedIdToBytes(target.key)
    if (!key) throw new InvalidAddressError(String(target.key), 'invalid key')
    return [{ kind: 'net', host: target.host, port: target.port, key: feedIdFromBytes(key) }]
  }
  const routes: Route[] = []
  for (const route of parseMultiserverAddress(target)) {
    const t = route.transport
    const tf = route.transforms[0]
    if (t.name === 'net' && tf?.name === 'shs' && t.data.length >= 2) {
      const port = Number(t.data[t.data.length - 1])
      const host = t.data.slice(0, -1).join(':')
      const keyBytes = Buffer.from(tf.data[0] ?? '', 'base64')
      if (keyBytes.length !== 32 || !Number.isInteger(port)) continue
      routes.push({ kind: 'net', host, port, key: feedIdFromBytes(keyBytes) })
    } else if (t.name === 'unix' && tf?.name === 'noauth') {
      routes.push({ kind: 'unix', path: t.data.join(':') })
    }
  }
  if (!routes.length) throw new InvalidAddressError(target, 'no net~shs or unix~noauth route')
  return routes
}

function dial(opts: net.NetConnectOpts, timeoutMs: number, signal?: AbortSignal) {
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(opts)
    const fail = (err: Error) => {
      cleanup()
      socket.destroy()
      reject(err)
    }
    const onAbort = () => fail(signal?.reason ?? new Error('aborted'))
    const timer = setTimeout(
      () => fail(new Error(`connect timed out after ${timeoutMs} ms`)),
      timeoutMs,
    )
    const cleanup = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.off('error', fail)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('error', fail)
    socket.once('connect', () => {
      cleanup()
      resolve(socket)
    })
  })
}

/**
 * Dials a peer: `net:host:port~shs:<key>` (or `{host, port, key}`) with secret-handshake, or
 * `unix:<path>~noauth` (or `{path}`). Several `;`-separated routes are tried in order. Rejects
 * with {@link RpcConnectError} naming the address when no route works.
 */
export async function connect(target: DialTarget, options: ConnectOptions): Promise<RpcSession> {
  const routes = routesOf(target)
  const timeoutMs = options.handshakeTimeoutMs ?? 5000
  const errors: Error[] = []
  for (const route of routes) {
    let socket: net.Socket | undefined
    try {
      if (route.kind === 'unix') {
        socket = await dial(
          { path: route.path! },
          options.connectTimeoutMs ?? timeoutMs,
          options.signal,
        )
        socket.on('error', () => {})
        return new RpcSession({
          stream: socket,
          handler: options.handler,
          // over noauth the server is, by definition, ourselves
          info: { remoteId: feedIdOfKeys(options.keys), auth: options.auth, data: new Map() },
          limits: options.limits,
          logger: options.logger,
        })
      }
      socket = await dial(
        { host: route.host!, port: route.port!, noDelay: true },
        options.connectTimeoutMs ?? timeoutMs,
        options.signal,
      )
      socket.on('error', () => {})
      const channel = await clientHandshake(socket, {
        keys: shsKeys(options.keys),
        appKey: options.appKey,
        serverKey: feedIdToBytes(route.key!)!,
        timeoutMs,
        signal: options.signal,
      })
      return new RpcSession({
        stream: channel.stream,
        handler: options.handler,
        info: { remoteId: channel.remoteId, auth: options.auth, data: new Map() },
        limits: options.limits,
        logger: options.logger,
      })
    } catch (err) {
      socket?.destroy()
      if (options.signal?.aborted) throw options.signal.reason
      errors.push(err as Error)
    }
  }
  const where = typeof target === 'string' ? target : JSON.stringify(target)
  throw new RpcConnectError(where, errors)
}
