/**
 * The shape of a loaded configuration: the keys ssb-server 16 and its plugins read, typed, plus
 * an index signature for everything else (plugins define their own keys).
 */
import type { NetworkInterfaceInfo } from 'node:os'
import type { Keys } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'

/** `logging.level` values: ssb-logging's four plus pino's `debug` and `trace`. */
export type LogLevel = 'error' | 'warning' | 'notice' | 'info' | 'debug' | 'trace'

/** Where a multiserver server listens or a client may dial (§3 of ssb-protocol.md). */
export type Scope = 'device' | 'local' | 'private' | 'public' | (string & {})

/**
 * One incoming transport entry of `connections.incoming.<transport>` as secret-stack reads it.
 * `scope` may be one scope or several; `external` lists public host names used in advertised
 * addresses and invites; `key`/`cert` turn ws into wss; `http` lets ssb-ws serve HTTP.
 */
export interface IncomingConnection {
  host?: string
  port?: number
  scope: Scope | Scope[]
  transform: 'shs' | 'noauth' | (string & {})
  external?: string | string[]
  key?: string
  cert?: string
  http?: boolean
  [key: string]: unknown
}

/** One outgoing transport entry of `connections.outgoing.<transport>`. */
export interface OutgoingConnection {
  transform: 'shs' | 'noauth' | (string & {})
  [key: string]: unknown
}

/** `connections`: what to listen on and how to dial, per multiserver transport. */
export interface Connections {
  incoming: {
    net?: IncomingConnection[]
    ws?: IncomingConnection[]
    unix?: IncomingConnection[]
    [transport: string]: IncomingConnection[] | undefined
  }
  outgoing: {
    net?: OutgoingConnection[]
    onion?: OutgoingConnection[]
    [transport: string]: OutgoingConnection[] | undefined
  }
}

/**
 * Capabilities: `shs` is the secret-handshake application key (the network key, §3 of
 * ssb-protocol.md), `sign` the HMAC key for message signatures on test networks (null on the
 * main network), `invite` is carried over from ssb-caps but unused by ssb-server 16.
 */
export interface Caps {
  shs: string
  sign: string | null
  invite?: string
  [key: string]: unknown
}

/** Time limits in milliseconds. */
export interface Timers {
  /** Secret-handshake timeout (default 5000). */
  handshake: number
  /** Idle RPC stream limit in secret-stack; unset means 600 000 there. */
  inactivity?: number
  /** ssb-gossip ping timeout (default 300 000). */
  ping: number
  /** Unused by the loaded plugins (0). */
  connection: number
  /** Unused by the loaded plugins (5000). */
  reconnect: number
  [key: string]: number | undefined
}

/** `ws`: after loading, the ws entry chosen from `connections.incoming.ws` (or `{}`). */
export interface WsConfig {
  host?: string
  port?: number
  scope?: Scope | Scope[]
  transform?: string
  [key: string]: unknown
}

/** `friends`: replication reach of ssb-friends. */
export interface FriendsConfig {
  /** Maximum follow-graph distance to replicate (default 2). */
  hops: number
  /** Unused (150). */
  dunbar: number
  [key: string]: unknown
}

/** `gossip`: connection groups of ssb-gossip; every group is on unless set to `false`. */
export interface GossipConfig {
  /** Unused: ssb-gossip's quotas are hard-coded (3). */
  connections: number
  local?: boolean
  friends?: boolean
  seed?: boolean
  global?: boolean
  autoPopulate?: boolean
  pub?: boolean
  [key: string]: unknown
}

/** `blobs`: options of ssb-blobs; see `BLOBS_DEFAULTS` for what an unset key means. */
export interface BlobsConfig {
  max?: number
  sympathy?: number
  pushy?: number
  stingy?: boolean
  legacy?: boolean
  [key: string]: unknown
}

/** `replicate`: legacy replication switches. */
export interface ReplicateConfig {
  legacy?: boolean
  fallback?: boolean
  [key: string]: unknown
}

/** One source that contributed to a configuration, lowest precedence first. */
export type ConfigSource =
  | { kind: 'defaults' }
  | { kind: 'file'; path: string }
  | { kind: 'env'; variables: string[] }
  | { kind: 'argv'; flags: string[] }
  | { kind: 'overrides' }

/** Keys shared by {@link SsbConfig} and {@link SsbConfigWithoutKeys}. */
export interface SsbConfigBase {
  /** Data directory, `~/.<appname>` by default. Relative paths are relative to the process cwd. */
  path: string
  caps: Caps
  /** Legacy name of `caps.shs`; copied into `caps.shs` when that is null. */
  appKey?: string
  /** Legacy net port, derived from `connections.incoming.net` (undefined without net entries). */
  port?: number
  /** Legacy net host, derived from `connections.incoming` (undefined without host entries). */
  host?: string
  connections: Connections
  ws: WsConfig
  /** If non-zero, overrides the secret-handshake timeout (default 0). */
  timeout: number
  timers: Timers
  friends: FriendsConfig
  gossip: GossipConfig
  logging: { level: LogLevel; [key: string]: unknown }
  blobs?: BlobsConfig
  /** Feed ids with the local identity's rights (ssb-master). Always an array here. */
  master: FeedId[]
  /** Let `invite.create` use private addresses. */
  allowPrivate?: boolean
  /** Addresses added as seed peers. */
  seeds?: string | string[]
  /** Disables gossip start-up population. */
  offline?: boolean
  replicate?: ReplicateConfig
  party: boolean
  pub: boolean
  local: boolean
  /** Config files read, lowest precedence first (as rc records them); absent when none. */
  configs?: string[]
  /** The last config file read (as rc records it), or the `--config` value. */
  config?: string
  /** Positional command-line arguments (minimist's `_`). */
  _?: Array<string | number>
  /**
   * Every source that contributed, lowest precedence first. Not enumerable, so that
   * `JSON.stringify(config)` prints what ssb-config would.
   */
  readonly sources: readonly ConfigSource[]
  /** Warnings found while loading (an exposed secret file). Not enumerable. */
  readonly warnings: readonly string[]
  [key: string]: unknown
}

/** A loaded configuration with its identity. */
export interface SsbConfig extends SsbConfigBase {
  keys: Keys
}

/** What `loadConfig({ createSecret: false })` returns: `keys` is absent when no secret exists. */
export interface SsbConfigWithoutKeys extends SsbConfigBase {
  keys?: Keys
}

/** Options of `loadConfig`. Every one defaults to the process's own value. */
export interface LoadConfigOptions {
  /** Name of the data directory and config files (default `env.ssb_appname || 'ssb'`). */
  appName?: string
  /**
   * Raw command-line arguments (default `process.argv.slice(2)`), parsed with minimist 1.2.8's
   * rules. Ignored when `args` is given.
   */
  argv?: readonly string[]
  /** Already parsed flags (minimist's result); takes the place of `argv`. */
  args?: Record<string, unknown>
  /** Environment (default `process.env`); scanned for `<appname>_*` variables. */
  env?: NodeJS.ProcessEnv
  /** Where the search for `.<appname>rc` starts and relative `--config` paths resolve. */
  cwd?: string
  /** Home directory (default `HOME`, or `USERPROFILE` on Windows, else `os.homedir()`). */
  homeDir?: string
  /** System config directory (default `/etc`; never read on Windows, as in rc). For tests. */
  etcDir?: string
  /** Values above every other source. Only here may `port` be 0 (an ephemeral port, for tests). */
  overrides?: Record<string, unknown>
  /**
   * `true` (default): load `<path>/secret`, creating it (mode 0400) when it does not exist.
   * `false`: load it only if it exists.
   */
  createSecret?: boolean
  /** Network interfaces to derive listening addresses from (default `os.networkInterfaces()`). */
  networkInterfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>
}
