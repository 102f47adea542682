/**
 * The core methods of ssb-server 16, mounted at the top level of the manifest with ssb-db 20's
 * names, types and argument checks (`reference-features.md` §1.2), served from
 * `@scuttlekit/ssb-db`.
 */

import type { SsbDb } from '@scuttlekit/ssb-db'
import type { FeedId } from '@scuttlekit/ssb-ref'
import type { IncomingCall } from '@scuttlekit/ssb-rpc'
import { UsageError } from '../errors.js'
import type { Plugin, PluginInstance } from '../plugin.js'
import { validateArgs } from '../validators.js'
import { VERSION } from '../version.js'
import { dbHelp } from './help.js'

/** What the db plugin needs from the server that composes it. */
export interface StatusSources {
  /** `status()` of the whole server: the db's part and each plugin's, keyed by plugin name. */
  status(): Record<string, unknown>
  /** `progress()` of the whole server. */
  progress(): Record<string, unknown>
  /**
   * How `feed` is served to the caller of createHistoryStream: `all` (full rights: unchecked),
   * `none` (the requester is blocked: an empty stream) or `checked` (a peer: the stream stops
   * at the author's block of the requester while that block holds). Default `all`.
   */
  historyPolicy?(feed: FeedId, call: IncomingCall): 'all' | 'none' | 'checked'
  /** Whether `feed` may still be served to `requester` (asked when a block message comes by). */
  historyAllowedNow?(feed: FeedId, requester: FeedId): boolean
}

async function* empty(): AsyncGenerator<never> {}

/** Whether a stream item (a record or a bare value) is `feed`'s block or flag of `requester`. */
function isBlockOf(item: unknown, feed: FeedId, requester: FeedId): boolean {
  if (typeof item !== 'object' || item === null) return false
  const kvt = item as { key?: unknown; value?: unknown }
  const value = (typeof kvt.key === 'string' && kvt.value ? kvt.value : item) as {
    author?: unknown
    content?: unknown
  }
  const c = value.content as Record<string, unknown> | null | undefined
  return (
    typeof c === 'object' &&
    c !== null &&
    c.type === 'contact' &&
    c.contact === requester &&
    Boolean(c.blocking || c.flagged) &&
    value.author === feed
  )
}

/**
 * Ends a history stream served to a peer just before the author's message that blocks (or flags)
 * that peer, as ssb-replicate does (`ssb-protocol.md` §7.1), but only while the block holds. The
 * reference stops at any such message, even one the author has since taken back, so a peer
 * once blocked can never again replicate past it from that server; here an old, revoked block
 * is served like any other message.
 */
async function* untilBlocked(
  source: AsyncIterable<unknown>,
  feed: FeedId,
  requester: FeedId,
  allowedNow: (feed: FeedId, requester: FeedId) => boolean,
): AsyncGenerator<unknown> {
  for await (const item of source) {
    if (isBlockOf(item, feed, requester) && !allowedNow(feed, requester)) return
    yield item
  }
}

function opts(args: readonly unknown[]): Record<string, unknown> {
  const o = args[0]
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : {}
}

/**
 * The db plugin. `sources` supplies the status and progress of the other plugins (gossip, ebt, …)
 * so that `status()` and `progress()` answer for the whole server, as the reference's hooks do.
 */
export function dbPlugin(sources: StatusSources): Plugin {
  return {
    name: '',
    anonymous: ['createHistoryStream'],
    init({ db }): PluginInstance {
      return { methods: dbMethods(db, sources) }
    },
  }
}

function dbMethods(db: SsbDb, sources: StatusSources) {
  return {
    whoami: { type: 'sync', fn: () => ({ id: db.id }) },
    version: { type: 'sync', fn: () => VERSION },
    help: { type: 'sync', fn: () => dbHelp },
    publish: {
      type: 'async',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['string|msgContent'])
        return db.publish(args[0])
      },
    },
    add: {
      type: 'async',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['msg'])
        return db.add(args[0])
      },
    },
    get: {
      type: 'async',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['msgLink|number|object'])
        const arg = args[0]
        if (typeof arg === 'number') {
          // the flumelog byte offset of the reference's log means nothing in ours
          throw new UsageError('get by log offset is not supported: use a message id')
        }
        return db.get(arg as Parameters<SsbDb['get']>[0])
      },
    },
    del: {
      type: 'async',
      fn: async (args: readonly unknown[]) => {
        validateArgs(args, ['msgLink|feedId'])
        await db.del(args[0] as string)
      },
    },
    getLatest: {
      type: 'async',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['feedId'])
        return db.getLatest(args[0] as string)
      },
    },
    latestSequence: {
      type: 'async',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['feedId'])
        return db.latestSequence(args[0] as string)
      },
    },
    getFeedState: {
      type: 'async',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['feedId'])
        return db.getFeedState(args[0] as string)
      },
    },
    getVectorClock: { type: 'async', fn: () => db.getVectorClock() },
    latest: { type: 'source', fn: () => db.latest() },
    createLogStream: {
      type: 'source',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['readStreamOpts?'])
        return db.createLogStream(opts(args))
      },
    },
    createFeedStream: {
      type: 'source',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['readStreamOpts?'])
        return db.createFeedStream(opts(args))
      },
    },
    createHistoryStream: {
      type: 'source',
      fn: (args: readonly unknown[], call: IncomingCall) => {
        validateArgs(args, ['createHistoryStreamOpts'], ['feedId', 'number?', 'boolean?'])
        const [a, seq, live] = args
        const feed = (typeof a === 'string' ? a : (a as { id: string }).id) as FeedId
        // a blocked requester gets an empty stream (ssb-replicate's rule, ssb-protocol.md §7.1)
        const policy = sources.historyPolicy?.(feed, call) ?? 'all'
        if (policy === 'none') return empty()
        const stream =
          typeof a === 'string'
            ? db.createHistoryStream(a, seq as number | undefined, live as boolean | undefined)
            : db.createHistoryStream(a as Parameters<SsbDb['createHistoryStream']>[0])
        if (policy === 'all') return stream
        const allowedNow = sources.historyAllowedNow ?? (() => false)
        return untilBlocked(stream, feed, call.session.remoteId, allowedNow)
      },
    },
    createUserStream: {
      type: 'source',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['createUserStreamOpts'])
        return db.createUserStream(opts(args))
      },
    },
    messagesByType: {
      type: 'source',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['string|messagesByTypeOpts'])
        const a = args[0]
        return db.messagesByType(typeof a === 'string' ? a : opts(args))
      },
    },
    links: {
      type: 'source',
      fn: (args: readonly unknown[]) => {
        validateArgs(args, ['linksOpts'])
        return db.links(opts(args))
      },
    },
    progress: { type: 'sync', fn: () => sources.progress() },
    status: { type: 'sync', fn: () => sources.status() },
    rebuild: {
      type: 'async',
      fn: async () => {
        await db.rebuild()
      },
    },
  } as const
}
