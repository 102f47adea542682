/**
 * @packageDocumentation
 * The follow graph of Secure Scuttlebutt, as npm ssb-friends 4.1.4 keeps it: edges from
 * `contact` messages (follow, unfollow, block, flag), signed hop distances from our own feed
 * (`friends.hops`, 2 by default), the `friends.*` methods clients call, and blocking enforced at
 * the handshake and in `createHistoryStream` (`ssb-protocol.md` §7.1, §8.2;
 * `reference-features.md` §1.6, §5.5).
 *
 * ```ts
 * import { type FriendsApi, friendsPlugin } from '@scuttlekit/ssb-friends'
 * import { startServer } from '@scuttlekit/ssb-server'
 *
 * const server = await startServer({ config, plugins: [friendsPlugin()] })
 * await server.call('publish', [{ type: 'contact', contact: bob, following: true }])
 * console.log(await server.call('friends.hops', [])) // { [server.id]: 0, [bob]: 1 }
 * const friends = server.plugin<FriendsApi>('friends')!
 * friends.onHopsChange((changes) => {
 *   for (const { feed, hops } of changes) replicate(feed, hops !== null && hops >= 0)
 * })
 * ```
 */
export { FriendsOptionsError, InProcessOnlyError } from './errors.js'
export {
  BLOCK,
  type ContactEdge,
  contactEdge,
  contactWeight,
  type EdgeWeight,
  FOLLOW,
  FollowGraph,
  type HopChange,
  hopsQuery,
  traverse,
  UNFOLLOW,
} from './graph.js'
export { friendsHelp } from './help.js'
export {
  type LegacyEdge,
  type LegacyGraph,
  type LegacyValue,
  legacyGet,
  legacyGraph,
  toLegacyValue,
} from './legacy.js'
export { type FriendsApi, type FriendsOptions, friendsPlugin } from './plugin.js'
