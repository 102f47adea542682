/**
 * The plugins `ssb-server start` runs besides the core: the follow graph, legacy replication,
 * the gossip scheduler, pub invites and blobs, in the order their hooks need (friends first, so that its `authorize`
 * refuses blocked peers before anyone else is asked), and the glue that makes the follow graph
 * decide what is replicated, as ssb-friends drives `replicate.request` in ssb-server 16.
 */

import { blobsPlugin } from '@scuttlekit/ssb-blobs'
import { type FriendsApi, friendsPlugin } from '@scuttlekit/ssb-friends'
import { gossipPlugin } from '@scuttlekit/ssb-gossip'
import { invitePlugin } from '@scuttlekit/ssb-invite'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { type ReplicateApi, replicatePlugin } from '@scuttlekit/ssb-replicate'
import type { Plugin } from '@scuttlekit/ssb-server'

/**
 * Requests every feed the follow graph puts within hops (`hops >= 0`) and drops feeds that leave
 * it. Feeds we block ourselves (hops −1) are also recorded as blocked for replication: nothing
 * is asked of them and our feed is not served to them.
 */
export function hopsToReplication(): Plugin {
  return {
    name: '',
    init({ server }) {
      const friends = server.plugin<FriendsApi>('friends')
      const replicate = server.plugin<ReplicateApi>('replicate')
      if (!friends || !replicate) return {}
      const apply = (feed: FeedId, hops: number | null) => {
        replicate.request(feed, hops !== null && hops >= 0)
        replicate.block(server.id, feed, hops === -1)
      }
      for (const [feed, hops] of friends.hops()) apply(feed, hops)
      const off = friends.onHopsChange((changes) => {
        for (const { feed, hops } of changes) apply(feed, hops)
      })
      return { close: off }
    },
  }
}

/** The default plugins of `ssb-server start`, in start order. */
export function defaultPlugins(): Plugin[] {
  return [
    friendsPlugin(),
    replicatePlugin(),
    gossipPlugin(),
    invitePlugin(),
    blobsPlugin(),
    hopsToReplication(),
  ]
}
