/**
 * The blobs we push (`blobs.push`), kept in `<path>/blobs_push.json` so that a push goes on after
 * a restart. ssb-blobs 1.2.2 writes them to a level database it never reads back.
 */

import { readFile, rename, writeFile } from 'node:fs/promises'
import type { PushSet } from './wants.js'

/** A {@link PushSet} in a JSON file, written atomically (temp file, then rename). */
export class JsonPushSet implements PushSet {
  private readonly set: Set<string>
  private writing: Promise<void> = Promise.resolve()

  private constructor(
    private readonly file: string,
    ids: readonly string[],
  ) {
    this.set = new Set(ids)
  }

  /** Reads the file; a missing or unreadable file is an empty set. */
  static async open(file: string): Promise<JsonPushSet> {
    let ids: string[] = []
    try {
      const parsed: unknown = JSON.parse(await readFile(file, 'utf8'))
      if (Array.isArray(parsed)) ids = parsed.filter((x): x is string => typeof x === 'string')
    } catch {}
    return new JsonPushSet(file, ids)
  }

  ids(): Iterable<string> {
    return this.set
  }

  add(id: string): Promise<void> {
    if (this.set.has(id)) return this.writing
    this.set.add(id)
    return this.save()
  }

  remove(id: string): Promise<void> {
    if (!this.set.delete(id)) return this.writing
    return this.save()
  }

  private save(): Promise<void> {
    const data = JSON.stringify([...this.set])
    const tmp = `${this.file}.tmp`
    this.writing = this.writing
      .catch(() => {})
      .then(async () => {
        await writeFile(tmp, data)
        await rename(tmp, this.file)
      })
    return this.writing
  }
}
