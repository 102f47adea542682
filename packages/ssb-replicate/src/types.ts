/**
 * The public shapes of the replicate plugin: its options, its in-process API, and the values
 * its RPC methods return (`reference-features.md` §1.5).
 */

import type { FeedId } from '@scuttlekit/ssb-ref'

/** Options of {@link replicatePlugin}; every field has a default suited to a normal server. */
export interface ReplicateOptions {
  /**
   * The most messages of one feed handed to `db.addBatch` at once (default 256, the database's
   * validation round). A batch holds what arrived while the previous ones were being validated,
   * so a trickle of live messages is stored at once; during a sync, the database pipelines the
   * batches and spreads their signature checks over the cores.
   */
  batchSize?: number
  /** Batches of one feed being validated or committed at the same time (default 2). */
  maxInflight?: number
  /**
   * Messages accepted but not yet handed to the database, over all feeds, above which streams
   * stop reading until the database catches up (default 1024). Bounds memory during a sync:
   * replicating 50,000 messages peaks at about 160 MB with the defaults, against about 230 MB
   * with batches of 1024 and 8192 buffered, in the same time.
   */
  maxBuffered?: number
  /**
   * A stream that has delivered nothing for this long counts as caught up (default 500 ms, the
   * reference's `detect-sync` delay). Legacy streams carry no sync marker (§7.1).
   */
  syncIdleMs?: number
  /** Debounce of the `changes` stream (default 200 ms, as the reference). */
  changesDebounceMs?: number
  /**
   * On a connection the peer dialled, how long we wait for its first createHistoryStream call
   * before we send ours anyway (default 250 ms). See the README, "When replication starts".
   */
  serverStartMs?: number
}

/**
 * Why a peer's stream for a feed was dropped and not asked for again in that session
 * (`bad-inputs.md` §8):
 * - `junk`: an item that is not a message of the classic format (not an object, no integer
 *   `sequence`, not serialisable);
 * - `wrong-feed`: a message by another author than the feed the stream was asked for;
 * - `out-of-order`: a sequence at or below one the stream already sent (duplicates, replays);
 * - `gap`: a sequence beyond the next one, including absurd ones such as 2^53;
 * - `bad-signature`: the signature does not verify;
 * - `fork`: a validly signed message whose `previous` is not the message we hold;
 * - `invalid`: any other validation failure (the error's name is logged with it).
 */
export type RejectReason =
  | 'junk'
  | 'wrong-feed'
  | 'out-of-order'
  | 'gap'
  | 'bad-signature'
  | 'fork'
  | 'invalid'

/** One item of `replicate.upto`: the sequence we hold of a requested feed (−1: no longer requested). */
export interface UptoItem {
  id: FeedId
  sequence: number
}

/**
 * One item of `replicate.changes`, the reference's progress object (ssb-replicate 1.3.5
 * `legacy.js`), with the numbers we can know without the peers' announcements.
 */
export interface ReplicateChange {
  /** our feed id */
  id: FeedId
  /** messages stored through replication per second, over the last second or so */
  rate: number
  /** how many feeds are requested */
  feeds: number
  /** per peer id: how many of its streams are still catching up */
  pendingPeers: Record<string, number>
  /** how many requested feeds have at least one stream still catching up */
  incompleteFeeds: number
  /** the sum of the sequences we hold of the requested feeds */
  progress: number
  /** the sum, per requested feed, of the highest sequence we hold or a peer has sent */
  total: number
}

/**
 * The `progress()` section, in the `{start, current, target}` shape the CLI draws bars from.
 * The unit is a *feed stream* (one requested feed from one peer): legacy replication has no
 * announcement of how many messages a peer holds, so counting streams is the only measure that
 * reaches `target` exactly when the initial sync is over. `current` counts open streams that
 * have caught up (delivered everything old and went quiet), `target` counts open streams.
 */
export interface ReplicateProgress {
  start: number
  current: number
  target: number
}

/** What `status()` reports of one connected peer. */
export interface PeerStatus {
  /** streams open with this peer (one per requested feed it serves us) */
  streams: number
  /** of those, still catching up */
  syncing: number
  /** messages this peer sent us in this session */
  received: number
  /** of those, stored (the others were already held, or rejected) */
  stored: number
  /** feeds this peer lost in this session, with the reason */
  rejected: Record<string, RejectReason>
}

/** The `status()` section: counters since start, and one entry per connected peer. */
export interface ReplicateStatus {
  requested: number
  /** requested feeds the database saw fork; they are no longer replicated */
  forked: number
  received: number
  stored: number
  /** messages skipped by sequence because we already held or had accepted them */
  skipped: number
  /** streams dropped for misbehaviour */
  rejected: number
  rate: number
  peers: Record<string, PeerStatus>
}

/**
 * The in-process API (`server.plugin<ReplicateApi>('replicate')`). ssb-friends drives
 * `request` from the follow graph and `block` from block messages (`reference-features.md` §5.5).
 */
export interface ReplicateApi {
  /**
   * Starts (`replicate` not `false`) or stops replicating a feed, at once on every open
   * connection. Our own feed is always replicated; asking to stop it is ignored. Throws
   * `InvalidFeedIdError` for anything that is not a feed id.
   */
  request(feed: string | { id: string; replicate?: boolean }, replicate?: boolean): void
  /**
   * Records that `from` blocks `to` (or no longer does): `from`'s feed is then not served to
   * `to`, not requested from `to`, and when `from` is us nothing is requested from `to`.
   */
  block(
    from: string | { from: string; to: string; blocking?: boolean },
    to?: string,
    blocking?: boolean,
  ): void
  /** The requested feeds, our own first. */
  requested(): FeedId[]
  /** Whether a feed is requested. */
  isRequested(feed: string): boolean
  /** See {@link ReplicateProgress}. */
  progress(): ReplicateProgress
  /** See {@link ReplicateStatus}. */
  status(): ReplicateStatus
  /** `{id, sequence}` per requested feed, then with `live` `{sync: true}` and every change. */
  upto(opts?: { live?: boolean }, signal?: AbortSignal): AsyncIterable<UptoItem | { sync: true }>
  /** The current {@link ReplicateChange}, then each change of it (debounced). */
  changes(signal?: AbortSignal): AsyncIterable<ReplicateChange>
}
