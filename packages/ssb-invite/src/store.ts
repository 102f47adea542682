/**
 * The pub's invite records, kept in `<path>/invites.json`. ssb-invite 2.1.8 keeps the same
 * records in a level database at `<path>/invites` (`ssb-protocol.md` §8.4); a small JSON file
 * is enough for a pub's handful of codes. Every change rewrites the file atomically (write a
 * temporary file, then rename it over the old one), so a crash leaves either the old or the
 * new content, never half of one.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Permissions } from '@scuttlekit/ssb-rpc'

/** One invite as the pub stores it, keyed by the id of the seed's key pair. */
export interface InviteRecord {
  /** `@<public key of the seed's key pair>.ed25519`: the key a guest connects with */
  id: string
  /** how many times it may be used */
  total: number
  /** the note published in the pub's contact message */
  note?: string
  /** how many times it was used */
  used: number
  /** what a guest connecting with this key may call */
  permissions: Permissions
}

function isRecord(value: unknown): value is InviteRecord {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  return (
    typeof r.id === 'string' &&
    typeof r.total === 'number' &&
    typeof r.used === 'number' &&
    (r.note === undefined || typeof r.note === 'string')
  )
}

/** The invite records in memory, written through to `invites.json`. */
export class InviteStore {
  private readonly records = new Map<string, InviteRecord>()
  private writing: Promise<void> = Promise.resolve()
  private counter = 0

  private constructor(readonly file: string) {}

  /** Opens (or starts) `<dir>/invites.json`. A file that is not valid JSON is an error, not data loss. */
  static async open(dir: string): Promise<InviteStore> {
    const store = new InviteStore(join(dir, 'invites.json'))
    let text: string | undefined
    try {
      text = await readFile(store.file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    if (text !== undefined) {
      const data = JSON.parse(text) as unknown
      if (typeof data === 'object' && data !== null) {
        for (const value of Object.values(data)) {
          if (isRecord(value)) store.records.set(value.id, value)
        }
      }
    }
    return store
  }

  /** The record of an invite key, if it is one of ours. */
  get(id: string): InviteRecord | undefined {
    return this.records.get(id)
  }

  /** Stores a record (new or changed) and resolves once it is on disk. */
  put(record: InviteRecord): Promise<void> {
    this.records.set(record.id, record)
    return this.flush()
  }

  /** Resolves once every change so far is on disk. */
  async settled(): Promise<void> {
    await this.writing
  }

  private flush(): Promise<void> {
    // each write waits for the one before it, and writes the state current when it runs
    const next = this.writing.then(async () => {
      const tmp = `${this.file}.${process.pid}.${this.counter++}.tmp`
      const data = Object.fromEntries(this.records)
      await writeFile(tmp, JSON.stringify(data, null, 2), { mode: 0o600 })
      await rename(tmp, this.file)
    })
    this.writing = next.catch(() => {})
    return next
  }
}
