/**
 * @packageDocumentation
 * Pub invites for Scuttlekit servers: `invite.create`, `invite.use` and `invite.accept`,
 * compatible with ssb-invite 2.1.8 in both roles (`ssb-protocol.md` §1.6, §8.4).
 */
export * from './errors.js'
export {
  type CreateInviteOptions,
  INVITE_PERMISSIONS,
  type InviteApi,
  type InvitePluginOptions,
  invitePlugin,
  isPrivateHost,
} from './plugin.js'
export { type InviteRecord, InviteStore } from './store.js'
