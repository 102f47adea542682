/**
 * Built-in defaults, as ssb-config 3.4.6 (`defaults.js`) and ssb-caps 1.1.0 set them. Values the
 * plugins default for themselves (such as `blobs.*`) are not written into the configuration,
 * so that it prints as the reference's does; they are exported for reference instead.
 */
import { join } from 'node:path'

/**
 * The main-network capabilities of ssb-caps 1.1.0: the secret-handshake application key that
 * every Scuttlebutt peer must share (§3 of ssb-protocol.md), no signing HMAC key, and the
 * invite key that ssb-server 16 does not use.
 */
export const MAIN_NET_CAPS: Readonly<{ shs: string; sign: null; invite: string }> = Object.freeze({
  shs: '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=',
  sign: null,
  invite: 'HT0wIYuk3OWc2FtaCfHNnakV68jSGRrjRMP9Kos7IQc=',
})

/** Default ports of the incoming transports (ssb-config `default-ports.js`). */
export const DEFAULT_PORTS: Readonly<{ net: number; ws: number }> = Object.freeze({
  net: 8008,
  ws: 8989,
})

/**
 * What ssb-blobs 1.2.2 uses when a `blobs.*` key is unset: largest blob fetched from peers
 * (5 MiB), hops over which others' wants are relayed, peers that must hold a pushed blob,
 * whether to hide blobs unless pushing them, and legacy `blobs.has/changes` support.
 */
export const BLOBS_DEFAULTS: Readonly<{
  max: number
  sympathy: number
  pushy: number
  stingy: boolean
  legacy: boolean
}> = Object.freeze({ max: 5 * 1024 * 1024, sympathy: 3, pushy: 3, stingy: false, legacy: true })

const SEC = 1000
const MIN = 60 * SEC

/** The object ssb-config lays the rc result over (a fresh copy each call). */
export function baseDefaults(appName: string, homeDir: string): Record<string, unknown> {
  return {
    path: join(homeDir || 'browser', `.${appName}`),
    party: true,
    timeout: 0,
    pub: true,
    local: true,
    friends: { dunbar: 150, hops: 2 },
    gossip: { connections: 3 },
    connections: {
      outgoing: {
        net: [{ transform: 'shs' }],
        onion: [{ transform: 'shs' }],
      },
    },
    timers: { connection: 0, reconnect: 5 * SEC, ping: 5 * MIN, handshake: 5 * SEC },
    caps: { ...MAIN_NET_CAPS },
    master: [],
    logging: { level: 'notice' },
  }
}
