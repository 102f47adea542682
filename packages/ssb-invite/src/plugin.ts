/**
 * The `invite` plugin: a pub hands out codes (`invite.create`), a guest holding a code asks the
 * pub to follow it (`invite.use`), and a client redeems a code end to end (`invite.accept`).
 * The flow and the error texts are ssb-invite 2.1.8's (`ssb-protocol.md` §1.6, §8.4;
 * `reference-features.md` §1.8, §5.3).
 */
import { randomBytes } from 'node:crypto'
import { generateKeys, type Keys } from '@scuttlekit/ssb-keys'
import {
  type FeedId,
  InvalidFeedIdError,
  InvalidInviteError,
  type InviteCode,
  isFeedId,
  isHost,
  parseInviteCode,
  parseShsAddress,
  type ShsAddress,
  safeString,
  stringifyInviteCode,
} from '@scuttlekit/ssb-ref'
import { connect, type Permissions, type RpcSession } from '@scuttlekit/ssb-rpc'
import { appKeyOf, type Plugin, type PluginContext } from '@scuttlekit/ssb-server'
import {
  AlreadyFollowingError,
  FeedToFollowMissingError,
  InvalidInviteOptionsError,
  InviteConnectError,
  InviteExpiredError,
  InviteNotAcceptedError,
  NoInviteAddressError,
  PrivateInviteHostError,
  UnknownInviteError,
  UnsupportedInviteTransportError,
} from './errors.js'
import { type InviteRecord, InviteStore } from './store.js'

/** What a guest connecting with an invite key may call (as ssb-invite grants). */
export const INVITE_PERMISSIONS: Permissions = Object.freeze({
  allow: ['invite.use', 'getAddress'],
  deny: null,
})

/** Options of `invite.create` (a bare number means `{uses}`). */
export interface CreateInviteOptions {
  /** how many guests may use the code (default 1; `modern` codes are always single use) */
  uses?: number
  /** published in the pub's contact message for the guest */
  note?: string
  /** the host to put in the code instead of the one we listen on */
  external?: string
  /** a multiserver code `net:host:port~shs:<key>:<seed>` instead of the legacy form */
  modern?: boolean
}

/** Options of {@link invitePlugin}. */
export interface InvitePluginOptions {
  /** attempts to reach the pub in `invite.accept` (default 3, as the reference) */
  attempts?: number
  /** base delay between attempts in ms (default 500, as the reference) */
  retryDelayMs?: number
}

/** The in-process API (`server.plugin('invite')`), the same operations as the RPC methods. */
export interface InviteApi {
  create(options?: number | CreateInviteOptions): Promise<string>
  accept(code: string | { invite: string }): Promise<unknown[]>
}

interface FriendsLike {
  isFollowing?(source: FeedId, dest: FeedId): boolean
}

interface GossipLike {
  add?(address: string, source?: string): unknown
}

/**
 * Whether a host is one nobody outside this machine or network could dial: loopback, RFC 1918,
 * link-local, IPv6 unique-local / link-local, `localhost` or empty (what the `ip` package's
 * `isPrivate` plus ssb-invite's checks refuse). Host names other than `localhost` are public:
 * the reference throws `invalid ipv4 address` on them (`reference-features.md` §5.13.2).
 */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === '' || h === 'localhost') return true
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h)
  if (v4) {
    const a = Number(v4[1])
    const b = Number(v4[2])
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254)
    )
  }
  if (h.includes(':')) {
    return h === '::' || h === '::1' || /^f[cd]/.test(h) || /^fe[89ab]/.test(h)
  }
  return false
}

function normalizeCreateOptions(arg: unknown): CreateInviteOptions {
  if (arg === undefined || arg === null) return {}
  if (typeof arg === 'number') return { uses: arg }
  if (typeof arg !== 'object' || Array.isArray(arg)) {
    throw new InvalidInviteOptionsError('invite.create takes a number of uses or an options object')
  }
  const o = arg as Record<string, unknown>
  const out: CreateInviteOptions = {}
  if (o.uses !== undefined) {
    let uses = Number.NaN
    try {
      uses = Number(o.uses)
    } catch {
      // a JSON object whose `toString` is not a function: not a number
    }
    if (Number.isNaN(uses) || uses < 0 || !Number.isInteger(uses)) {
      throw new InvalidInviteOptionsError(`uses must be a whole number, got ${safeString(o.uses)}`)
    }
    out.uses = uses
  }
  if (o.note !== undefined && o.note !== null) {
    if (typeof o.note !== 'string') throw new InvalidInviteOptionsError('note must be a string')
    out.note = o.note
  }
  if (o.external !== undefined && o.external !== null && o.external !== '') {
    if (!isHost(o.external)) throw new InvalidInviteOptionsError('external must be a host')
    out.external = o.external
  }
  if (o.modern) out.modern = true
  return out
}

/** The first shs address (net transport) in a `;`-joined multiserver address, if any. */
function firstNetAddress(multi: string | null): ShsAddress | undefined {
  if (!multi) return undefined
  for (const part of multi.split(';')) {
    try {
      const a = parseShsAddress(part)
      if (a.transport === 'net') return a
    } catch {
      // not an shs route (unix socket, ws…)
    }
  }
  return undefined
}

/** A code as `invite.accept` takes it: a string or `{invite}`, quotes around it dropped. */
function codeOf(arg: unknown): string {
  let code = arg
  if (typeof code === 'object' && code !== null) code = (code as { invite?: unknown }).invite
  if (typeof code !== 'string') throw new InvalidInviteError(arg, 'not a string')
  code = code.trim()
  const s = code as string
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

class Invites {
  constructor(
    private readonly ctx: PluginContext,
    private readonly store: InviteStore,
    private readonly options: InvitePluginOptions,
  ) {}

  authorize(remoteId: FeedId): Permissions | undefined {
    const record = this.store.get(remoteId)
    // a spent code is anonymous, so `invite.use` is refused as not allowed (as the reference)
    if (!record || record.used >= record.total) return undefined
    return record.permissions
  }

  private inviteAddress(): ShsAddress | undefined {
    const { server, config } = this.ctx
    if (config.allowPrivate) {
      return (
        firstNetAddress(server.address('public')) ??
        firstNetAddress(server.address('local')) ??
        firstNetAddress(server.address('private')) ??
        firstNetAddress(server.address('device'))
      )
    }
    return firstNetAddress(server.address('public'))
  }

  async create(arg: unknown): Promise<string> {
    const opts = normalizeCreateOptions(arg)
    const address = this.inviteAddress()
    if (!address) throw new NoInviteAddressError()
    const host = opts.external ?? address.host
    if (!this.ctx.config.allowPrivate && isPrivateHost(host)) {
      throw new PrivateInviteHostError(host)
    }
    const seed = randomBytes(32)
    const keyCap = generateKeys(seed)
    const record: InviteRecord = {
      id: keyCap.id,
      // the reference makes every modern code single use
      total: opts.modern ? 1 : opts.uses || 1,
      used: 0,
      permissions: { allow: [...(INVITE_PERMISSIONS.allow ?? [])], deny: null },
    }
    if (opts.note !== undefined) record.note = opts.note
    await this.store.put(record)
    const code: InviteCode = {
      form: opts.modern ? 'multiserver' : 'legacy',
      address: { transport: 'net', host, port: address.port, key: address.key },
      seed: seed.toString('base64'),
    }
    this.ctx.logger.info({ invite: keyCap.id, total: record.total }, 'invite created')
    return stringifyInviteCode(code)
  }

  async use(arg: unknown, remoteId: FeedId): Promise<unknown> {
    const record = this.store.get(remoteId)
    if (!record) throw new UnknownInviteError(remoteId)
    const feed =
      typeof arg === 'object' && arg !== null ? (arg as { feed?: unknown }).feed : undefined
    // checked in the reference's order; nothing below awaits before `used` is counted, so two
    // guests racing for the last use cannot both win
    const friends = this.ctx.server.plugin<FriendsLike>('friends')
    if (
      typeof feed === 'string' &&
      typeof friends?.isFollowing === 'function' &&
      friends.isFollowing(this.ctx.id, feed as FeedId)
    ) {
      throw new AlreadyFollowingError(feed)
    }
    if (feed === undefined || feed === null || feed === '') throw new FeedToFollowMissingError()
    if (!isFeedId(feed)) throw new InvalidFeedIdError(feed)
    if (record.used >= record.total) throw new InviteExpiredError()
    record.used++
    if (record.used >= record.total) record.permissions = { allow: [], deny: null }
    await this.store.put(record)
    this.ctx.logger.info({ invite: remoteId, feed }, 'invite used')
    const content: Record<string, unknown> = {
      type: 'contact',
      contact: feed,
      following: true,
      pub: true,
    }
    if (record.note) content.note = record.note
    return this.ctx.db.publish(content)
  }

  private async dial(address: ShsAddress, keys: Keys): Promise<RpcSession> {
    const attempts = this.options.attempts ?? 3
    const base = this.options.retryDelayMs ?? 500
    const { config } = this.ctx
    const handshakeTimeoutMs =
      typeof config.timeout === 'number' && config.timeout > 0
        ? config.timeout
        : (config.timers?.handshake ?? 5000)
    let last: unknown
    for (let n = 1; n <= attempts; n++) {
      const start = Date.now()
      try {
        return await connect(
          { host: address.host, port: address.port, key: address.key },
          { keys, appKey: appKeyOf(config), handshakeTimeoutMs },
        )
      } catch (error) {
        last = error
        if (n < attempts) await delay(base + (Date.now() - start) * n)
      }
    }
    throw new InviteConnectError(last)
  }

  async accept(arg: unknown): Promise<unknown[]> {
    const invite = parseInviteCode(codeOf(arg))
    const { address } = invite
    if (address.transport !== 'net') throw new UnsupportedInviteTransportError(address.transport)
    const seedKeys = generateKeys(Buffer.from(invite.seed, 'base64'))
    const session = await this.dial(address, seedKeys)
    try {
      await session.request(['invite', 'use'], [{ feed: this.ctx.id }])
    } catch (error) {
      throw new InviteNotAcceptedError(error)
    } finally {
      await session.close()
    }
    const { db } = this.ctx
    const contact = await db.publish({
      type: 'contact',
      following: true,
      autofollow: true,
      contact: address.key,
    })
    const pub = await db.publish({
      type: 'pub',
      address: { host: address.host, port: address.port, key: address.key },
    })
    const gossip = this.ctx.server.plugin<GossipLike>('gossip')
    if (typeof gossip?.add === 'function') {
      try {
        gossip.add(`net:${address.host}:${address.port}~shs:${address.key.slice(1, -8)}`, 'seed')
      } catch (error) {
        this.ctx.logger.warn({ err: error }, 'could not add the pub to gossip')
      }
    }
    return [contact, pub]
  }
}

/**
 * Creates the `invite` plugin. Its `authorize` hook gives a connection whose key is an invite
 * with uses left the rights to call `invite.use` (and `getAddress`); the server asks plugins in
 * order and the first opinion wins, so a plugin listed before this one that has an opinion about
 * the throw-away invite key would take precedence. `create` and `accept` are master only.
 */
export function invitePlugin(options: InvitePluginOptions = {}): Plugin {
  return {
    name: 'invite',
    async init(ctx) {
      const store = await InviteStore.open(ctx.config.path)
      const invites = new Invites(ctx, store, options)
      const api: InviteApi = {
        create: (opts) => invites.create(opts),
        accept: (code) => invites.accept(code),
      }
      return {
        api,
        authorize: (remoteId) => invites.authorize(remoteId),
        methods: {
          create: { type: 'async', fn: (args) => invites.create(args[0]) },
          use: { type: 'async', fn: (args, call) => invites.use(args[0], call.session.remoteId) },
          accept: { type: 'async', fn: (args) => invites.accept(args[0]) },
        },
        close: () => store.settled(),
      }
    },
  }
}
