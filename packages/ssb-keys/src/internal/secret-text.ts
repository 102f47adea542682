/**
 * The text of the secret file (§1.2 of ssb-protocol.md), pure: format, parse, validate. The file
 * I/O lives in `secret-io.ts`.
 */
import { describe } from '@scuttlekit/ssb-ref'
import { seedKeypair } from '../crypto.js'
import { type Keys, keysFromSecretKey } from '../keys.js'

/** No real secret file comes near this; anything larger is refused before it is read. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024

const HEADER = [
  '# WARNING: Never show this to anyone.',
  '# WARNING: Never edit it or use it on multiple devices at once.',
  '#',
  '# This is your SECRET, it gives you magical powers. With your secret you can',
  '# sign your messages so that your friends can verify that the messages came',
  '# from you. If anyone learns your secret, they can use it to impersonate you.',
  '#',
  '# If you use this secret on more than one device you will create a fork and',
  '# your friends will stop replicating your content.',
  '#',
]

const FOOTER = ['#', "# The only part of this file that's safe to share is your public name:", '#']

/**
 * The file as npm ssb-keys `create` writes it: the warning block, the 2-space JSON of the four
 * key fields (or, `legacy`, the bare `private` string), the closing block, last line
 * `#   <id>`, no trailing newline.
 */
export function formatSecretText(keys: Keys, legacy: boolean): string {
  const fields: Keys = {
    curve: keys.curve,
    public: keys.public,
    private: keys.private,
    id: keys.id,
  }
  const body = legacy ? keys.private : JSON.stringify(fields, null, 2)
  return [...HEADER, body, ...FOOTER, `#   ${keys.id}`].join('\n')
}

/** Why a key object was refused: `corrupt` (wrong form) or `mismatch` (keys that disagree). */
export type KeyProblem = { kind: 'corrupt' | 'mismatch'; reason: string }

/** The result of {@link checkKeyObject}. */
export type KeyCheck = { ok: true; keys: Keys } | ({ ok: false } & KeyProblem)

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const MISMATCH = 'secret key does not match public key'

function decodeTagged(value: unknown, field: string, length: number): Buffer | KeyProblem {
  if (typeof value !== 'string') return { kind: 'corrupt', reason: `${field} is not a string` }
  const dot = value.indexOf('.')
  const body = dot === -1 ? value : value.slice(0, dot)
  if (dot !== -1 && value.slice(dot + 1) !== 'ed25519') {
    return { kind: 'corrupt', reason: `${field} is not tagged .ed25519` }
  }
  const bytes = BASE64.test(body) ? Buffer.from(body, 'base64') : undefined
  if (bytes?.length !== length) {
    return { kind: 'corrupt', reason: `${field} is not ${length} bytes of base64` }
  }
  return bytes
}

/**
 * Validates a parsed secret (an object, or the legacy bare `private` string) and returns the
 * canonical key object. Checks: curve `ed25519` (or absent); `private` decodes to 64 bytes whose
 * last 32 are the public key derived from the first 32 (the seed); `public`, when present,
 * decodes to 32 bytes equal to that key; `id`, when it carries a sigil, names that key. An `id`
 * without sigil is replaced by `@` + public, as npm ssb-keys does. Other fields are ignored.
 */
export function checkKeyObject(raw: unknown): KeyCheck {
  const fields: Record<string, unknown> | undefined =
    typeof raw === 'string'
      ? { private: raw }
      : raw !== null && typeof raw === 'object' && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : undefined
  if (!fields) return { ok: false, kind: 'corrupt', reason: 'not a key object' }
  if (fields.curve !== undefined && fields.curve !== 'ed25519') {
    return { ok: false, kind: 'corrupt', reason: `unsupported curve ${describe(fields.curve)}` }
  }
  if (fields.private === undefined) return { ok: false, kind: 'corrupt', reason: 'no private key' }
  const secretKey = decodeTagged(fields.private, 'private key', 64)
  if (!Buffer.isBuffer(secretKey)) return { ok: false, ...secretKey }
  const derived = seedKeypair(secretKey.subarray(0, 32)).publicKey
  if (!derived.equals(secretKey.subarray(32)))
    return { ok: false, kind: 'mismatch', reason: MISMATCH }
  if (fields.public !== undefined) {
    const publicKey = decodeTagged(fields.public, 'public key', 32)
    if (!Buffer.isBuffer(publicKey)) return { ok: false, ...publicKey }
    if (!publicKey.equals(derived)) return { ok: false, kind: 'mismatch', reason: MISMATCH }
  }
  if (typeof fields.id === 'string' && /^[@%&]/.test(fields.id)) {
    const idKey = fields.id.startsWith('@') ? decodeTagged(fields.id.slice(1), 'id', 32) : undefined
    if (!Buffer.isBuffer(idKey) || !idKey.equals(derived)) {
      return { ok: false, kind: 'mismatch', reason: 'id does not match public key' }
    }
  }
  return { ok: true, keys: keysFromSecretKey(secretKey) }
}

/** A parsed secret file: canonical keys, and the parsed JSON object when the file held one. */
export interface ParsedSecret {
  keys: Keys
  raw: Record<string, unknown> | undefined
}

/** Thrown by {@link parseSecretText}; the caller turns it into a named error with the path. */
export class SecretTextProblem extends Error {
  constructor(readonly problem: KeyProblem) {
    super(problem.reason)
  }
}

const LEGACY = /^[A-Za-z0-9+/]+={0,2}(\.ed25519)?$/

/**
 * Reads the text as npm ssb-keys does (delete every `\s*#[^\n]*`, split on `\n`, drop empty
 * lines, join with `""`, `JSON.parse`), also accepting the legacy bare `private` string, then
 * validates with {@link checkKeyObject}. Throws {@link SecretTextProblem}. The JSON parser's
 * message is never kept: it quotes the text, which holds the secret.
 */
export function parseSecretText(text: string): ParsedSecret {
  const body = text
    .replace(/\s*#[^\n]*/g, '')
    .split('\n')
    .filter((line) => line !== '')
    .join('')
    .trim()
  if (body === '') {
    const reason = text.trim() === '' ? 'the file is empty' : 'the file holds only comments'
    throw new SecretTextProblem({ kind: 'corrupt', reason })
  }
  let raw: unknown
  try {
    raw = JSON.parse(body)
  } catch {
    if (!LEGACY.test(body)) {
      const reason =
        body.startsWith('{') && !body.endsWith('}') ? 'truncated JSON' : 'not valid JSON'
      throw new SecretTextProblem({ kind: 'corrupt', reason })
    }
    raw = body
  }
  const checked = checkKeyObject(raw)
  if (!checked.ok) throw new SecretTextProblem(checked)
  const object = typeof raw === 'object' ? (raw as Record<string, unknown>) : undefined
  return { keys: checked.keys, raw: object }
}
