/**
 * One error class per way an invite can fail (`ssb-protocol.md` §8.4). The messages that
 * ssb-invite 2.1.8 has are kept word for word, so that scripts matching on them keep working.
 */
import { ScuttlekitError } from '@scuttlekit/ssb-ref'

/** `invite.create` found no address of ours that a guest could dial. */
export class NoInviteAddressError extends ScuttlekitError {
  constructor() {
    super(
      'no address available for creating an invite,configuration needed for server.\n' +
        'see: https://github.com/ssbc/ssb-config/#connections',
    )
  }
}

/**
 * `invite.create` would hand out a private, loopback or empty host, which nobody else could
 * dial; set `allowPrivate` (or pass `external`) to do it anyway.
 */
export class PrivateInviteHostError extends ScuttlekitError {
  constructor(readonly host: string) {
    super('Server has no public ip address, cannot create useable invitation')
  }
}

/** `invite.create` got options it cannot use (`uses` not a positive number, a bad `external`). */
export class InvalidInviteOptionsError extends ScuttlekitError {}

/** `invite.use` was called by a connection whose key is not one of our invites. */
export class UnknownInviteError extends ScuttlekitError {
  constructor(readonly inviteId: string) {
    super('invite not accepted')
  }
}

/** `invite.use` on an invite whose uses are all spent. */
export class InviteExpiredError extends ScuttlekitError {
  constructor() {
    super('invite has expired')
  }
}

/** `invite.use` without `{feed}`: the feed to follow is part of the request so it cannot be replayed. */
export class FeedToFollowMissingError extends ScuttlekitError {
  constructor() {
    super('feed to follow is missing')
  }
}

/** `invite.use` for a feed the pub follows already: the invite is not spent on it. */
export class AlreadyFollowingError extends ScuttlekitError {
  constructor(readonly feed: string) {
    super('already following')
  }
}

/** `invite.accept` could not reach the pub in three attempts. */
export class InviteConnectError extends ScuttlekitError {
  constructor(cause: unknown) {
    super(`could not connect to server: ${messageOf(cause)}`, { cause })
  }
}

/** The pub refused `invite.use` (spent, unknown, already following…); `cause` says why. */
export class InviteNotAcceptedError extends ScuttlekitError {
  constructor(cause: unknown) {
    super(`invite not accepted: ${messageOf(cause)}`, { cause })
  }
}

/** `invite.accept` got a code whose transport we cannot dial (ws codes: we have no ws transport). */
export class UnsupportedInviteTransportError extends ScuttlekitError {
  constructor(readonly transport: string) {
    super(`cannot dial a ${transport} invite: only net invites are supported`)
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
