/**
 * The object `friends.help()` returns: the same shape as ssb-friends 4.1.4's help (a
 * description and, per command, its type, a description and its arguments), for the CLI.
 */

const sourceDest = {
  source: { type: 'FeedId', description: 'the author of the contact message' },
  dest: { type: 'FeedId', description: 'the feed the contact message is about' },
}

const hopsOpts = {
  start: {
    type: 'FeedId',
    description: 'the feed to count hops from (default: our own feed)',
  },
  max: {
    type: 'number',
    description: 'only feeds at most this many hops away (default: friends.hops)',
  },
}

const streamOpts = {
  ...hopsOpts,
  live: { type: 'boolean', description: 'keep the stream open for changes (default false)' },
  old: { type: 'boolean', description: 'start with the current state (default true)' },
}

/** Help of the `friends` plugin. */
export const friendsHelp = {
  description: 'the follow graph: who follows and who blocks whom, and how far feeds are from us',
  commands: {
    isFollowing: {
      type: 'async',
      description: 'whether one feed follows another',
      args: sourceDest,
    },
    isBlocking: {
      type: 'async',
      description: 'whether one feed blocks another',
      args: sourceDest,
    },
    hops: {
      type: 'async',
      description: 'every known feed with its hop distance from start (negative when blocked)',
      args: hopsOpts,
    },
    hopStream: {
      type: 'source',
      description:
        'the hops map, then the changes to it as {<FeedId>: <hops>} objects; applying them in order gives the output of hops',
      args: streamOpts,
    },
    get: {
      type: 'async',
      description:
        'the stored follow graph: true for a follow, false for a block, null for an unfollow',
      args: {},
    },
    stream: {
      type: 'source',
      description:
        'the output of get, then each new edge as {from: <FeedId>, to: <FeedId>, value: true|false|null}',
      args: streamOpts,
    },
    createFriendStream: {
      type: 'source',
      description: 'the feeds within hops as ids, or {id, hops} with meta, then the changes',
      args: streamOpts,
    },
  },
} as const
