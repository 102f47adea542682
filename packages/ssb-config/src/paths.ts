/**
 * Files inside the data directory (reference-features.md §4) and the network key, computed from
 * a loaded configuration so that every package agrees on them.
 */
import { join } from 'node:path'
import { ConfigError } from './errors.js'
import type { SsbConfigBase } from './types.js'

/** `<path>/secret`: the identity file (§1.2 of ssb-protocol.md), created by `loadConfig`. */
export function secretPath(config: Pick<SsbConfigBase, 'path'>): string {
  return join(config.path, 'secret')
}

/** `<path>/manifest.json`: written by `ssb-server start`, read by the CLI to make RPC calls. */
export function manifestPath(config: Pick<SsbConfigBase, 'path'>): string {
  return join(config.path, 'manifest.json')
}

/**
 * `<path>/socket`: the unix socket of the `unix` incoming transport, whose `noauth` transform
 * gives any local process that can open it the local identity's rights.
 */
export function socketPath(config: Pick<SsbConfigBase, 'path'>): string {
  return join(config.path, 'socket')
}

/**
 * The secret-handshake application key (§3 of ssb-protocol.md) as 32 bytes: `caps.shs`, or the
 * legacy `appKey` when `caps.shs` is unset, as secret-stack 6 picks it. Throws `ConfigError` if
 * neither is base64 of 32 bytes (a config from `loadConfig` always has a valid one).
 */
export function shsAppKey(config: { caps?: { shs?: unknown } | null; appKey?: unknown }): Buffer {
  const value = config.caps?.shs ?? config.appKey
  const bytes =
    value instanceof Uint8Array
      ? Buffer.from(value)
      : typeof value === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(value)
        ? Buffer.from(value, 'base64')
        : undefined
  if (bytes?.length !== 32) {
    throw new ConfigError(
      'caps.shs',
      'config',
      'invalid config caps.shs: the secret-handshake key must be base64 of exactly 32 bytes',
    )
  }
  return bytes
}
