/**
 * LAN discovery, as ssb-local 1.0.0 on broadcast-stream does it (`ssb-protocol.md` §8.3,
 * `reference-features.md` §5.2): a UDP4 socket with `reuseAddr`, bound to the broadcast port
 * (by default our TCP port, 8008 on a normal install), sends our address text once a second to
 * `255.255.255.255:<port>` and listens for the same from other nodes. A peer is forgotten when
 * it has not been heard for 10 s (checked every 5 s).
 *
 * Beacons are unsigned, so what we accept is bounded and checked: at most
 * {@link MAX_BEACON_BYTES}, a valid shs address (ws and onion routes too, dialled only if a net
 * route is present), not our key, not our own text. The reference ignores every packet that
 * comes from one of our interface addresses on the same port; here beacons carrying our key are
 * what is ignored, which lets two nodes on one machine find each other. A beacon that names a
 * loopback host is accepted only from this machine: another host on the LAN cannot be reached
 * at our `127.0.0.1`.
 */

import dgram from 'node:dgram'
import { networkInterfaces } from 'node:os'
import type { FeedId } from '@scuttlekit/ssb-ref'
import type { Logger } from 'pino'
import { isLoopbackHost, type PeerAddress, parsePeerAddress } from './address.js'

/** Largest beacon read; larger datagrams are dropped unread. */
export const MAX_BEACON_BYTES = 2048

/** Where a datagram came from. */
export interface BeaconSender {
  address: string
  port: number
}

/** What {@link parseBeacon} needs to know about us. */
export interface BeaconContext {
  ownId: FeedId
  /** The text we broadcast ourselves, if any. */
  ownBeacon?: string | null
  /** Addresses of this machine's interfaces (a loopback host is believed only from these). */
  ownInterfaces: ReadonlySet<string>
}

/**
 * Reads one datagram as a beacon: the peer's address, or `null` when the datagram is to be
 * ignored (too large, not UTF-8 text of an shs address, ours, or a loopback host from afar).
 */
export function parseBeacon(
  payload: Uint8Array,
  sender: BeaconSender,
  ctx: BeaconContext,
): { text: string; peer: PeerAddress } | null {
  if (payload.length === 0 || payload.length > MAX_BEACON_BYTES) return null
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8')
  if (text.includes('\uFFFD')) return null
  if (ctx.ownBeacon && text === ctx.ownBeacon) return null
  let peer: PeerAddress
  try {
    peer = parsePeerAddress(text)
  } catch {
    return null
  }
  if (peer.key === ctx.ownId) return null
  if (isLoopbackHost(peer.host) && !isFromThisMachine(sender.address, ctx.ownInterfaces)) {
    return null
  }
  return { text, peer }
}

function isFromThisMachine(address: string, own: ReadonlySet<string>): boolean {
  const a = address.replace(/^::ffff:/, '')
  return isLoopbackHost(a) || own.has(a)
}

/** Addresses of this machine's network interfaces. */
export function interfaceAddresses(): Set<string> {
  const out = new Set<string>()
  for (const list of Object.values(networkInterfaces())) {
    for (const item of list ?? []) out.add(item.address)
  }
  return out
}

/** Settings of a {@link LanDiscovery}. */
export interface LanOptions {
  ownId: FeedId
  /** Where beacons go (default `255.255.255.255`). */
  broadcastAddress: string
  /**
   * The UDP port to bind and to send to; called until it gives a number (the TCP port may only
   * be known once the server listens).
   */
  port: () => number | undefined
  /** Our beacon text (`null` while we have no address to announce). */
  beacon: () => string | null
  /** Beacon interval (1000 ms). */
  interval: number
  /** Forget a peer after this long without a beacon (10 000 ms). */
  expiry: number
  /** How often to look for silent peers (5000 ms). */
  checkEvery: number
  /** A beacon was heard; returns whether the peer was taken (only those are tracked). */
  onBeacon(text: string, peer: PeerAddress): boolean
  /** A peer fell silent. */
  onExpire(key: FeedId): void
  logger?: Logger
}

/** One LAN discovery socket; see the module comment. `start()`/`stop()` are idempotent. */
export class LanDiscovery {
  private socket: dgram.Socket | undefined
  private bound = false
  private sendTimer: NodeJS.Timeout | undefined
  private checkTimer: NodeJS.Timeout | undefined
  private ownInterfaces = new Set<string>()
  private port: number | undefined
  private sendFailures = 0
  private readonly lastSeen = new Map<FeedId, number>()
  private running = false

  constructor(private readonly options: LanOptions) {}

  /** Peers heard on the LAN and when (ms), for `status`. */
  seen(): ReadonlyMap<FeedId, number> {
    return this.lastSeen
  }

  /** Whether the socket is up. */
  get active(): boolean {
    return this.running
  }

  /** Starts beaconing and listening (the socket is bound at the first beacon tick). */
  start(): void {
    if (this.running) return
    this.running = true
    this.sendTimer = setInterval(() => this.tick(), this.options.interval)
    this.sendTimer.unref()
    this.checkTimer = setInterval(() => this.expire(), this.options.checkEvery)
    this.checkTimer.unref()
    setImmediate(() => this.tick())
  }

  /**
   * Stops and closes the socket. The peers heard so far are forgotten, and reported expired
   * unless `report` is false (at close).
   */
  stop(report = true): void {
    if (!this.running) return
    this.running = false
    clearInterval(this.sendTimer)
    clearInterval(this.checkTimer)
    this.sendTimer = this.checkTimer = undefined
    const socket = this.socket
    this.socket = undefined
    this.bound = false
    if (socket) {
      try {
        socket.close()
      } catch {
        // already closed
      }
    }
    for (const key of [...this.lastSeen.keys()]) {
      this.lastSeen.delete(key)
      if (report) this.options.onExpire(key)
    }
  }

  private open(port: number): void {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true })
    this.socket = socket
    this.port = port
    socket.on('error', (err) => {
      this.options.logger?.warn({ err: String(err), port }, 'LAN discovery socket failed')
      if (this.socket === socket) {
        this.socket = undefined
        this.bound = false
      }
      try {
        socket.close()
      } catch {
        // already closed
      }
    })
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo))
    socket.bind(port, () => {
      if (this.socket !== socket) return
      this.bound = true
      this.ownInterfaces = interfaceAddresses()
      try {
        socket.setBroadcast(true)
      } catch (err) {
        this.options.logger?.debug({ err: String(err) }, 'cannot enable broadcast')
      }
      this.options.logger?.debug({ port }, 'LAN discovery listening')
    })
  }

  private tick(): void {
    if (!this.running) return
    if (!this.socket) {
      const port = this.options.port()
      if (port === undefined || !(port > 0 && port < 65536)) return
      this.open(port)
      return
    }
    if (!this.bound || this.port === undefined) return
    const text = this.options.beacon()
    if (!text) return
    this.socket.send(text, this.port, this.options.broadcastAddress, (err) => {
      if (!err) {
        this.sendFailures = 0
        return
      }
      // no network, or broadcast refused: say so once, keep trying quietly
      if (this.sendFailures++ === 0) {
        this.options.logger?.debug({ err: String(err) }, 'LAN beacon not sent')
      }
    })
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!this.running) return
    const found = parseBeacon(
      msg,
      { address: rinfo.address, port: rinfo.port },
      {
        ownId: this.options.ownId,
        ownBeacon: this.options.beacon(),
        ownInterfaces: this.ownInterfaces,
      },
    )
    if (!found) return
    if (!this.options.onBeacon(found.text, found.peer)) return
    this.lastSeen.set(found.peer.key, Date.now())
  }

  private expire(): void {
    const now = Date.now()
    for (const [key, seen] of this.lastSeen) {
      if (now - seen > this.options.expiry) {
        this.lastSeen.delete(key)
        this.options.onExpire(key)
      }
    }
  }
}
