/**
 * Errors of the friends plugin. Remote callers see `name` and `message` (muxrpc carries no
 * `code`).
 */

import { ScuttlekitError } from '@scuttlekit/ssb-ref'

/**
 * `friends.isFollowing` / `friends.isBlocking` were called without an options object. The
 * reference does not check and fails with a `TypeError` (`Cannot read properties of undefined
 * (reading 'source')`); we say what is expected.
 */
export class FriendsOptionsError extends ScuttlekitError {
  constructor(method: string) {
    super(`friends.${method} expects {source: FeedId, dest: FeedId}`)
  }
}

/**
 * `friends.onEdge` was called over RPC. It takes a callback, so it only works in process (the
 * reference lists it in the manifest as `sync`; called remotely it stores a non-function and
 * crashes at the next edge). Remote callers can use `friends.stream` instead.
 */
export class InProcessOnlyError extends ScuttlekitError {
  constructor(method: string) {
    super(`friends.${method} only works in process; use friends.stream over RPC`)
  }
}
