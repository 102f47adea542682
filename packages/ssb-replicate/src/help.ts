/** `replicate.help`: the usage the CLI prints for the replicate methods. */

import type { Help } from '@scuttlekit/ssb-server'

/** The help object of the replicate plugin (the commands and arguments of ssb-replicate 1.3.5). */
export const REPLICATE_HELP: Help = {
  description: 'legacy replication over createHistoryStream',
  commands: {
    request: {
      type: 'sync',
      description: 'start or stop replicating a feed',
      args: {
        id: { type: 'FeedId', description: 'the feed' },
        replicate: {
          type: 'boolean',
          description: 'false stops replicating it (our own feed is always replicated)',
          optional: true,
          default: true,
        },
      },
    },
    block: {
      type: 'sync',
      description: 'record that one feed blocks another, or no longer does',
      args: {
        from: { type: 'FeedId', description: 'the feed that blocks' },
        to: { type: 'FeedId', description: 'the feed that is blocked' },
        blocking: {
          type: 'boolean',
          description: 'true blocks, false (the default) unblocks',
          optional: true,
        },
      },
    },
    upto: {
      type: 'source',
      description: 'the sequence we hold of every requested feed: {id, sequence}',
      args: {
        live: {
          type: 'boolean',
          description: 'then {sync: true}, then every feed requested (or dropped: sequence -1)',
          optional: true,
        },
      },
    },
    changes: {
      type: 'source',
      description: 'replication progress objects as they change (polling progress is cheaper)',
      args: {},
    },
  },
}
