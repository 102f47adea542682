/**
 * `gossip.help()`: the usage of every gossip method, in the `{description, commands}` shape that
 * the CLI and muxrpc-usage read (ssb-gossip's `help.js` documents only some of them).
 */

import type { Help } from '@scuttlekit/ssb-server'

const peerRef = {
  id: { type: 'FeedId', description: 'the peer, by feed id', optional: true },
  address: {
    type: 'MultiServerAddress',
    description: 'or by address (net:host:port~shs:key, host:port:@key.ed25519)',
    optional: true,
  },
}

const gossipType = {
  type: {
    type: 'string',
    description: 'global, local, friends or seed',
    optional: true,
    default: 'global',
  },
}

/** The help object of the gossip plugin. */
export const gossipHelp: Help = {
  description: 'keep track of peers, and decide when to connect to them',
  commands: {
    peers: { type: 'sync', description: 'the peer table' },
    get: { type: 'sync', description: 'one peer of the table', args: peerRef },
    add: {
      type: 'sync',
      description: 'add a peer to the table (never ourselves)',
      args: {
        address: {
          type: 'MultiServerAddress',
          description: 'net:host:port~shs:key, host:port:@key.ed25519 or {host, port, key}',
        },
        source: {
          type: 'string',
          description: 'manual, pub, local, seed, friends or stored',
          optional: true,
          default: 'manual',
        },
      },
    },
    remove: { type: 'sync', description: 'remove a peer from the table', args: peerRef },
    connect: {
      type: 'async',
      description: 'connect to a peer now (added to the table as manual)',
      args: peerRef,
    },
    disconnect: { type: 'async', description: 'close the connections to a peer', args: peerRef },
    changes: {
      type: 'source',
      description: 'events {type: discover|connect|connect-failure|disconnect|remove, peer}',
    },
    reconnect: {
      type: 'sync',
      description: 'close every peer connection and let the scheduler start over',
    },
    enable: {
      type: 'sync',
      description: 'turn a kind of gossip on (saved in <path>/config when that is plain JSON)',
      args: gossipType,
    },
    disable: {
      type: 'sync',
      description: 'turn a kind of gossip off (saved in <path>/config when that is plain JSON)',
      args: gossipType,
    },
    ping: {
      type: 'duplex',
      description: 'exchange timestamps to keep a connection alive and measure round trips',
      args: {
        timeout: { type: 'number', description: 'ignored: timers.ping applies', optional: true },
      },
    },
    help: { type: 'sync', description: 'this text' },
  },
}
