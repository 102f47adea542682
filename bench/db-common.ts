/**
 * Shared by db.bench.ts and its children: fixture generation with npm ssb-validate (so both sides
 * receive identical, reference-made messages), the publish text, and the child protocol's types.
 */
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

interface NpmKeys {
  curve: 'ed25519'
  public: string
  private: string
  id: string
}

const refKeys = require('ssb-keys') as {
  generate(curve: 'ed25519', seed: Buffer): NpmKeys
}
const refValidate = require('ssb-validate') as {
  create(
    state: { id: string; sequence: number; timestamp: number; queue: [] } | null,
    keys: NpmKeys,
    hmac: null,
    content: object,
    timestamp: number,
  ): Record<string, unknown> & { sequence: number; timestamp: number }
  id(msg: object): string
}

/** Padding after `message N `: makes the content `{type:'post', text}` about 200 bytes. */
export const TEXT_PAD = 'a short walk along the shore, the tide was out and the gulls were loud '
  .repeat(3)
  .slice(0, 160)

export function postContent(i: number, pad = TEXT_PAD): { type: 'post'; text: string } {
  return { type: 'post', text: `message ${i} ${pad}` }
}

/** Keys of author `a` of a fixture, derived from a fixed seed (npm ssb-keys shape). */
export function authorKeys(a: number): NpmKeys {
  const seed = Buffer.alloc(32)
  seed.writeUInt32BE(a + 1, 0)
  seed.write('scuttlekit-bench', 4)
  return refKeys.generate('ed25519', seed)
}

/**
 * `authors` × `perAuthor` signed messages made with npm ssb-validate's `create`, interleaved by
 * author round-robin (message 1 of every author, then message 2 of every author, ...). Written to
 * `file` as a JSON array; returns the author ids.
 */
export function writeFixture(
  file: string,
  authors: number,
  perAuthor: number,
  firstAuthor = 0,
): string[] {
  const keys = Array.from({ length: authors }, (_, a) => authorKeys(firstAuthor + a))
  const states: Array<{ id: string; sequence: number; timestamp: number; queue: [] } | null> =
    keys.map(() => null)
  const msgs: object[] = []
  const base = 1_700_000_000_000
  for (let s = 0; s < perAuthor; s++) {
    for (let a = 0; a < authors; a++) {
      const msg = refValidate.create(
        states[a]!,
        keys[a]!,
        null,
        postContent(s),
        base + s * authors + a,
      )
      states[a] = {
        id: refValidate.id(msg),
        sequence: msg.sequence,
        timestamp: msg.timestamp,
        queue: [],
      }
      msgs.push(msg)
    }
  }
  writeFileSync(file, JSON.stringify(msgs))
  return keys.map((k) => k.id)
}

/** Options the parent passes to a child as JSON on its command line. */
export interface ChildOptions {
  dir: string
  /** reference only: 'server' (ssb-server 16's plugin set, the default) or 'bare' (ssb-db only) */
  setup?: 'server' | 'bare'
  fixture?: string
  /** untimed messages before the timed ones, so that both sides are measured warm */
  warmupFixture?: string
  warmup?: number
  count?: number
  window?: number
  chunk?: number
  textPad?: string
  author?: string
  expectSequence?: number
}

/** What a child prints after `RESULT `; maxRSS in KiB (process.resourceUsage()). */
export interface ChildResult {
  maxRSS: number
  ms?: number
  count?: number
  historyMs?: number
  logMs?: number
  /** reopen: ms since the child process started when the store answered */
  sinceStart?: number
  /** reopen, reference only: until getLatest and createHistoryStream answered (views may lag) */
  queriesMs?: number
}
