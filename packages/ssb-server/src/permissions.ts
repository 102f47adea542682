/**
 * Method permissions with muxrpc's semantics (`ssb-protocol.md` §4.7): `allow` and `deny` are
 * lists of dotted method paths, and a listed path covers everything below it (`blobs` covers
 * `blobs.has`). A connection's rights come from the server's authorize step: everything for the
 * server's own key, `config.master` keys and the unix socket; the anonymous list for other peers.
 */

import type { Permissions, RpcSessionInfo } from '@scuttlekit/ssb-rpc'
import { PermissionDeniedError } from './errors.js'

/** Full rights: nothing is denied. */
export const FULL_RIGHTS: Permissions = Object.freeze({ allow: null, deny: null })

interface Trie {
  [segment: string]: Trie | true
}

function toTrie(paths: readonly string[]): Trie {
  const root: Trie = Object.create(null)
  for (const path of paths) {
    const parts = path.split('.')
    let node = root
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      if (i === parts.length - 1) node[part] = true
      else {
        const next = node[part]
        if (next === true) break // a shorter path already covers this one
        node = node[part] = next ?? Object.create(null)
      }
    }
  }
  return root
}

/** Whether a path, or one of its prefixes, is listed. */
function covers(trie: Trie, name: readonly string[]): boolean {
  let node: Trie | true | undefined = trie
  for (const part of name) {
    if (node === true) return true
    node = Object.hasOwn(node, part) ? node[part] : undefined
    if (node === undefined) return false
  }
  return node === true
}

/** Compiled permissions: fast checks on the request path. */
export class PermissionSet {
  private readonly allow: Trie | null
  private readonly deny: Trie | null

  constructor(readonly permissions: Permissions) {
    this.allow = permissions.allow ? toTrie(permissions.allow) : null
    this.deny = permissions.deny ? toTrie(permissions.deny) : null
  }

  /**
   * Throws {@link PermissionDeniedError} with the reference's message when `name` may not be
   * called (`method:blobs,size is not in list of allowed methods`).
   */
  check(name: readonly string[]): void {
    if (this.allow && !covers(this.allow, name)) {
      throw new PermissionDeniedError(`method:${name.join(',')} is not in list of allowed methods`)
    }
    if (this.deny && covers(this.deny, name)) {
      throw new PermissionDeniedError(`method:${name.join(',')} is on list of disallowed methods`)
    }
  }

  /** Whether `name` may be called. */
  allows(name: readonly string[]): boolean {
    if (this.allow && !covers(this.allow, name)) return false
    return !(this.deny && covers(this.deny, name))
  }
}

/** Whether a value has the shape of {@link Permissions} (as secret-stack checks an auth result). */
export function isPermissions(value: unknown): value is Permissions {
  if (typeof value !== 'object' || value === null) return false
  const { allow, deny } = value as Record<string, unknown>
  const list = (v: unknown) =>
    v === null || (Array.isArray(v) && v.every((s) => typeof s === 'string'))
  return list(allow) && list(deny)
}

/**
 * Whether a connection was given full rights (our own key, `config.master`, the unix socket, or
 * an in-process call): plugins serve such callers as the user, not as a remote peer.
 */
export function hasFullRights(session: RpcSessionInfo): boolean {
  const auth = session.auth
  return auth instanceof PermissionSet && auth.permissions.allow === null
}
