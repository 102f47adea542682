/**
 * The configuration the server reads. `@scuttlekit/ssb-config`'s `loadConfig()` produces it from
 * files, `ssb_*` variables and flags; tests and embedders may build one by hand.
 */

import { MAIN_NET_CAPS } from '@scuttlekit/ssb-config'
import type { Keys } from '@scuttlekit/ssb-keys'

/** One incoming or outgoing transport entry (`connections.incoming.net[0]`). */
export interface ConnectionEntry {
  host?: string
  port?: number
  scope?: string | readonly string[]
  transform?: string
  external?: string | readonly string[]
  [key: string]: unknown
}

/** The keys of an ssb-config configuration that the server and its core plugins use. */
export interface ServerConfig {
  /** the data directory (`~/.ssb`) */
  path: string
  /** our identity */
  keys: Keys
  caps?: { shs?: string; sign?: string | null; [key: string]: unknown }
  /** legacy name of `caps.shs` */
  appKey?: string
  port?: number
  host?: string
  connections?: {
    incoming?: Record<string, readonly ConnectionEntry[] | undefined>
    outgoing?: Record<string, readonly ConnectionEntry[] | undefined>
  }
  /** feed ids with full rights besides our own */
  master?: string | readonly string[]
  /** overrides `timers.handshake` when set (ssb-config's `timeout`) */
  timeout?: number
  timers?: { handshake?: number; inactivity?: number; [key: string]: unknown }
  logging?: { level?: string; [key: string]: unknown }
  [key: string]: unknown
}

/** The main network's secret-handshake key (`ssb-protocol.md` §3.1). */
export const MAIN_NET_SHS: string = MAIN_NET_CAPS.shs

/** The 32-byte network key of a configuration. */
export function appKeyOf(config: ServerConfig): Buffer {
  const text = config.caps?.shs ?? config.appKey ?? MAIN_NET_SHS
  const key = Buffer.from(text, 'base64')
  if (key.length !== 32) throw new RangeError('caps.shs must be 32 bytes of base64')
  return key
}

/** The message-signing HMAC key, `null` on the main network. */
export function signCapOf(config: ServerConfig): string | null {
  return config.caps?.sign ?? null
}

/** `config.master` as a list. */
export function masterIdsOf(config: ServerConfig): string[] {
  const m = config.master
  if (!m) return []
  return typeof m === 'string' ? [m] : [...m]
}
