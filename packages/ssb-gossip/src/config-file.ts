/**
 * `gossip.enable`/`gossip.disable` persist their switch in `<path>/config`, as ssb-gossip does,
 * so that `sbot gossip.disable local` survives a restart. ssb-gossip rewrites the file with
 * `JSON.stringify` whatever it held: an INI file, or a JSON file with comments (ssb-config
 * reads both), loses everything but the `gossip` section. Here the file is only rewritten when
 * it is absent, empty or a plain JSON object; otherwise it is left alone and the caller says
 * the switch holds until restart. The write goes through a temporary file and a rename, and
 * keeps the file's mode.
 */

import { randomBytes } from 'node:crypto'
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The outcome of {@link persistGossipSwitch}. */
export type PersistResult =
  | { saved: true; file: string }
  | { saved: false; file: string; why: string }

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Sets `gossip.<name> = value` in `<dir>/config`. Never throws: a file it must not or cannot
 * rewrite gives `{saved: false, why}`.
 */
export function persistGossipSwitch(dir: string, name: string, value: boolean): PersistResult {
  const file = join(dir, 'config')
  let config: Record<string, unknown> = {}
  let mode: number | undefined
  try {
    const text = readFileSync(file, 'utf8')
    mode = statSync(file).mode & 0o777
    if (text.trim() !== '') {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        return { saved: false, file, why: 'it is not plain JSON (INI, or JSON with comments)' }
      }
      if (!isPlainObject(parsed)) return { saved: false, file, why: 'it is not a JSON object' }
      config = parsed
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      return { saved: false, file, why: (err as Error).message }
    }
  }
  const gossip = isPlainObject(config.gossip) ? { ...config.gossip } : {}
  gossip[name] = value
  config.gossip = gossip
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: mode ?? 0o644 })
    renameSync(tmp, file)
  } catch (err) {
    rmSync(tmp, { force: true })
    return { saved: false, file, why: (err as Error).message }
  }
  return { saved: true, file }
}
