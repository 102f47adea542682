/**
 * One SSB server: the database, the plugins, the manifest they add up to, the permissions of
 * every connection, and the listeners (TCP with secret-handshake, the unix socket with `noauth`).
 */

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { openDb, type SsbDb } from '@scuttlekit/ssb-db'
import { type Keys, publicKeyOf } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'
import {
  connect,
  type IncomingCall,
  type ListenerAddress,
  listenNet,
  listenUnix,
  type Manifest,
  type RpcListener,
  type RpcSession,
  type RpcSessionInfo,
  type WireType,
} from '@scuttlekit/ssb-rpc'
import { type Logger, pino } from 'pino'
import {
  appKeyOf,
  type ConnectionEntry,
  masterIdsOf,
  type ServerConfig,
  signCapOf,
} from './config.js'
import {
  ListenError,
  MethodNotFoundError,
  PermissionDeniedError,
  PluginError,
  ServerClosedError,
} from './errors.js'
import { FULL_RIGHTS, hasFullRights, isPermissions, PermissionSet } from './permissions.js'
import {
  isMethodSpec,
  type MethodSpec,
  type MethodTree,
  type Plugin,
  type PluginInstance,
  type ServerHandle,
} from './plugin.js'
import { corePlugin } from './plugins/core.js'
import { dbPlugin } from './plugins/db.js'

/** Options of {@link startServer}. */
export interface ServerOptions {
  config: ServerConfig
  /** Plugins after the core ones (core, db), started in this order and closed in reverse. */
  plugins?: readonly Plugin[]
  /** Default: pino on stderr at `config.logging.level`. */
  logger?: Logger
  /** Listen for connections (default true). `false` serves in-process calls only. */
  listen?: boolean
}

/** ssb-config's level names, mapped onto pino's. */
const LEVELS: Record<string, string> = {
  error: 'error',
  warning: 'warn',
  warn: 'warn',
  notice: 'info',
  info: 'debug',
  debug: 'debug',
  trace: 'trace',
}

/** The pino level for a `logging.level` setting (`notice` by default, as ssb-config). */
export function pinoLevel(level: string | undefined): string {
  return LEVELS[level ?? 'notice'] ?? 'info'
}

const TYPE_OK: Record<WireType, ReadonlySet<string>> = {
  async: new Set(['async', 'sync']),
  source: new Set(['source']),
  sink: new Set(['sink']),
  duplex: new Set(['duplex']),
}

const DEFAULT_PORT = 8008

interface Started {
  plugin: Plugin
  instance: PluginInstance
}

/** A running server. */
export class SsbServer implements ServerHandle {
  readonly id: FeedId
  readonly keys: Keys
  readonly logger: Logger
  private readonly methods: Record<string, MethodSpec | MethodTree> = Object.create(null)
  private readonly manifestObj: Manifest = {}
  private readonly anonymous = new Set<string>(['manifest'])
  private anonymousSet = new PermissionSet({ allow: ['manifest'], deny: null })
  private readonly master: Set<string>
  private readonly started: Started[] = []
  private readonly listeners: RpcListener[] = []
  private readonly open = new Set<RpcSession>()
  private closing: Promise<void> | undefined
  private readonly historyGuards = new Set<(feed: FeedId, requester: FeedId) => boolean>()
  db!: SsbDb

  constructor(
    readonly config: ServerConfig,
    logger: Logger,
  ) {
    this.keys = config.keys
    this.id = config.keys.id as FeedId
    this.logger = logger
    this.master = new Set([this.id, ...masterIdsOf(config)])
  }

  /** The manifest: every method of every plugin with its type. */
  manifest(): Manifest {
    return this.manifestObj
  }

  /** The permissions anonymous peers get. */
  anonymousPermissions(): PermissionSet {
    return this.anonymousSet
  }

  /**
   * The rights of a peer that completed the handshake: everything for our key and master keys,
   * else what the first plugin with an opinion says (`false` refuses the peer), else anonymous.
   */
  async authorize(remoteId: string): Promise<PermissionSet | false> {
    if (this.master.has(remoteId)) return new PermissionSet(FULL_RIGHTS)
    for (const { instance } of this.started) {
      if (!instance.authorize) continue
      const verdict = await instance.authorize(remoteId as FeedId)
      if (verdict === false) return false
      if (verdict !== undefined && isPermissions(verdict)) return new PermissionSet(verdict)
    }
    return this.anonymousSet
  }

  guardHistory(check: (feed: FeedId, requester: FeedId) => boolean): () => void {
    this.historyGuards.add(check)
    return () => this.historyGuards.delete(check)
  }

  /** Whether `requester` may read `feed` through createHistoryStream. */
  historyAllowed(feed: FeedId, requester: FeedId): boolean {
    for (const check of this.historyGuards) if (!check(feed, requester)) return false
    return true
  }

  plugin<T = unknown>(name: string): T | undefined {
    return this.started.find((s) => s.plugin.name === name)?.instance.api as T | undefined
  }

  sessions(): readonly RpcSession[] {
    return [...this.open]
  }

  /** Where the server listens: each TCP listener (host, bound port, scopes) and the unix socket. */
  listening(): ListenerAddress[] {
    return this.listeners.map((l) => l.address())
  }

  /** The bound port of the first TCP listener (useful with `port: 0`). */
  get port(): number | undefined {
    for (const a of this.listening()) if (a.transport === 'net') return a.port
    return undefined
  }

  /** The addresses we listen on for a scope, `;`-joined as multiserver prints them. */
  address(scope?: string): string | null {
    const key = publicKeyOf(this.keys).toString('base64')
    const out: string[] = []
    for (const a of this.listening()) {
      if (a.transport === 'unix') {
        if (!scope || scope === 'device') out.push(`unix:${a.path}~noauth`)
        continue
      }
      const entryScope = a.scope ?? ['device', 'local', 'public']
      const scopes = typeof entryScope === 'string' ? [entryScope] : entryScope
      if (scope && !scopes.includes(scope)) continue
      // a wildcard bind is reachable at the configured host, or on this device at localhost
      const wildcard = a.host === '::' || a.host === '0.0.0.0' || a.host === ''
      const host = wildcard ? (this.config.host ?? 'localhost') : a.host
      out.push(`net:${host}:${a.port}~shs:${key}`)
    }
    return out.length ? out.join(';') : null
  }

  // ------------------------------------------------------------------ calls

  private lookup(name: readonly string[]): MethodSpec | undefined {
    let node: MethodSpec | MethodTree | undefined = this.methods
    for (const part of name) {
      if (node === undefined || isMethodSpec(node)) return undefined
      node = Object.hasOwn(node, part) ? (node as MethodTree)[part] : undefined
    }
    return node !== undefined && isMethodSpec(node) ? node : undefined
  }

  /** Routes one incoming call: permission check, method lookup, type check, then the method. */
  readonly handle = (call: IncomingCall): unknown => {
    if (this.closing) throw new ServerClosedError()
    const perms = call.session.auth
    if (!(perms instanceof PermissionSet)) {
      throw new PermissionDeniedError(
        `method:${call.name.join(',')} is not in list of allowed methods`,
      )
    }
    perms.check(call.name)
    const method = this.lookup(call.name)
    if (!method || !TYPE_OK[call.type].has(method.type)) {
      throw new MethodNotFoundError(`no ${call.type}:${call.name.join(',')}`)
    }
    return method.fn(call.args, call)
  }

  private localInfo(): RpcSessionInfo {
    return { remoteId: this.id, auth: new PermissionSet(FULL_RIGHTS), data: new Map() }
  }

  /** Calls an `async` or `sync` method in process, with full rights. */
  async call(name: string | readonly string[], args: readonly unknown[] = []): Promise<unknown> {
    const path = typeof name === 'string' ? name.split('.') : name
    return this.handle({
      name: path,
      type: 'async',
      args,
      signal: new AbortController().signal,
      session: this.localInfo(),
    })
  }

  /** Opens a `source` method in process, with full rights. */
  source(name: string | readonly string[], args: readonly unknown[] = [], signal?: AbortSignal) {
    const path = typeof name === 'string' ? name.split('.') : name
    return this.handle({
      name: path,
      type: 'source',
      args,
      signal: signal ?? new AbortController().signal,
      session: this.localInfo(),
    }) as AsyncIterable<unknown>
  }

  // ------------------------------------------------------------------ connections

  private inactivityMs(): number {
    const t = this.config.timers?.inactivity
    return typeof t === 'number' && !Number.isNaN(t) ? t : 600_000
  }

  private handshakeMs(): number {
    if (typeof this.config.timeout === 'number' && this.config.timeout > 0)
      return this.config.timeout
    return this.config.timers?.handshake ?? 5000
  }

  private readonly onSession = (session: RpcSession, isClient: boolean) => {
    if (this.closing) {
      void session.close()
      return
    }
    this.open.add(session)
    session.closed.then(() => this.open.delete(session))
    if (session.info.remoteId !== this.id) session.setIdleTimeout(this.inactivityMs())
    this.logger.debug({ peer: session.info.remoteId, isClient }, 'connection')
    for (const { instance } of this.started) {
      try {
        instance.onSession?.(session, isClient)
      } catch (err) {
        this.logger.error({ err }, 'plugin onSession failed')
      }
    }
  }

  /** Dials a peer (`net:host:port~shs:key`); the peer gets anonymous rights on us. */
  async connect(address: string): Promise<RpcSession> {
    if (this.closing) throw new ServerClosedError()
    const session = await connect(address, {
      keys: this.keys,
      appKey: appKeyOf(this.config),
      handler: this.handle,
      auth: this.anonymousSet,
      handshakeTimeoutMs: this.handshakeMs(),
      logger: this.logger.child({ mod: 'ssb-rpc' }),
    })
    this.onSession(session, true)
    return session
  }

  private async listen(): Promise<void> {
    const common = {
      keys: this.keys,
      appKey: appKeyOf(this.config),
      handler: this.handle,
      handshakeTimeoutMs: this.handshakeMs(),
      logger: this.logger.child({ mod: 'ssb-rpc' }),
      onSession: (s: RpcSession) => this.onSession(s, false),
    }
    const incoming = this.config.connections?.incoming
    const nets: ConnectionEntry[] = incoming?.net?.length
      ? [...incoming.net]
      : [{ host: this.config.host, port: this.config.port ?? DEFAULT_PORT }]
    const seen = new Set<string>()
    for (const entry of nets) {
      if ((entry.transform ?? 'shs') !== 'shs') continue
      const port = entry.port ?? this.config.port ?? DEFAULT_PORT
      const host = entry.host
      const id = `${host}|${port}`
      if (seen.has(id)) continue
      seen.add(id)
      try {
        this.listeners.push(
          await listenNet({
            ...common,
            host,
            port,
            scope: entry.scope,
            authorize: (remoteId) => this.authorize(remoteId),
          }),
        )
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        const why =
          code === 'EADDRINUSE'
            ? 'the port is in use (is another server running?)'
            : code === 'EADDRNOTAVAIL'
              ? 'the host is not an address of this machine'
              : (err as Error).message
        throw new ListenError(`cannot listen on ${host ?? '*'}:${port}: ${why}`, { cause: err })
      }
    }
    const wantsUnix = incoming ? Boolean(incoming.unix?.length) : true
    if (wantsUnix) {
      this.listeners.push(
        await listenUnix({
          ...common,
          path: join(this.config.path, 'socket'),
          auth: () => new PermissionSet(FULL_RIGHTS),
        }),
      )
    }
  }

  // ------------------------------------------------------------------ lifecycle

  /** @internal used by {@link startServer} */
  async start(plugins: readonly Plugin[], listen: boolean): Promise<void> {
    await mkdir(this.config.path, { recursive: true })
    this.db = await openDb({
      path: join(this.config.path, 'db'),
      keys: this.keys,
      hmacKey: signCapOf(this.config),
      logger: this.logger.child({ mod: 'ssb-db' }),
    })
    try {
      for (const plugin of plugins) await this.startPlugin(plugin)
      this.anonymousSet = new PermissionSet({ allow: [...this.anonymous], deny: null })
      await writeFile(
        join(this.config.path, 'manifest.json'),
        `${JSON.stringify(this.manifestObj, null, 2)}`,
      )
      if (listen) await this.listen()
    } catch (err) {
      await this.close()
      throw err
    }
  }

  private async startPlugin(plugin: Plugin): Promise<void> {
    const instance = await plugin.init({
      config: this.config,
      keys: this.keys,
      id: this.id,
      db: this.db,
      logger: this.logger.child({ mod: plugin.name || 'ssb-server' }),
      server: this,
    })
    this.started.push({ plugin, instance })
    if (instance.methods) {
      if (plugin.name) {
        if (Object.hasOwn(this.methods, plugin.name)) {
          throw new PluginError(`two plugins are named ${plugin.name}`)
        }
        this.methods[plugin.name] = instance.methods
        this.manifestObj[plugin.name] = toManifest(instance.methods, plugin.name)
      } else {
        for (const [name, node] of Object.entries(instance.methods)) {
          if (Object.hasOwn(this.methods, name)) {
            throw new PluginError(`two plugins define the method ${name}`)
          }
          this.methods[name] = node
          this.manifestObj[name] = isMethodSpec(node) ? node.type : toManifest(node, name)
        }
      }
    } else if (plugin.name) {
      this.manifestObj[plugin.name] = {}
    }
    for (const path of plugin.anonymous ?? []) {
      this.anonymous.add(plugin.name ? `${plugin.name}.${path}` : path)
    }
  }

  /** `status()` of the whole server: the db's, plus each plugin's under its name. */
  status(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.db.status() }
    for (const { plugin, instance } of this.started) {
      if (instance.status && plugin.name) out[plugin.name] = instance.status()
    }
    return out
  }

  /** `progress()` of the whole server. */
  progress(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.db.progress() }
    for (const { plugin, instance } of this.started) {
      if (instance.progress && plugin.name) out[plugin.name] = instance.progress()
    }
    return out
  }

  /**
   * Stops listening, says goodbye to every connection, closes the plugins in reverse order, then
   * the database. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.listeners.map((l) => l.close()))
      await Promise.allSettled([...this.open].map((s) => s.close()))
      for (const { plugin, instance } of [...this.started].reverse()) {
        try {
          await instance.close?.()
        } catch (err) {
          this.logger.error({ err, plugin: plugin.name }, 'plugin close failed')
        }
      }
      if (this.db) await this.db.close()
    })()
    return this.closing
  }
}

function toManifest(tree: MethodTree, where: string): Manifest {
  const out: Manifest = {}
  for (const [name, node] of Object.entries(tree)) {
    if (isMethodSpec(node)) {
      if (!['async', 'sync', 'source', 'sink', 'duplex'].includes(node.type)) {
        throw new PluginError(`${where}.${name} has the unknown type ${node.type}`)
      }
      out[name] = node.type
    } else out[name] = toManifest(node, `${where}.${name}`)
  }
  return out
}

/**
 * Opens the database at `<config.path>/db`, starts the core plugins and then `options.plugins`,
 * writes `<config.path>/manifest.json` and listens as the configuration says.
 */
export async function startServer(options: ServerOptions): Promise<SsbServer> {
  const { config } = options
  const logger =
    options.logger ??
    pino({ level: pinoLevel(config.logging?.level), base: undefined }, pino.destination(2))
  const server = new SsbServer(config, logger)
  const plugins: Plugin[] = [
    corePlugin({
      manifest: () => server.manifest(),
      authorize: async (id) => {
        const p = await server.authorize(id)
        // secret-stack answers nothing for a peer that gets the anonymous rights
        if (p === false) return false
        return p === server.anonymousPermissions() ? undefined : p.permissions
      },
    }),
    dbPlugin({
      status: () => server.status(),
      progress: () => server.progress(),
      historyPolicy: (feed, call) => {
        if (hasFullRights(call.session)) return 'all'
        return server.historyAllowed(feed, call.session.remoteId) ? 'checked' : 'none'
      },
      historyAllowedNow: (feed, requester) => server.historyAllowed(feed, requester),
    }),
    ...(options.plugins ?? []),
  ]
  await server.start(plugins, options.listen ?? true)
  return server
}
