/**
 * The `help` object of the core methods, in the shape muxrpc-usage and the CLI read:
 * `{description, commands: {name: {type, description, args}}}`.
 */

/** One argument of a command. */
export interface HelpArg {
  type: string
  description?: string
  optional?: boolean
  default?: unknown
}

/** One command. */
export interface HelpCommand {
  type: string
  description: string
  args?: Record<string, HelpArg>
}

/** A plugin's help. */
export interface Help {
  description: string
  commands: Record<string, HelpCommand>
}

const range = (what: string): Record<string, HelpArg> => ({
  gt: { type: what, description: `only results greater than this ${what}`, optional: true },
  gte: {
    type: what,
    description: `only results greater than or equal to this ${what}`,
    optional: true,
  },
  lt: { type: what, description: `only results less than this ${what}`, optional: true },
  lte: {
    type: what,
    description: `only results less than or equal to this ${what}`,
    optional: true,
  },
  reverse: { type: 'boolean', description: 'newest first', optional: true },
  limit: { type: 'number', description: 'at most this many results', optional: true },
  live: { type: 'boolean', description: 'keep the stream open for new messages', optional: true },
  old: { type: 'boolean', description: 'include stored messages (default true)', optional: true },
})

const shape: Record<string, HelpArg> = {
  keys: { type: 'boolean', description: 'include message ids (default true)', optional: true },
  values: { type: 'boolean', description: 'include message values (default true)', optional: true },
}

const priv: HelpArg = {
  type: 'boolean',
  description: 'decrypt private messages addressed to us',
  optional: true,
}

const feedId: HelpArg = { type: 'FeedId', description: 'a feed id: @<base64>.ed25519' }

/** Help of the core methods. */
export const dbHelp: Help = {
  description: 'the log of messages and its indexes: publish, read and stream',
  commands: {
    createLogStream: {
      type: 'source',
      description: 'every stored message, in the order it was received',
      args: { ...range('timestamp'), ...shape, private: priv },
    },
    get: {
      type: 'async',
      description: 'one stored message, by id',
      args: {
        id: { type: 'MsgId', description: 'a message id: %<base64>.sha256' },
        private: priv,
        meta: { type: 'boolean', description: 'return {key, value, timestamp}', optional: true },
      },
    },
    publish: {
      type: 'async',
      description: 'sign and append a message to our feed; `recps` makes it private',
      args: {
        type: { type: 'string', description: 'the content type, 3 to 52 characters' },
        recps: { type: 'FeedId[]', description: 'up to 7 recipients', optional: true },
      },
    },
    add: {
      type: 'async',
      description: 'validate and store a message of another feed',
      args: { msg: { type: 'Message', description: 'a signed message value' } },
    },
    createHistoryStream: {
      type: 'source',
      description: 'one feed in sequence order, as peers replicate it',
      args: {
        id: feedId,
        seq: { type: 'number', description: 'first sequence (inclusive)', optional: true },
        live: range('').live!,
        limit: range('').limit!,
        ...shape,
      },
    },
    createUserStream: {
      type: 'source',
      description: 'one feed, with ranges on the sequence',
      args: { id: feedId, ...range('sequence'), ...shape, private: priv },
    },
    createFeedStream: {
      type: 'source',
      description: 'every stored message, ordered by the time its author claims',
      args: { ...range('timestamp'), ...shape },
    },
    messagesByType: {
      type: 'source',
      description: 'messages of one content type',
      args: {
        type: { type: 'string', description: 'the content type' },
        ...range('timestamp'),
        ...shape,
        private: priv,
      },
    },
    links: {
      type: 'source',
      description: 'links between messages, feeds and blobs',
      args: {
        source: { type: 'id|filter', description: 'linking id, or @ % &', optional: true },
        dest: { type: 'id|filter', description: 'linked id, or @ % &', optional: true },
        rel: { type: 'string', description: 'the link name, e.g. mentions', optional: true },
        meta: { type: 'boolean', description: 'include rel (default true)', optional: true },
        ...shape,
      },
    },
    latest: { type: 'source', description: '{id, sequence, ts} of every stored feed' },
    latestSequence: {
      type: 'async',
      description: "the sequence of a feed's latest stored message",
      args: { id: feedId },
    },
    getLatest: {
      type: 'async',
      description: "a feed's latest stored message",
      args: { id: feedId },
    },
    getVectorClock: { type: 'async', description: '{feedId: sequence} of every stored feed' },
    del: {
      type: 'async',
      description: 'delete a message or a whole feed, on this device only',
      args: { id: { type: 'MsgId|FeedId', description: 'what to delete' } },
    },
    status: { type: 'sync', description: 'indexes, connections and plugins at a glance' },
    progress: { type: 'sync', description: 'how far indexing and replication have come' },
    version: { type: 'sync', description: 'the version of this server' },
    whoami: { type: 'sync', description: 'our feed id' },
    rebuild: { type: 'async', description: 'rebuild every index from the log' },
  },
}
