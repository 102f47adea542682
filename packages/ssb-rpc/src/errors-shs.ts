/**
 * Errors of the secret-handshake and box-stream layer (`ssb-protocol.md` §3).
 *
 * Callers tell them apart by `.name` (muxrpc carries only `name`, `message` and `stack`), and
 * handshake failures additionally by {@link HandshakeError.reason}, a stable machine-readable word.
 */
import { ScuttlekitError } from '@scuttlekit/ssb-ref'

/**
 * Why a secret handshake failed (`ssb-protocol.md` §3.3):
 * - `invalid-hello`: msg1 (server side) or msg2 (client side) fails its HMAC check: the peer
 *   uses another network key (`caps.shs`) or does not speak SHS at all;
 * - `low-order-key`: the peer's ephemeral key (or long-term key) gives an all-zero shared secret;
 *   the reference crashes here, we refuse the peer;
 * - `invalid-client-auth`: msg3 does not open or its signature does not verify: the client does
 *   not know our long-term key, is on another network, or replays another session;
 * - `unauthorized`: the server's authorize hook denied the client (or threw);
 * - `server-not-authenticated`: msg4 does not open or its signature does not verify: the server
 *   is not the one we meant to call;
 * - `invalid-server-key`: the long-term key we were told to call is not a usable ed25519 key;
 * - `hangup`: the transport closed or failed before the handshake finished;
 * - `timeout`: the handshake did not finish in time ({@link HandshakeTimeoutError}).
 */
export type HandshakeFailureReason =
  | 'invalid-hello'
  | 'low-order-key'
  | 'invalid-client-auth'
  | 'unauthorized'
  | 'server-not-authenticated'
  | 'invalid-server-key'
  | 'hangup'
  | 'timeout'

const describeReason: Record<HandshakeFailureReason, string> = {
  'invalid-hello':
    "the peer's hello does not verify: it uses another network key (caps.shs) or does not speak secret-handshake",
  'low-order-key': 'the peer sent a low-order key that gives an all-zero shared secret',
  'invalid-client-auth':
    "the client's authentication (msg3) does not verify: it does not know our public key, uses another network key or replays another session",
  unauthorized: 'the server did not authorize this client',
  'server-not-authenticated':
    'server not authenticated: its accept message (msg4) does not verify, so it is not the peer we meant to call',
  'invalid-server-key': 'the server key to call is not a usable ed25519 public key',
  hangup: 'the connection closed before the handshake finished',
  timeout: 'the handshake did not finish in time',
}

/**
 * A secret handshake failed. The connection has been closed; nothing was written after the
 * failure. `reason` says which check failed (see {@link HandshakeFailureReason}).
 */
export class HandshakeError extends ScuttlekitError {
  /** Which check failed; stable across versions, unlike `message`. */
  readonly reason: HandshakeFailureReason

  constructor(reason: HandshakeFailureReason, options?: { cause?: unknown; detail?: string }) {
    const detail = options?.detail === undefined ? '' : ` (${options.detail})`
    super(
      `secret handshake failed: ${describeReason[reason]}${detail}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.reason = reason
  }
}

/**
 * The whole handshake took longer than its `timeoutMs` (5000 ms by default, like
 * `timers.handshake` of ssb-config, `ssb-protocol.md` §3.3). A subclass of
 * {@link HandshakeError} with reason `timeout`, so one `instanceof` catches every handshake failure.
 */
export class HandshakeTimeoutError extends HandshakeError {
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number

  constructor(timeoutMs: number) {
    super('timeout', { detail: `after ${timeoutMs} ms` })
    this.timeoutMs = timeoutMs
  }
}

/**
 * Base class of the box-stream failures (`ssb-protocol.md` §3.5), for callers that only need
 * to know that the encrypted stream broke.
 */
export class BoxStreamError extends ScuttlekitError {}

/**
 * A box header did not open with the expected key and nonce: corrupted, forged, replayed,
 * reordered or dropped data. pull-box-stream reports this as `invalid header`.
 */
export class InvalidBoxHeaderError extends BoxStreamError {
  constructor() {
    super('invalid header')
  }
}

/**
 * A box body did not open with the MAC its header announced. pull-box-stream reports this as
 * `invalid packet`.
 */
export class InvalidBoxBodyError extends BoxStreamError {
  constructor() {
    super('invalid packet')
  }
}

/**
 * The transport ended or failed before the peer sent its goodbye box, so the data may have
 * been cut short. pull-box-stream reports this as `unexpected hangup`.
 */
export class UnexpectedHangupError extends BoxStreamError {
  constructor(options?: { cause?: unknown }) {
    super('unexpected hangup', options)
  }
}

/** Something was given to a box-stream encoder after its goodbye: a caller bug. */
export class BoxStreamEndedError extends BoxStreamError {
  constructor() {
    super('the box stream has already sent its goodbye')
  }
}
