// Blob replication between our own servers on 127.0.0.1 (ssb-protocol.md §6.3): fetching from a
// direct peer and through one in the middle, the size cap (inclusive), push, and peers that lie.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { blobIdOf } from '@scuttlekit/ssb-blobs'
import type { IncomingCall } from '@scuttlekit/ssb-rpc'
import type { Plugin } from '@scuttlekit/ssb-server'
import { liarBlobs } from '@scuttlekit/test-support'
import { blobFiles, recordingLogger, sleep, startNode, until, within } from './helpers/servers.js'

async function bytesOf(
  node: { blobs: { store: { read(id: string): AsyncIterable<Buffer> } } },
  id: string,
) {
  const parts: Buffer[] = []
  for await (const c of node.blobs.store.read(id)) parts.push(c)
  return Buffer.concat(parts)
}

describe('replication between our servers', () => {
  test('a blob added on A is wanted and fetched by B', async () => {
    const a = await startNode()
    const b = await startNode()
    try {
      const bytes = randomBytes(200_000)
      const { id } = await a.blobs.store.addBytes(bytes)
      await b.server.connect(a.address)
      assert.equal(await within(b.blobs.want(id), 10_000, 'the blob'), true)
      assert.deepEqual(await bytesOf(b, id), bytes)
      assert.deepEqual(
        (await blobFiles(b.path)).filter((f) => f.startsWith('tmp/')),
        [],
        'no temp file left',
      )
    } finally {
      await b.stop()
      await a.stop()
    }
  })

  test('a want made before connecting is served once a peer with the blob connects', async () => {
    const a = await startNode()
    const b = await startNode()
    try {
      const { id } = await a.blobs.store.addBytes(randomBytes(1000))
      const wanted = b.blobs.want(id)
      await sleep(50)
      await a.server.connect(b.address) // A dials this time
      assert.equal(await within(wanted, 10_000, 'the blob'), true)
    } finally {
      await b.stop()
      await a.stop()
    }
  })

  test('two hops: C, connected only to B, gets a blob that only A has', async () => {
    const a = await startNode()
    const b = await startNode()
    const c = await startNode()
    try {
      const bytes = randomBytes(70_000)
      const { id } = await a.blobs.store.addBytes(bytes)
      await b.server.connect(a.address)
      await c.server.connect(b.address)
      assert.equal(await within(c.blobs.want(id), 10_000, 'the blob'), true)
      assert.deepEqual(await bytesOf(c, id), bytes)
      // as in ssb-blobs, the node in the middle fetched it to pass it on
      assert.equal(await b.blobs.store.has(id), true)
    } finally {
      await c.stop()
      await b.stop()
      await a.stop()
    }
  })

  test('sympathy 0: a node relays no want, so two hops stay apart', async () => {
    const a = await startNode()
    const b = await startNode({ blobs: { sympathy: 0 } })
    const c = await startNode()
    try {
      const { id } = await a.blobs.store.addBytes(randomBytes(100))
      await b.server.connect(a.address)
      await c.server.connect(b.address)
      const wanted = c.blobs.want(id)
      await sleep(400)
      assert.equal(await b.blobs.store.has(id), false)
      assert.equal(await c.blobs.store.has(id), false)
      assert.equal(b.blobs.status().relayed, 0)
      await c.server.connect(a.address)
      assert.equal(await within(wanted, 10_000, 'the blob'), true)
    } finally {
      await c.stop()
      await b.stop()
      await a.stop()
    }
  })

  test('blobs.max is inclusive: exactly max is fetched, max + 1 is not', async () => {
    const a = await startNode()
    const b = await startNode({ blobs: { max: 1000 } })
    try {
      const fits = await a.blobs.store.addBytes(randomBytes(1000))
      const over = await a.blobs.store.addBytes(randomBytes(1001))
      await b.server.connect(a.address)
      assert.equal(await within(b.blobs.want(fits.id), 10_000, 'the blob'), true)
      const tooBig = b.blobs.want(over.id)
      let settled = false
      void tooBig.then(() => {
        settled = true
      })
      await sleep(400)
      assert.equal(settled, false)
      assert.equal(await b.blobs.store.has(over.id), false)
      assert.equal(b.blobs.status().fetching, 0)
    } finally {
      await b.stop()
      await a.stop()
    }
  })

  test('push: offered until pushy peers have it; kept across a restart', async () => {
    const a = await startNode({ blobs: { pushy: 1 } })
    const path = a.path
    const { id } = await a.blobs.store.addBytes(randomBytes(5000))
    await a.blobs.push(id)
    assert.equal(a.blobs.status().pushing, 1)
    assert.deepEqual(JSON.parse(await readFile(join(path, 'blobs_push.json'), 'utf8')), [id])
    await a.server.close()
    const again = await startNode({ path, keys: a.keys, blobs: { pushy: 1 } })
    const b = await startNode()
    try {
      assert.equal(again.blobs.status().pushing, 1, 'the push survived the restart')
      await b.server.connect(again.address)
      await until(() => b.blobs.store.has(id), 5000, 'B to take the pushed blob')
      await until(() => again.blobs.status().pushing === 0, 5000, 'the push to end')
      assert.deepEqual(JSON.parse(await readFile(join(path, 'blobs_push.json'), 'utf8')), [])
    } finally {
      await b.stop()
      await again.stop()
      await a.stop()
    }
  })
})

describe('peers that lie', () => {
  async function honestAfterLiar(
    serve: (bytes: Buffer) => (signal: AbortSignal) => AsyncIterable<unknown>,
    offence: 'corrupt' | 'oversized' | 'stalled',
    blobsConfig: Record<string, unknown> = {},
  ) {
    const bytes = randomBytes(100_000)
    const id = blobIdOf(bytes)
    const { logger, records } = recordingLogger('warn')
    const victim = await startNode({ logger, blobs: blobsConfig })
    const bad = await startNode({ plugins: [liarBlobs(id, bytes.length, serve(bytes))] })
    const honest = await startNode()
    try {
      await honest.blobs.store.addBytes(bytes)
      const wanted = victim.blobs.want(id)
      await victim.server.connect(bad.address)
      await until(
        () => victim.blobs.status().rejected[offence] === 1,
        20_000,
        `a ${offence} strike`,
      )
      assert.equal(await victim.blobs.store.has(id), false)
      assert.deepEqual(await blobFiles(victim.path), [], 'nothing stored, no temp file')
      await victim.server.connect(honest.address)
      assert.equal(await within(wanted, 10_000, 'the blob'), true)
      assert.deepEqual(await bytesOf(victim, id), bytes)
      assert.ok(
        records.some((r) => r.offence === offence),
        'the bad peer was logged',
      )
      assert.deepEqual(
        (await blobFiles(victim.path)).filter((f) => f.startsWith('tmp/')),
        [],
      )
    } finally {
      await honest.stop()
      await bad.stop()
      await victim.stop()
    }
  }

  test('corrupt bytes are thrown away and the blob comes from an honest peer', async () => {
    await honestAfterLiar(
      (bytes) =>
        async function* () {
          const copy = Buffer.from(bytes)
          copy[500] = (copy[500] ?? 0) ^ 1
          yield copy
        },
      'corrupt',
    )
  })

  test('a peer streaming past the cap is cut off at the cap', async () => {
    let sent = 0
    let stopped = false
    await honestAfterLiar(
      () =>
        async function* (signal) {
          const chunk = Buffer.alloc(65536, 7)
          try {
            while (!signal.aborted) {
              sent += chunk.length
              yield chunk
            }
          } finally {
            stopped = true
          }
        },
      'oversized',
    )
    assert.ok(stopped, 'the endless stream was ended')
    assert.ok(sent < 5 * 1024 * 1024 + 16 * 1024 * 1024, `sent ${sent} bytes`)
  })

  test('a stalled download is dropped after fetchTimeout', async () => {
    await honestAfterLiar(
      () =>
        async function* (signal) {
          await new Promise((r) => signal.addEventListener('abort', r))
        },
      'stalled',
      { fetchTimeout: 300 },
    )
  })

  test('a flood of 100,000 wants is bounded, and forgotten when the peer leaves', async () => {
    const flood: Plugin = liarBlobs(
      '',
      0,
      async function* () {},
      async function* (signal) {
        for (let f = 0; f < 100 && !signal.aborted; f++) {
          const frame: Record<string, number> = {}
          for (let i = 0; i < 1000; i++) frame[blobIdOf(randomBytes(8))] = -1
          yield frame
        }
        await new Promise((r) => signal.addEventListener('abort', r))
      },
    )
    const victim = await startNode()
    const bad = await startNode({ plugins: [flood] })
    const watcher = await startNode({
      plugins: [
        liarBlobs(
          '',
          0,
          async function* () {},
          async function* (s) {
            await new Promise((r) => s.addEventListener('abort', r))
          },
        ),
      ],
    })
    try {
      // a third peer sees what the victim relays
      const seen = new Set<string>()
      const session = await watcher.server.connect(victim.address)
      void (async () => {
        for await (const frame of session.source(['blobs', 'createWants'], [])) {
          for (const k of Object.keys(frame as object)) seen.add(k)
        }
      })().catch(() => {})
      const before = process.memoryUsage().rss
      const link = await victim.server.connect(bad.address)
      await until(() => victim.blobs.status().relayed === 1000, 20_000, 'the relay cap')
      await sleep(300)
      assert.equal(victim.blobs.status().relayed, 1000)
      assert.ok(seen.size <= 1000, `relayed ${seen.size} ids`)
      assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024)
      await link.close()
      await until(() => victim.blobs.status().relayed === 0, 5000, 'the flood to be forgotten')
    } finally {
      await watcher.stop()
      await bad.stop()
      await victim.stop()
    }
  })
})

describe('legacy peers', () => {
  test('a peer without createWants is asked with blobs.has and served through blobs.get', async () => {
    const bytes = randomBytes(3000)
    const id = blobIdOf(bytes)
    const asked: unknown[] = []
    const legacy: Plugin = {
      name: 'blobs',
      anonymous: ['get', 'has', 'changes'],
      init: () => ({
        methods: {
          get: {
            type: 'source',
            fn: async function* () {
              yield bytes
            },
          },
          has: {
            type: 'async',
            fn: (args) => {
              asked.push(args[0])
              const ids = args[0] as string[]
              return ids.map((x) => x === id)
            },
          },
          changes: {
            type: 'source',
            fn: async function* (_a, call: IncomingCall) {
              await new Promise((r) => call.signal.addEventListener('abort', r))
            },
          },
        },
      }),
    }
    const old = await startNode({ plugins: [legacy] })
    const node = await startNode()
    try {
      await node.server.connect(old.address)
      await sleep(100) // createWants is refused, the legacy exchange starts
      assert.equal(await within(node.blobs.want(id), 10_000, 'the blob'), true)
      assert.ok(
        asked.some((a) => Array.isArray(a) && a.includes(id)),
        'asked with blobs.has',
      )
      assert.deepEqual(await bytesOf(node, id), bytes)
    } finally {
      await node.stop()
      await old.stop()
    }
  })

  test('blobs.legacy false: no fallback', async () => {
    const bytes = randomBytes(3000)
    const id = blobIdOf(bytes)
    let asked = 0
    const legacy: Plugin = {
      name: 'blobs',
      anonymous: ['get', 'has', 'changes'],
      init: () => ({
        methods: {
          has: {
            type: 'async',
            fn: () => {
              asked++
              return [true]
            },
          },
        },
      }),
    }
    const old = await startNode({ plugins: [legacy] })
    const node = await startNode({ blobs: { legacy: false } })
    try {
      await node.server.connect(old.address)
      const wanted = node.blobs.want(id)
      await sleep(300)
      assert.equal(asked, 0)
      assert.equal(await node.blobs.store.has(id), false)
      void wanted
    } finally {
      await node.stop()
      await old.stop()
    }
  })
})
