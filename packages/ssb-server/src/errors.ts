/**
 * Errors of the server layer. Remote peers see `name` and `message` (no stack); the CLI prints
 * the message of a {@link UsageError} or {@link ParamTypeError} without a trace.
 */

import { ScuttlekitError } from '@scuttlekit/ssb-ref'

/**
 * A call's arguments do not fit the method: a missing parameter or a missing or mistyped
 * attribute. The message is word for word what ssb-db 20's muxrpc-validation says
 * (`Param 0 is required`, `Param 0 must have a .type of type "string"`).
 */
export class UsageError extends ScuttlekitError {}

/**
 * A parameter has the wrong type: `Param 0 must by of type feedId` (sic, the reference's words).
 * The reference names this error `TypeError`; ours has its own name so that it cannot be taken
 * for a programming error.
 */
export class ParamTypeError extends ScuttlekitError {}

/** A method the manifest does not have, or not of the type it was called as. */
export class MethodNotFoundError extends ScuttlekitError {}

/** The connection's permissions do not cover the method. */
export class PermissionDeniedError extends ScuttlekitError {}

/** The server is starting or has closed and cannot serve the request. */
export class ServerClosedError extends ScuttlekitError {
  constructor() {
    super('the server is closed')
  }
}

/** A plugin's definition is unusable: duplicate names, a bad manifest type, a clash. */
export class PluginError extends ScuttlekitError {}

/** Listening failed: the port is taken, the host is not an address of this machine, … */
export class ListenError extends ScuttlekitError {}
