// Blobs between our servers and the real ssb-server 16 from npm (ssb-protocol.md §6): fetching in
// both directions whoever dials, the 5 MiB cap on both sides, a want relayed by the reference
// between two of ours, and our CLI's blobs.add/get/has against our running server.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { open, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type BlobsApi, blobIdOf, blobsPlugin } from '@scuttlekit/ssb-blobs'
import type { SsbClient } from '@scuttlekit/ssb-client'
import {
  addBlob,
  blobFile,
  blobFiles,
  FIVE_MIB,
  getBlob,
  masterClient,
  watch,
} from './helpers/blobs.js'
import { sleep } from './helpers/hostile-peer.js'
import { type OurServer, startOurServer } from './helpers/our-server.js'
import { type ReferenceServer, startReferenceServer } from './helpers/reference-server.js'

const require = createRequire(import.meta.url)
const OUR_BIN = join(
  dirname(require.resolve('@scuttlekit/ssb-server-cli/package.json')),
  'dist',
  'bin.js',
)

/** How long a want over the cap is watched after a want under it (on the same link) was met. */
const GRACE_MS = 1000

type Dialer = 'ours' | 'reference'

function blobsOf(node: OurServer): BlobsApi {
  const api = node.server.plugin<BlobsApi>('blobs')
  assert.ok(api, 'the blobs plugin is loaded')
  return api
}

async function ourBytes(node: OurServer, id: string): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of blobsOf(node).store.read(id)) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

/** Our server with the blobs plugin, started for one test and stopped after it. */
async function withOurs<T>(fn: (node: OurServer) => Promise<T>): Promise<T> {
  const node = await startOurServer({}, [blobsPlugin()])
  try {
    return await fn(node)
  } finally {
    await node.stop()
  }
}

async function exists(file: string): Promise<boolean> {
  return readFile(file).then(
    () => true,
    () => false,
  )
}

describe('blobs between ours and the real ssb-server 16', { timeout: 60_000 }, () => {
  // a default reference, and one whose cap lets exactly 5 MiB through: ssb-blobs 1.2.2 fetches
  // only sizes `< blobs.max` (inject.js `has`/`isAvailable`; reference-defects.test.ts shows a
  // default one never fetching exactly 5 MiB), so 5 MiB needs `--blobs.max 5242881`
  let ref: ReferenceServer
  let refBig: ReferenceServer
  let client: SsbClient
  let clientBig: SsbClient

  before(async () => {
    ;[ref, refBig] = await Promise.all([
      startReferenceServer(['--gossip.local', 'false']),
      startReferenceServer(['--gossip.local', 'false', '--blobs.max', String(FIVE_MIB + 1)]),
    ])
    ;[client, clientBig] = await Promise.all([masterClient(ref), masterClient(refBig)])
  })
  after(async () => {
    await Promise.all([client?.close(), clientBig?.close()])
    await Promise.all([ref?.stop(), refBig?.stop()])
  })

  /** Connects our node and a reference, with `dialer` dialing. */
  async function link(
    node: OurServer,
    to: ReferenceServer,
    via: SsbClient,
    dialer: Dialer,
  ): Promise<void> {
    if (dialer === 'ours') await node.server.connect(to.address)
    // an object address: the reference's scheduler crashes on bare address strings (§5.13)
    else await via.call('gossip.connect', { host: '127.0.0.1', port: node.port, key: node.id })
  }

  for (const dialer of ['ours', 'reference'] as const) {
    test(`reference → ours, ${dialer} dialing: fetched, bytes equal`, () =>
      withOurs(async (node) => {
        const bytes = randomBytes(300_000)
        const id = await addBlob(client, bytes)
        // a want made before the link is in the first frame; one made after is an update
        const early = dialer === 'reference' ? blobsOf(node).want(id) : undefined
        await link(node, ref, client, dialer)
        assert.equal(await (early ?? blobsOf(node).want(id)), true)
        assert.deepEqual(await ourBytes(node, id), bytes)
      }))

    test(`ours → reference, ${dialer} dialing: fetched, bytes equal`, () =>
      withOurs(async (node) => {
        const bytes = randomBytes(300_000)
        const { id } = await blobsOf(node).store.addBytes(bytes)
        const early = dialer === 'ours' ? client.call('blobs.want', id) : undefined
        await link(node, ref, client, dialer)
        assert.equal(await (early ?? client.call('blobs.want', id)), true)
        assert.deepEqual(await getBlob(client, id), bytes)
      }))
  }

  test('exactly 5 MiB: reference → ours (default cap), ours → reference (max 5242881)', () =>
    withOurs(async (node) => {
      const toOurs = randomBytes(FIVE_MIB)
      const toRef = randomBytes(FIVE_MIB)
      const [fromRef, { id: fromOurs }] = await Promise.all([
        addBlob(clientBig, toOurs),
        blobsOf(node).store.addBytes(toRef),
      ])
      await link(node, refBig, clientBig, 'ours')
      const [oursGot, refGot] = await Promise.all([
        blobsOf(node).want(fromRef),
        clientBig.call('blobs.want', fromOurs),
      ])
      assert.equal(oursGot, true)
      assert.equal(refGot, true)
      assert.ok((await ourBytes(node, fromRef)).equals(toOurs))
      assert.ok((await getBlob(clientBig, fromOurs)).equals(toRef))
      assert.ok((await readFile(blobFile(refBig.path, fromOurs))).equals(toRef))
      assert.deepEqual(
        (await blobFiles(node.path)).filter((f) => f.startsWith('tmp/')),
        [],
        'no temp file left on ours',
      )
    }))

  test('5 MiB + 1 on the reference is not fetched by ours', () =>
    withOurs(async (node) => {
      const [over, small] = await Promise.all([
        addBlob(client, randomBytes(FIVE_MIB + 1)),
        addBlob(client, randomBytes(1000)),
      ])
      await link(node, ref, client, 'ours')
      const tooBig = watch(blobsOf(node).want(over))
      // the same link carries a blob under the cap, so the want over it was seen and refused
      assert.equal(await blobsOf(node).want(small), true)
      await sleep(GRACE_MS)
      assert.equal(tooBig.settled, false, 'the want over the cap is still pending')
      assert.equal(await blobsOf(node).store.has(over), false)
      assert.equal(blobsOf(node).status().fetching, 0)
      const files = await blobFiles(node.path)
      // nothing of the big one, not even a temp file: only the small blob
      assert.deepEqual(files, [blobFile('', small).slice('blobs/'.length)])
    }))

  test('5 MiB + 1 on ours is not fetched by a default reference', () =>
    withOurs(async (node) => {
      const over = await blobsOf(node).store.addBytes(randomBytes(FIVE_MIB + 1))
      const small = await blobsOf(node).store.addBytes(randomBytes(1000))
      await link(node, ref, client, 'reference')
      const tooBig = watch(client.call('blobs.want', over.id))
      assert.equal(await client.call('blobs.want', small.id), true)
      await sleep(GRACE_MS)
      assert.equal(tooBig.settled, false, 'the want over the cap is still pending')
      assert.equal(await exists(blobFile(ref.path, over.id)), false)
      assert.deepEqual(
        (await blobFiles(ref.path)).filter((f) => f.startsWith('tmp/')),
        [],
        'no temp file on the reference',
      )
    }))

  test('two hops: ours A — reference B — ours C; C gets A’s blob through B', () =>
    withOurs((a) =>
      withOurs(async (c) => {
        const bytes = randomBytes(120_000)
        const { id } = await blobsOf(a).store.addBytes(bytes)
        await link(a, ref, client, 'ours')
        await link(c, ref, client, 'reference')
        assert.deepEqual(
          c.server.sessions().map((s) => s.info.remoteId),
          [ref.id],
          'C is connected to B only',
        )
        // C's want reaches B as -1; B relays it to A as -2, fetches it, then offers it to C
        assert.equal(await blobsOf(c).want(id), true)
        assert.deepEqual(await ourBytes(c, id), bytes)
        assert.ok((await readFile(blobFile(ref.path, id))).equals(bytes), 'B kept a copy')
      }),
    ))
})

describe('our CLI: blobs.add, blobs.get, blobs.has against our running server', {
  timeout: 30_000,
}, () => {
  let node: OurServer
  before(async () => {
    node = await startOurServer({}, [blobsPlugin()])
  })
  after(async () => {
    await node?.stop()
  })

  /** Runs our CLI; stdin from `input` (a file) and stdout to `output` (a file) when given. */
  async function cli(
    args: string[],
    files: { input?: string; output?: string } = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const inFd = files.input ? await open(files.input, 'r') : undefined
    const outFd = files.output ? await open(files.output, 'w') : undefined
    try {
      const child = spawn(process.execPath, [OUR_BIN, '--path', node.path, ...args], {
        env: { ...process.env, HOME: node.home },
        stdio: [inFd?.fd ?? 'ignore', outFd?.fd ?? 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout?.on('data', (d) => {
        stdout += d
      })
      child.stderr?.on('data', (d) => {
        stderr += d
      })
      const [code] = (await once(child, 'close')) as [number | null]
      return { code, stdout, stderr }
    } finally {
      await inFd?.close()
      await outFd?.close()
    }
  }

  test('add a file and stdin, get binary bytes exactly, has', async () => {
    const file = join(node.home, 'in.bin')
    const piped = join(node.home, 'piped.bin')
    const out = join(node.home, 'out.bin')
    const bytes = randomBytes(1024 * 1024)
    const other = randomBytes(100_000)
    await writeFile(file, bytes)
    await writeFile(piped, other)
    const id = blobIdOf(bytes)

    const added = await cli(['blobs.add', file])
    assert.equal(added.code, 0, added.stderr)
    assert.equal(added.stdout, `${id}\n`)
    assert.equal(await blobsOf(node).store.has(id), true)

    // `cat FILE | ssb-server blobs.add`: stdin is a file here, not a terminal
    const fromStdin = await cli(['blobs.add'], { input: piped })
    assert.equal(fromStdin.code, 0, fromStdin.stderr)
    assert.equal(fromStdin.stdout, `${blobIdOf(other)}\n`)
    assert.ok((await ourBytes(node, blobIdOf(other))).equals(other))

    // `ssb-server blobs.get ID > out`
    const got = await cli(['blobs.get', id], { output: out })
    assert.equal(got.code, 0, got.stderr)
    assert.ok((await readFile(out)).equals(bytes), 'the exact bytes')

    const has = await cli(['blobs.has', id])
    assert.equal(has.code, 0, has.stderr)
    assert.equal(has.stdout, 'true\n')
    const hasNot = await cli(['blobs.has', blobIdOf(randomBytes(8))])
    assert.equal(hasNot.stdout, 'false\n')
  })
})
