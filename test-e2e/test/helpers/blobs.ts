// Blob helpers shared by blobs.test.ts and reference-defects.test.ts: a master client on the
// real ssb-server 16, moving blob bytes in and out of it, the files under a `<path>/blobs`
// directory (ssb-protocol.md §6.1), and waits. The lying `blobs` peer is test-support's
// `liarBlobs`.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { blobIdOf, digestOfBlobId } from '@scuttlekit/ssb-blobs'
import { connectClient, type SsbClient } from '@scuttlekit/ssb-client'
import type { ReferenceServer } from './reference-server.js'

/** 5 MiB: the default `blobs.max` of ssb-blobs 1.2.2 and of ours (§6.3). */
export const FIVE_MIB = 5 * 1024 * 1024

/** A client with the reference's own keys, so it has master rights (`blobs.add`, `want`, …). */
export function masterClient(ref: ReferenceServer): Promise<SsbClient> {
  return connectClient({
    config: { path: ref.path, keys: ref.keys, host: '127.0.0.1', port: ref.port },
    remote: ref.address,
  })
}

/** Streams `bytes` into `blobs.add` in 64 KiB chunks; resolves with the id once stored. */
export async function addBlob(client: SsbClient, bytes: Buffer): Promise<string> {
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += 65536) yield bytes.subarray(i, i + 65536)
  }
  await client.sink(['blobs', 'add'], [], chunks())
  return blobIdOf(bytes)
}

/** The bytes of `blobs.get(id)` read through `client`. */
export async function getBlob(client: SsbClient, id: string): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of client.source<Uint8Array>(['blobs', 'get'], id)) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

/** Where multiblob (and our store) keep blob `id` under `<path>/blobs` (§6.1). */
export function blobFile(path: string, id: string): string {
  const hex = digestOfBlobId(id).toString('hex')
  return join(path, 'blobs', 'sha256', hex.slice(0, 2), hex.slice(2))
}

/** Every file under `<path>/blobs`, relative and sorted (`tmp/…` included); [] if none. */
export async function blobFiles(path: string): Promise<string[]> {
  const out: string[] = []
  async function walk(dir: string, rel: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(dir, e.name), `${rel}${e.name}/`)
      else out.push(`${rel}${e.name}`)
    }
  }
  await walk(join(path, 'blobs'), '')
  return out.sort()
}

/** Resolves once `check()` holds; rejects after `ms` naming `what`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** A promise that may never settle (a want that is not met), watched without leaking rejections. */
export interface Watched<T> {
  readonly settled: boolean
  readonly promise: Promise<T>
}

/** Watches `promise`; a later rejection (a client closed under a pending want) is swallowed. */
export function watch<T>(promise: Promise<T>): Watched<T> {
  const w = { settled: false, promise }
  promise.then(
    () => {
      w.settled = true
    },
    () => {
      w.settled = true
    },
  )
  return w
}
