/**
 * Drop-in versions of npm `ssb-ref` 2.16's invite-code functions (`ssb-protocol.md` §1.6, §8.4),
 * with the reference's results and return conventions. New code should prefer
 * {@link parseInviteCode} from `invite-code.ts`, which checks the seed and throws typed errors.
 */
import {
  isAddress,
  type LegacyAddress,
  toAddress,
  toLegacyAddress,
  toMultiServerAddress,
} from './compat-address.js'
import { InvalidInviteError } from './errors.js'
import type { FeedId } from './ids.js'

/** What ssb-ref's invite parsers return. */
export interface ParsedInvite {
  /** The code in multiserver form, without the redirect: `<remote>:<seed>`. */
  invite: string
  /** The pub's multiserver address without the seed. */
  remote: string
  /** The pub's feed id. */
  key: FeedId
  /** `#` and everything after the first `#`, or `null` when there is none. */
  redirect: string | null
}

// 43 base64 characters and `=`: 32 bytes, padding bits not checked.
const legacySeedPattern = /^[A-Za-z0-9/+]{43}=$/

function splitRedirect(code: string): [string, string | null] {
  const [first, ...rest] = code.split('#')
  return [first!, rest.length > 0 ? `#${rest.join('#')}` : null]
}

/**
 * `ssb-ref.isLegacyInvite`: after removing a `#...` tail, exactly one `~` separating an address
 * {@link isAddress} accepts from 43 base64 characters and `=` (the seed).
 */
export function isLegacyInvite(code: unknown): code is string {
  if (typeof code !== 'string') return false
  const parts = code.replace(/#.*$/, '').split('~')
  return parts.length === 2 && isAddress(parts[0]) && legacySeedPattern.test(parts[1]!)
}

/**
 * `ssb-ref.isMultiServerInvite`: {@link parseMultiServerInvite} succeeds. Quirk kept: that does
 * not require a seed, so a plain `net:host:port~shs:<key>` address counts as an invite.
 */
export function isMultiServerInvite(code: unknown): code is string {
  return typeof code === 'string' && parseMultiServerInvite(code) !== null
}

/** `ssb-ref.isInvite`: a legacy or a multiserver invite code. */
export function isInvite(code: unknown): code is string {
  return typeof code === 'string' && (isLegacyInvite(code) || isMultiServerInvite(code))
}

/**
 * `ssb-ref.parseLegacyInvite`: converts `host:port:@key.ed25519~seed#redirect` into the
 * multiserver form (`onion:` for `.onion` hosts). Like the reference it does not check its input
 * first: the address is split without validation (port 8008 when empty, zero or not a number;
 * host `localhost` when empty) and a bad port, host or key throws; here the error is an
 * {@link InvalidInviteError}. A missing seed becomes the text `undefined`, as in the reference.
 */
export function parseLegacyInvite(code: string): ParsedInvite {
  const [head, redirect] = splitRedirect(code)
  const parts = head.split('~')
  const address = toAddress(parts[0]!) as unknown as LegacyAddress
  let remote: string
  try {
    remote = toMultiServerAddress(address)
  } catch (error) {
    throw new InvalidInviteError(code, 'bad legacy address', { cause: error })
  }
  return { invite: `${remote}:${parts[1]}`, key: address.key, remote, redirect }
}

/**
 * `ssb-ref.parseMultiServerInvite`: the address before the first `#` through
 * `toLegacyAddress`; `null` when that fails. `invite` is that address as given (seed included),
 * `remote` the rebuilt `net:`/`ws:`/`onion:` address of the pub without the seed (its port
 * normalised by `+`, so `0x1f40` becomes `8000`). Like the reference it calls `code.split`, so
 * a value without that method throws a `TypeError`.
 */
export function parseMultiServerInvite(code: string): ParsedInvite | null {
  const [head, redirect] = splitRedirect(code)
  const address = toLegacyAddress(head)
  if (!address) return null
  const { host, port, key } = address
  return { invite: head, remote: toMultiServerAddress({ host, port, key }), key, redirect }
}

/**
 * `ssb-ref.parseInvite`: {@link parseLegacyInvite} for a legacy code,
 * {@link parseMultiServerInvite} for a multiserver one, `null` otherwise.
 */
export function parseInvite(code: unknown): ParsedInvite | null {
  if (isLegacyInvite(code)) return parseLegacyInvite(code)
  if (isMultiServerInvite(code)) return parseMultiServerInvite(code)
  return null
}
