/**
 * Errors of the networking layer. The handshake, box-stream and muxrpc layers have their own
 * files (`errors-shs.ts`, `errors-rpc.ts`); the package entry exports them all.
 */

import { ScuttlekitError } from '@scuttlekit/ssb-ref'

/** No route of an address could be dialled and authenticated. `causes` holds each route's error. */
export class RpcConnectError extends ScuttlekitError {
  constructor(
    readonly address: string,
    readonly causes: readonly Error[],
  ) {
    const why = causes.map((e) => e.message).join('; ')
    super(`could not connect to ${address}${why ? `: ${why}` : ''}`, { cause: causes[0] })
  }
}

/** The unix socket path is taken: a live server answers on it, or it is not a socket. */
export class SocketInUseError extends ScuttlekitError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot listen on ${path}: ${reason}`)
  }
}
