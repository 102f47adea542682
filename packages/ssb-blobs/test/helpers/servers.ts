// Our servers for the blob tests: a temp directory, fresh keys, the blobs plugin (or a stand-in
// plugin named `blobs` for hostile peers), a free port on 127.0.0.1 (startLoopbackServer of
// test-support), and small wait helpers.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type BlobsApi, blobsPlugin } from '@scuttlekit/ssb-blobs'
import { MAIN_NET_CAPS } from '@scuttlekit/ssb-config'
import type { Keys } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'
import type { Plugin, SsbServer } from '@scuttlekit/ssb-server'
import { startLoopbackServer } from '@scuttlekit/test-support'
import type { Logger } from 'pino'

/** The main network's caps.shs (ssb-protocol.md §3.1). */
export const MAIN_NET_SHS: string = MAIN_NET_CAPS.shs

export interface Node {
  server: SsbServer
  /** undefined for a node started with other plugins */
  blobs: BlobsApi
  id: FeedId
  keys: Keys
  address: string
  path: string
  stop(): Promise<void>
}

export interface StartOptions {
  logger?: Logger
  keys?: Keys
  /** an existing directory (for restarts); removed by stop() only if we made it */
  path?: string
  /** `config.blobs` */
  blobs?: Record<string, unknown>
  /** instead of blobsPlugin() */
  plugins?: Plugin[]
}

/** One of our servers with the blobs plugin, listening on 127.0.0.1 only. */
export async function startNode(options: StartOptions = {}): Promise<Node> {
  const { server, keys, path, stop } = await startLoopbackServer({
    prefix: 'ssb-blobs-',
    plugins: options.plugins ?? [blobsPlugin()],
    config: options.blobs ? { blobs: options.blobs } : undefined,
    keys: options.keys,
    path: options.path,
    logger: options.logger,
  })
  return {
    server,
    blobs: server.plugin<BlobsApi>('blobs') as BlobsApi,
    id: server.id,
    keys,
    address: server.address('device')!,
    path,
    stop,
  }
}

/** Resolves once `cond()` holds; rejects after `ms` with `what`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Waits `ms` (for negative assertions only). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Every file under `<path>/blobs` (relative), tmp included. */
export async function blobFiles(path: string): Promise<string[]> {
  const root = join(path, 'blobs')
  const out: string[] = []
  async function walk(dir: string, rel: string): Promise<void> {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name), `${rel}${e.name}/`)
      else out.push(`${rel}${e.name}`)
    }
  }
  await walk(root, '')
  return out.sort()
}

/** Reads a whole async iterable of byte chunks. */
export async function collect(source: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of source) parts.push(Buffer.from(c as Uint8Array))
  return Buffer.concat(parts)
}

/** `promise`, or a rejection naming `what` after `ms`: a hung fetch fails the test instead of hanging it. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

export { recordingLogger } from '@scuttlekit/test-support'
