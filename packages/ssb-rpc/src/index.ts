/**
 * @packageDocumentation
 * SSB connections: secret-handshake and box-stream over TCP, muxrpc on top, and the unix socket
 * with `noauth`, as a typed API of Promises and AsyncIterables (`ssb-protocol.md` §3–4).
 *
 * ```ts
 * import { connect } from '@scuttlekit/ssb-rpc'
 * import { generateKeys } from '@scuttlekit/ssb-keys'
 *
 * const appKey = Buffer.from('1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=', 'base64')
 * const rpc = await connect('net:127.0.0.1:8008~shs:<server key>', { keys: generateKeys(), appKey })
 * for await (const msg of rpc.source('createHistoryStream', [{ id: '@…=.ed25519' }])) console.log(msg)
 * await rpc.close()
 * ```
 */
export * from './box-stream.js'
export * from './errors.js'
export * from './errors-rpc.js'
export * from './errors-shs.js'
export * from './handshake.js'
export * from './net.js'
export * from './packet-codec.js'
export * from './rpc-session.js'
export * from './secret-channel.js'
export * from './types.js'
