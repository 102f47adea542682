/** Deterministic test data: feed ids, contact contents and a seeded generator. */
import { createHash } from 'node:crypto'
import type { FeedId } from '@scuttlekit/ssb-ref'

/** A seeded linear congruential generator in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296
  }
}

/** A valid feed id named after `name`. */
export function feedId(name: string): FeedId {
  return `@${createHash('sha256').update(name).digest('base64')}.ed25519` as FeedId
}

/** Contact contents of every shape the reduce distinguishes, follow-heavy. */
export const CONTENTS: readonly Record<string, unknown>[] = [
  { following: true },
  { following: true },
  { following: true },
  { following: true, blocking: false },
  { following: false },
  {},
  { following: 'yes' },
  { blocking: true },
  { following: true, blocking: true },
  { following: false, blocking: true },
  { flagged: true },
  { flagged: { reason: 'spam' } },
  { following: true, flagged: false },
  { blocking: 0, following: true },
  { blocking: 'yes' },
]
