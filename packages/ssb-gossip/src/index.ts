/**
 * @packageDocumentation
 * The SSB peer table, connection scheduler and LAN discovery: ssb-gossip 1.1.1 and ssb-local
 * 1.0.0 as one plugin of `@scuttlekit/ssb-server` (`ssb-protocol.md` §8.1, §8.3, §4.8–4.9).
 * Peers come from `config.seeds`, `pub` messages, LAN beacons, `gossip.add` and
 * `<path>/gossip.json`; the scheduler keeps a few connections to friends, seeds, LAN peers and
 * pubs, backing off exponentially from peers that fail.
 *
 * ```ts
 * import { loadConfig } from '@scuttlekit/ssb-config'
 * import { gossipPlugin, type GossipApi } from '@scuttlekit/ssb-gossip'
 * import { startServer } from '@scuttlekit/ssb-server'
 *
 * const server = await startServer({ config: loadConfig(), plugins: [gossipPlugin()] })
 * const gossip = server.plugin<GossipApi>('gossip')!
 * gossip.add('net:203.0.113.7:8008~shs:gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=', 'seed')
 * for await (const change of gossip.changes()) console.log(change.type, change.peer.address)
 * ```
 */
export {
  isLoopbackHost,
  MAX_ADDRESS_LENGTH,
  type PeerAddress,
  type PeerAddressInput,
  parsePeerAddress,
  peerKeyOf,
} from './address.js'
export { type PersistResult, persistGossipSwitch } from './config-file.js'
export * from './errors.js'
export { gossipHelp } from './help.js'
export {
  type BeaconContext,
  type BeaconSender,
  interfaceAddresses,
  MAX_BEACON_BYTES,
  parseBeacon,
} from './lan.js'
export { type LoadedPeers, loadPeerFile, MAX_PEER_FILE_BYTES, savePeerFile } from './peer-store.js'
export {
  copyPeer,
  type GossipPeer,
  isPeerSource,
  PEER_SOURCES,
  type PeerEntry,
  type PeerPing,
  type PeerSource,
  type PeerState,
  PeerTable,
  type PeerTableLimits,
} from './peer-table.js'
export { DEFAULT_PING_TIMEOUT, pingTimeoutOf, servePing } from './ping.js'
export {
  GOSSIP_TYPES,
  type GossipApi,
  type GossipChange,
  type GossipOptions,
  type GossipTimers,
  type GossipType,
  gossipPlugin,
  type PeerStatus,
} from './plugin.js'
export {
  backoff,
  type GossipSwitches,
  type GroupOptions,
  isConnectedOrConnecting,
  isInactive,
  isLegacy,
  isLongterm,
  isUnattempted,
  nextAttempt,
  type Plan,
  type PlanContext,
  planTick,
  selectPeers,
} from './schedule.js'
export { addSample, emptyStats, type Stats } from './stats.js'
