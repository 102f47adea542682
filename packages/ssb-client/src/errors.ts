/** Errors of the client. */

import { ScuttlekitError } from '@scuttlekit/ssb-ref'

/**
 * No server answered. The message is the reference CLI's first line
 * (`Could not connect to ssb-server <host>:<port>`); `cause` holds the transport's error.
 */
export class ServerNotRunningError extends ScuttlekitError {
  constructor(
    readonly host: string,
    readonly port: number | string,
    options?: { cause?: unknown },
  ) {
    super(`Could not connect to ssb-server ${host}:${port}`, options)
  }
}

/** The server's manifest has no method of that name (or the name is a group of methods). */
export class UnknownMethodError extends ScuttlekitError {
  constructor(readonly method: string) {
    super(`the server has no method ${method}`)
  }
}
