/**
 * Where ssb-server listens, derived as ssb-config 3.4.6 derives it (`util/incoming-connections`,
 * `util/fix-connections`), for multiserver's `connections.incoming` (§3 of ssb-protocol.md):
 *
 * - No `connections.incoming` and no `host`: one `net` entry (port `port` or 8008) and one `ws`
 *   entry (port `ws.port` or 8989) per interface address, skipping scoped IPv6 (link-local)
 *   addresses; scope `device` for internal interfaces, `local` for private addresses, `public`
 *   otherwise.
 * - No `connections.incoming` but `host`: one net and one ws entry on that host with scope
 *   `[device, local, public]`.
 * - Either way, `unix: [{scope: 'device', transform: 'noauth'}]` (the `<path>/socket`).
 * - Then the legacy keys follow the entries: `host`/`port` from the first net entry with scope
 *   public, else local/private, else device; `ws` is the ws entry picked the same way (or `{}`).
 *   An entry without a port gets `port` or the default; note that a ws entry gets `port` (the
 *   net port!) before 8989, as in the reference.
 * - A `host`, `port` or `ws.port` that disagrees with the picked entry is an error.
 *
 * One deliberate difference: port 0 (allowed from `overrides` only) is a real port here, where
 * the reference treats it as "unset" and substitutes the default.
 */
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os'
import { describe } from '@scuttlekit/ssb-ref'
import { DEFAULT_PORTS } from './defaults.js'
import { ConflictingConnectionsError } from './errors.js'
import { isPrivateAddress } from './internal/ip.js'
import { formatPath, isPlainRecord } from './internal/records.js'
import type { SourceOf } from './validate.js'

type Entry = Record<string, unknown>

const ALL_SCOPES = ['device', 'local', 'public']

/** The incoming entries ssb-config generates when none are configured. */
export function defaultIncoming(
  config: Record<string, unknown>,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): Record<string, Entry[]> {
  const netPort = config.port ?? DEFAULT_PORTS.net
  const ws = config.ws
  const wsPort = (isPlainRecord(ws) ? ws.port : undefined) ?? DEFAULT_PORTS.ws
  let incoming: Record<string, Entry[]>
  if (config.host) {
    incoming = {
      net: [{ host: config.host, port: netPort, scope: [...ALL_SCOPES], transform: 'shs' }],
      ws: [{ host: config.host, port: wsPort, scope: [...ALL_SCOPES], transform: 'shs' }],
    }
  } else {
    const addresses = Object.values(interfaces)
      .flatMap((list) => list ?? [])
      .filter((item) => item.scopeid === undefined || item.scopeid === null || item.scopeid === 0)
    const entries = (port: unknown): Entry[] =>
      addresses.map((item) => ({
        host: item.address,
        port,
        scope: [item.internal ? 'device' : isPrivateAddress(item.address) ? 'local' : 'public'],
        transform: 'shs',
      }))
    incoming = { net: entries(netPort), ws: entries(wsPort) }
  }
  incoming.unix = [{ scope: 'device', transform: 'noauth' }]
  return incoming
}

function hasScope(entry: Entry, scope: string): boolean {
  const value = entry.scope
  return (
    value === scope ||
    ((typeof value === 'string' || Array.isArray(value)) && value.includes(scope))
  )
}

/** The entry ssb-config takes as "the" address of a transport: public, else local, else device. */
export function pickEntry(entries: unknown): { entry: Entry; index: number } | undefined {
  if (!Array.isArray(entries)) return undefined
  const list = entries as Entry[]
  for (const test of [
    (e: Entry) => hasScope(e, 'public'),
    (e: Entry) => hasScope(e, 'local') || hasScope(e, 'private'),
    (e: Entry) => hasScope(e, 'device'),
  ]) {
    const index = list.findIndex(test)
    if (index !== -1) return { entry: list[index] as Entry, index }
  }
  return undefined
}

const isSet = (value: unknown): boolean =>
  value !== undefined && value !== null && value !== '' && value !== false

/**
 * Fills in `connections.incoming` when absent, then sets the legacy `host`, `port` and `ws` from
 * it, throwing `ConflictingConnectionsError` when they disagree.
 */
export function deriveConnections(
  config: Record<string, unknown>,
  sourceOf: SourceOf,
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>,
): void {
  const connections = config.connections as Record<string, unknown>
  if (!isPlainRecord(connections.incoming)) {
    connections.incoming = defaultIncoming(config, interfaces)
  }
  const incoming = connections.incoming as Record<string, unknown>
  const net = pickEntry(incoming.net)
  const ws = pickEntry(incoming.ws)
  const netEntry: Entry = net?.entry ?? {}
  const wsEntry: Entry = ws?.entry ?? {}

  if (netEntry.host && netEntry.port === undefined) netEntry.port = config.port ?? DEFAULT_PORTS.net
  if (wsEntry.host && wsEntry.port === undefined) wsEntry.port = config.port ?? DEFAULT_PORTS.ws

  const conflicts: {
    name: string
    path: string[]
    value: unknown
    entryPath: (string | number)[]
    entryValue: unknown
  }[] = []
  const netPath = ['connections', 'incoming', 'net', net?.index ?? 0]
  const wsPath = ['connections', 'incoming', 'ws', ws?.index ?? 0]
  if (config.host && netEntry.host && config.host !== netEntry.host) {
    conflicts.push({
      name: 'net host',
      path: ['host'],
      value: config.host,
      entryPath: [...netPath, 'host'],
      entryValue: netEntry.host,
    })
  }
  if (isSet(config.port) && isSet(netEntry.port) && config.port !== netEntry.port) {
    conflicts.push({
      name: 'net port',
      path: ['port'],
      value: config.port,
      entryPath: [...netPath, 'port'],
      entryValue: netEntry.port,
    })
  }
  const legacyWs = config.ws
  if (
    isPlainRecord(legacyWs) &&
    isSet(legacyWs.port) &&
    isSet(wsEntry.port) &&
    legacyWs.port !== wsEntry.port
  ) {
    conflicts.push({
      name: 'ws port',
      path: ['ws', 'port'],
      value: legacyWs.port,
      entryPath: [...wsPath, 'port'],
      entryValue: wsEntry.port,
    })
  }
  const first = conflicts[0]
  if (first) {
    const details = conflicts
      .map(
        (c) =>
          `${formatPath(c.path)} ${describe(c.value)} from ${sourceOf(c.path)} vs ` +
          `${formatPath(c.entryPath)} ${describe(c.entryValue)} from ${sourceOf(c.entryPath)}`,
      )
      .join('; ')
    throw new ConflictingConnectionsError(
      conflicts.map((c) => c.name),
      formatPath(first.path),
      sourceOf(first.path),
      details,
    )
  }

  config.host = netEntry.host || wsEntry.host
  config.port = netEntry.port
  config.ws = { ...wsEntry }
}
