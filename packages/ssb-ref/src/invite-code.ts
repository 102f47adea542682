/**
 * Typed invite codes (`ssb-protocol.md` §1.6, §8.4). A pub hands out either
 *
 * - the legacy form `<host>:<port>:@<pub key>.ed25519~<seed>`, or
 * - the multiserver form `net:<host>:<port>~shs:<pub key>:<seed>` (ssb-invite's `modern` codes
 *   use `ws://...` instead of `net:`),
 *
 * each optionally followed by `#<redirect>`. The seed is the 32-byte seed of a throw-away key
 * pair the invitee uses as its shs identity while redeeming the code.
 */
import { InvalidAddressError, InvalidInviteError } from './errors.js'
import {
  isInviteSeed,
  parseLegacyAddress,
  parseShsAddress,
  type ShsAddress,
  stringifyLegacyAddress,
  stringifyShsAddress,
} from './shs-address.js'

/** The two ways an invite code is written. */
export type InviteCodeForm = 'legacy' | 'multiserver'

/** A parsed invite code. */
export interface InviteCode {
  /** Which form the code was written in; {@link stringifyInviteCode} uses it by default. */
  form: InviteCodeForm
  /** Where the pub is and its key (no seed). */
  address: ShsAddress
  /** Base64 of the 32-byte seed of the invite key pair. */
  seed: string
  /** The text after the first `#`, if the code had one. */
  redirect?: string
}

function fail(code: string, error: unknown): never {
  const reason = error instanceof InvalidAddressError ? error.message : String(error)
  throw new InvalidInviteError(code, reason, { cause: error })
}

/**
 * Parses either form of invite code. A legacy code needs exactly one `~` before the seed; a
 * multiserver code must be a single shs route that carries a seed (a plain address is not an
 * invite, although ssb-ref's `isMultiServerInvite` says it is). Throws
 * {@link InvalidInviteError} (with the address error as `cause`) for anything else.
 */
export function parseInviteCode(code: string): InviteCode {
  if (typeof code !== 'string') throw new InvalidInviteError(code, 'not a string')
  const hash = code.indexOf('#')
  const head = hash === -1 ? code : code.slice(0, hash)
  const redirect = hash === -1 ? undefined : code.slice(hash + 1)

  let invite: InviteCode
  // A multiserver code has a transform after `~`; a legacy one has the seed there and no `:`.
  const tilde = head.lastIndexOf('~')
  const tail = tilde === -1 ? '' : head.slice(tilde + 1)
  if (tail.startsWith('shs:')) {
    let address: ShsAddress
    try {
      address = parseShsAddress(head)
    } catch (error) {
      fail(code, error)
    }
    const { seed, ...pub } = address
    if (seed === undefined) throw new InvalidInviteError(code, 'no seed')
    invite = { form: 'multiserver', address: pub, seed }
  } else {
    const parts = head.split('~')
    if (parts.length !== 2) throw new InvalidInviteError(code, 'expected <address>~<seed>')
    const seed = parts[1]!
    if (!isInviteSeed(seed)) throw new InvalidInviteError(code, 'seed is not 32 bytes of base64')
    let address: ShsAddress
    try {
      address = parseLegacyAddress(parts[0]!)
    } catch (error) {
      fail(code, error)
    }
    invite = { form: 'legacy', address, seed }
  }
  if (redirect !== undefined) invite.redirect = redirect
  return invite
}

/**
 * Writes an invite code in `form` (by default the form it was parsed from). Converting a legacy
 * code to the multiserver form gives what ssb-invite dials: `net:` (or `onion:` for `.onion`
 * hosts, `ws://` for ws ones) `<host>:<port>~shs:<key>:<seed>`. Throws
 * {@link InvalidInviteError} for a bad field.
 */
export function stringifyInviteCode(
  invite: InviteCode,
  form: InviteCodeForm = invite.form,
): string {
  const redirect = invite.redirect === undefined ? '' : `#${invite.redirect}`
  if (!isInviteSeed(invite.seed)) throw new InvalidInviteError(invite, 'bad seed')
  try {
    if (form === 'legacy') {
      return `${stringifyLegacyAddress(invite.address)}~${invite.seed}${redirect}`
    }
    return `${stringifyShsAddress({ ...invite.address, seed: invite.seed })}${redirect}`
  } catch (error) {
    throw new InvalidInviteError(invite, 'bad address', { cause: error })
  }
}
