// The blob store on real temp dirs: the API, multiblob's layout (with multiblob itself, configured
// as ssb-blobs' create.js does, as the oracle in both directions), caps, failures that must leave
// nothing behind, hostile ids, and a SIGKILL in the middle of adds (ssb-protocol.md §6.1,
// bad-inputs.md §7).
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs, { existsSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BlobId } from '@scuttlekit/ssb-ref'
import { blobIdOf, EMPTY_BLOB_ID } from '../src/blob-id.js'
import { type BlobMeta, BlobStore, type BlobStoreOptions } from '../src/store.js'

const require = createRequire(import.meta.url)
const pull = require('pull-stream') as PullStream
const createMultiblob = require('ssb-blobs/create.js') as (dir: string) => Multiblob

type Cb<T> = (err: Error | null, value?: T) => void
type Source = unknown
interface PullStream {
  (...parts: unknown[]): unknown
  values(items: unknown[]): Source
  collect<T>(cb: Cb<T[]>): unknown
}
interface Multiblob {
  add(cb: Cb<string>): unknown
  get(id: string): Source
  getSlice(opts: object): Source
  has(id: string, cb: Cb<boolean>): void
  size(id: string, cb: Cb<number | null>): void
  ls(opts: object): Source
}

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..')
const MiB = 1024 * 1024

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'skblobs-'))
}

async function withStore(
  fn: (store: BlobStore, dir: string) => Promise<void>,
  options?: BlobStoreOptions,
): Promise<void> {
  const dir = await tempDir()
  const store = await BlobStore.open(dir, options)
  try {
    await fn(store, dir)
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function chunksOf(src: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const c of src) out.push(c)
  return out
}

async function bytesOf(src: AsyncIterable<Buffer>): Promise<Buffer> {
  return Buffer.concat(await chunksOf(src))
}

async function all<T>(src: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of src) out.push(x)
  return out
}

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath ?? e.path, e.name)))
  }
  return out.sort()
}

/** After a failed add on a store that was empty: nothing staged, nothing stored. */
async function assertNothingKept(dir: string): Promise<void> {
  assert.deepEqual(await readdir(join(dir, 'tmp')), [])
  assert.deepEqual(await filesUnder(join(dir, 'sha256')), [])
}

function rejectsNamed(p: Promise<unknown>, name: string, message?: string): Promise<void> {
  return assert.rejects(p, (err: Error) => {
    assert.equal(err.name, name)
    if (message !== undefined) assert.equal(err.message, message)
    return true
  })
}

function split(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size))
  return out
}

/** A source that yields `chunk` forever and records how far it got and whether it was stopped. */
function endless(chunk: Buffer) {
  const state = { produced: 0, returned: false }
  const iterator: AsyncIterableIterator<Buffer> = {
    [Symbol.asyncIterator]() {
      return this
    },
    async next() {
      state.produced += chunk.length
      return { done: false, value: chunk }
    },
    async return() {
      state.returned = true
      return { done: true, value: undefined }
    },
  }
  return { iterator, state }
}

/** Open file descriptors of this process (Linux), to prove reads close their handle. */
function openFds(): number | undefined {
  return existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : undefined
}

describe('layout and basic operations', () => {
  test('open makes sha256/ and wipes tmp/', async () => {
    const dir = await tempDir()
    try {
      await mkdir(join(dir, 'tmp', 'sub'), { recursive: true })
      await writeFile(join(dir, 'tmp', 'leftover'), 'x')
      const store = await BlobStore.open(dir)
      assert.equal(store.dir, dir)
      assert.deepEqual(await readdir(join(dir, 'tmp')), [])
      assert.ok((await stat(join(dir, 'sha256'))).isDirectory())
      await store.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('add, has, size, meta, read, path, rm', async () => {
    await withStore(async (store, dir) => {
      const bytes = Buffer.from('hello blob')
      const id = blobIdOf(bytes)
      assert.equal(await store.has(id), false)
      assert.equal(await store.size(id), null)
      assert.equal(await store.meta(id), null)

      const events: BlobMeta[] = []
      store.onAdd((m) => events.push(m))
      const res = await store.addBytes(bytes)
      assert.equal(res.id, id)
      assert.equal(res.size, 10)
      assert.equal(res.added, true)

      const hex = createHash('sha256').update(bytes).digest('hex')
      const file = join(dir, 'sha256', hex.slice(0, 2), hex.slice(2))
      assert.equal(store.path(id), file)
      assert.deepEqual(await readFile(file), bytes)
      assert.deepEqual(await filesUnder(dir), [relative(dir, file)])
      assert.equal(+(await stat(file)).ctime, res.ts)

      assert.equal(await store.has(id), true)
      assert.equal(await store.size(id), 10)
      assert.deepEqual(await store.meta(id), { id, size: 10, ts: res.ts })
      assert.deepEqual(events, [{ id, size: 10, ts: res.ts }])
      assert.deepEqual(await bytesOf(store.read(id)), bytes)

      const again = await store.addBytes(bytes)
      assert.deepEqual(again, { id, size: 10, ts: res.ts, added: false })
      assert.equal(events.length, 1, 'no event for a blob already stored')
      assert.deepEqual(await readdir(join(dir, 'tmp')), [])

      assert.equal(await store.rm(id), true)
      assert.equal(await store.rm(id), false)
      assert.equal(await store.has(id), false)
      await rejectsNamed(bytesOf(store.read(id)), 'BlobNotFoundError', `blob not found: ${id}`)
    })
  })

  test('the empty blob is always there and never a file', async () => {
    await withStore(async (store, dir) => {
      const events: BlobMeta[] = []
      store.onAdd((m) => events.push(m))
      assert.equal(await store.has(EMPTY_BLOB_ID), true)
      assert.equal(await store.size(EMPTY_BLOB_ID), 0)
      assert.deepEqual(await store.meta(EMPTY_BLOB_ID), { id: EMPTY_BLOB_ID, size: 0, ts: 0 })
      assert.deepEqual(await chunksOf(store.read(EMPTY_BLOB_ID)), [])
      assert.deepEqual(await chunksOf(store.read(EMPTY_BLOB_ID, { size: 0, max: 0 })), [])
      await rejectsNamed(
        bytesOf(store.read(EMPTY_BLOB_ID, { size: 3 })),
        'BlobSizeMismatchError',
        `incorrect file length, requested:3 file was:0 for file:${EMPTY_BLOB_ID}`,
      )
      const res = await store.add([], { expected: EMPTY_BLOB_ID })
      assert.deepEqual(res, { id: EMPTY_BLOB_ID, size: 0, ts: 0, added: false })
      assert.equal((await store.addBytes('')).id, EMPTY_BLOB_ID)
      await assertNothingKept(dir)
      assert.deepEqual(events, [])
      assert.deepEqual(await all(store.ls()), [])
      assert.equal(await store.rm(EMPTY_BLOB_ID), false)
      assert.equal(await store.has(EMPTY_BLOB_ID), true)
    })
  })

  test('expected: the right id stores, a wrong one keeps nothing', async () => {
    await withStore(async (store, dir) => {
      const bytes = randomBytes(1000)
      const id = blobIdOf(bytes)
      const other = blobIdOf('other')
      await rejectsNamed(
        store.add(split(bytes, 100), { expected: other }),
        'BlobHashMismatchError',
        `actual hash:${id} did not match expected id:${other}`,
      )
      await assertNothingKept(dir)
      assert.equal(await store.has(other), false)
      const res = await store.add(split(bytes, 100), { expected: id })
      assert.equal(res.added, true)
      assert.deepEqual(await bytesOf(store.read(id)), bytes)
    })
  })

  test('strings are UTF-8; every chunking gives the same blob', async () => {
    await withStore(async (store, dir) => {
      const text = 'héllo ☃ '.repeat(5000)
      const bytes = Buffer.from(text, 'utf8')
      const id = blobIdOf(bytes)
      assert.equal((await store.addBytes(text)).id, id)
      assert.equal((await store.add([text.slice(0, 7), Buffer.from(text.slice(7))])).id, id)
      for (const size of [1, 3, 7, 1000, 4096, 65535, 65536, 65537, bytes.length]) {
        const chunks = size === 1 ? split(bytes.subarray(0, 2000), 1) : split(bytes, size)
        const expect = size === 1 ? blobIdOf(bytes.subarray(0, 2000)) : id
        const asyncSource = (async function* () {
          for (const c of chunks) yield new Uint8Array(c)
        })()
        const res = await store.add(asyncSource)
        assert.equal(res.id, expect, `chunk size ${size}`)
      }
      assert.deepEqual(await bytesOf(store.read(id)), bytes)
      // a named error (a peer's `blobs.add` sink can carry JSON values), and no tmp file left
      for (const bad of [42, null, { a: 1 }]) {
        await assert.rejects(store.add([bad as unknown as string]), {
          name: 'BlobArgumentError',
          message: `blob chunks must be bytes or strings, got ${bad === null ? 'null' : typeof bad}`,
        })
      }
      assert.deepEqual(await readdir(join(dir, 'tmp')), [])
    })
  })

  test('5 MiB exactly: stored under max, read back in 65536-byte chunks', async () => {
    await withStore(async (store) => {
      const bytes = randomBytes(5 * MiB)
      const res = await store.add(split(bytes, 100_000), { max: 5 * MiB })
      assert.equal(res.size, 5 * MiB)
      const chunks = await chunksOf(store.read(res.id))
      assert.equal(chunks.length, 80)
      assert.ok(chunks.every((c) => c.length === 65536))
      assert.deepEqual(Buffer.concat(chunks), bytes)
    })
  })
})

describe('reads', () => {
  test('ranges, chunking, size and max', async () => {
    await withStore(async (store) => {
      const bytes = randomBytes(200_000)
      const { id } = await store.addBytes(bytes)
      const lens = async (o: object) => (await chunksOf(store.read(id, o))).map((c) => c.length)
      assert.deepEqual(await lens({}), [65536, 65536, 65536, 3392])
      assert.deepEqual(await lens({ start: 1000, end: 140_000 }), [65536, 65536, 7928])
      assert.deepEqual(await bytesOf(store.read(id, { start: 2, end: 5 })), bytes.subarray(2, 5))
      assert.deepEqual(await bytesOf(store.read(id, { start: 199_999 })), bytes.subarray(199_999))
      assert.deepEqual(await lens({ start: 200_000 }), [])
      assert.deepEqual(await lens({ start: 0, end: 0 }), [], 'end: 0 is an empty range')
      assert.deepEqual(await lens({ start: 7, end: 7 }), [])
      assert.deepEqual(await lens({ size: 200_000, max: 200_000 }), [65536, 65536, 65536, 3392])
      // null is "not given" (JSON from a peer has no undefined)
      const nulls = { start: null, end: null, size: null, max: null }
      assert.deepEqual(await bytesOf(store.read(id, nulls as object)), bytes)

      for (const range of [
        { start: 0, end: 200_001 },
        { start: 200_001 },
        { start: 6, end: 5 },
        { start: -1 },
        { end: -1 },
        { start: 1.5 },
        { end: Number.NaN },
        { start: '1' },
        { end: Number.POSITIVE_INFINITY },
        // JSON that JS cannot make a primitive of (String throws on it)
        { start: JSON.parse('{"toString": 1}') },
        { end: [JSON.parse('{"toString": 1}')] },
      ]) {
        await rejectsNamed(bytesOf(store.read(id, range as object)), 'InvalidBlobRangeError')
      }
      await rejectsNamed(
        bytesOf(store.read(id, { size: 5 })),
        'BlobSizeMismatchError',
        `incorrect file length, requested:5 file was:200000 for file:${id}`,
      )
      // multiblob prints `size` even when `max` was the cause
      await rejectsNamed(
        bytesOf(store.read(id, { max: 199_999 })),
        'BlobSizeMismatchError',
        `incorrect file length, requested:undefined file was:200000 for file:${id}`,
      )
    })
  })

  test('chunkSize option; the file handle is closed on end, error and early return', async () => {
    await withStore(
      async (store) => {
        const bytes = randomBytes(10_000)
        const { id } = await store.addBytes(bytes)
        const chunks = await chunksOf(store.read(id, { start: 10 }))
        assert.deepEqual(
          chunks.map((c) => c.length),
          [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 990],
        )
        assert.deepEqual(Buffer.concat(chunks), bytes.subarray(10))

        const before = openFds()
        for (let i = 0; i < 20; i++) {
          for await (const _ of store.read(id)) break
          await assert.rejects(bytesOf(store.read(id, { size: 1 })))
          await bytesOf(store.read(id))
        }
        // a read that is never iterated opens nothing
        store.read(id)
        if (before !== undefined) assert.equal(openFds(), before)

        const ac = new AbortController()
        const it = store.read(id, { signal: ac.signal })[Symbol.asyncIterator]()
        assert.equal((await it.next()).value?.length, 1000)
        ac.abort()
        await rejectsNamed(it.next(), 'AbortError')
        if (before !== undefined) assert.equal(openFds(), before)
      },
      { chunkSize: 1000 },
    )
  })
})

describe('failures leave nothing behind', () => {
  test('cap: exactly max passes, max + 1 fails', async () => {
    await withStore(async (store, dir) => {
      const bytes = randomBytes(100_001)
      await rejectsNamed(
        store.add(split(bytes, 4096), { max: 100_000 }),
        'BlobTooLargeError',
        'blob (unknown id) is larger than the limit of 100000 bytes',
      )
      await assertNothingKept(dir)
      const id = blobIdOf(bytes)
      await rejectsNamed(
        store.addBytes(bytes, { max: 100_000, expected: id }),
        'BlobTooLargeError',
        `blob ${id} is larger than the limit of 100000 bytes`,
      )
      await assertNothingKept(dir)
      await rejectsNamed(store.addBytes('x', { max: 0 }), 'BlobTooLargeError')
      await assertNothingKept(dir)
      const ok = await store.addBytes(bytes.subarray(0, 100_000), { max: 100_000 })
      assert.equal(ok.size, 100_000)
      assert.equal((await store.addBytes('', { max: 0 })).id, EMPTY_BLOB_ID)
    })
  })

  test('an endless source is cut off once the cap is passed, and stopped', async () => {
    await withStore(async (store, dir) => {
      const chunk = randomBytes(65536)
      const { iterator, state } = endless(chunk)
      await rejectsNamed(store.add(iterator, { max: 5 * MiB }), 'BlobTooLargeError')
      assert.equal(state.returned, true)
      assert.ok(state.produced <= 5 * MiB + chunk.length, `read ${state.produced} bytes`)

      let finallyRan = false
      const gen = (function* () {
        try {
          for (;;) yield 'x'.repeat(1000)
        } finally {
          finallyRan = true
        }
      })()
      await rejectsNamed(store.add(gen, { max: 10_500 }), 'BlobTooLargeError')
      assert.equal(finallyRan, true)
      await assertNothingKept(dir)
    })
  })

  test('a source error, a hash mismatch, an abort', async () => {
    await withStore(async (store, dir) => {
      const boom = new Error('boom')
      await assert.rejects(
        store.add(
          (async function* () {
            yield randomBytes(70_000)
            throw boom
          })(),
        ),
        (err) => err === boom,
      )
      await assertNothingKept(dir)

      // abort while the source is stalled: rejects promptly with the signal's reason
      const ac = new AbortController()
      let returned = false
      let pulls = 0
      const stalled: AsyncIterableIterator<Uint8Array> = {
        [Symbol.asyncIterator]() {
          return this
        },
        next() {
          pulls++
          if (pulls === 1) return Promise.resolve({ done: false, value: randomBytes(5000) })
          setImmediate(() => ac.abort())
          return new Promise(() => {})
        },
        async return() {
          returned = true
          return { done: true, value: undefined }
        },
      }
      await rejectsNamed(store.add(stalled, { signal: ac.signal }), 'AbortError')
      assert.equal(returned, true)
      await assertNothingKept(dir)

      // the same with an async generator, whose return() would wait behind the stalled next()
      const ac3 = new AbortController()
      const stalledGen = (async function* () {
        yield randomBytes(5000)
        setImmediate(() => ac3.abort())
        await new Promise(() => {})
      })()
      await rejectsNamed(store.add(stalledGen, { signal: ac3.signal }), 'AbortError')
      await assertNothingKept(dir)

      // abort between chunks of an async generator: its finally block runs
      const ac2 = new AbortController()
      let genClosed = false
      const gen = (async function* () {
        try {
          for (let i = 0; ; i++) {
            if (i === 3) ac2.abort(new Error('stop'))
            yield randomBytes(1000)
          }
        } finally {
          genClosed = true
        }
      })()
      await assert.rejects(store.add(gen, { signal: ac2.signal }), /stop/)
      assert.equal(genClosed, true)
      await assertNothingKept(dir)

      // an already aborted signal: the source is not read at all
      let read = false
      const lazy = (function* () {
        read = true
        yield 'x'
      })()
      await rejectsNamed(store.add(lazy, { signal: AbortSignal.abort() }), 'AbortError')
      assert.equal(read, false)
      await assertNothingKept(dir)
    })
  })

  test('a torn file at the final path (a store that never synced) is replaced', async () => {
    await withStore(async (store) => {
      const bytes = randomBytes(3000)
      const id = blobIdOf(bytes)
      await mkdir(dirname(store.path(id)), { recursive: true })
      await writeFile(store.path(id), bytes.subarray(0, 1000))
      const res = await store.addBytes(bytes)
      assert.equal(res.added, true)
      assert.deepEqual(await readFile(store.path(id)), bytes)
    })
  })
})

describe('concurrency, events, close', () => {
  test('concurrent adds of one blob: one is added, the file is whole', async () => {
    await withStore(async (store, dir) => {
      const bytes = randomBytes(300_000)
      let events = 0
      store.onAdd(() => events++)
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.add(split(bytes, 10_000 + i * 777))),
      )
      assert.equal(results.filter((r) => r.added).length, 1)
      assert.ok(results.every((r) => r.id === blobIdOf(bytes) && r.size === bytes.length))
      assert.equal(events, 1)
      assert.deepEqual(await readFile(store.path(blobIdOf(bytes))), bytes)
      assert.deepEqual(await readdir(join(dir, 'tmp')), [])
    })
  })

  test('onAdd: unsubscribe, and a throwing listener does not fail the add', async () => {
    await withStore(async (store) => {
      const seen: string[] = []
      const off = store.onAdd((m) => seen.push(m.id))
      store.onAdd(() => {
        throw new Error('listener bug')
      })
      const a = await store.addBytes('a')
      off()
      await store.addBytes('b')
      assert.deepEqual(seen, [a.id])
    })
  })

  test('close waits for adds in flight, then refuses everything', async () => {
    const dir = await tempDir()
    try {
      const store = await BlobStore.open(dir)
      const { id } = await store.addBytes('kept')
      let release!: () => void
      const gate = new Promise<void>((r) => {
        release = r
      })
      const slow = store.add(
        (async function* () {
          yield 'slow '
          await gate
          yield 'blob'
        })(),
      )
      const live = store.ls({ old: false, live: true })[Symbol.asyncIterator]()
      const liveNext = live.next()
      let closed = false
      const closing = store.close().then(() => {
        closed = true
      })
      await new Promise((r) => setImmediate(r))
      assert.equal(closed, false, 'close waits for the add')
      assert.deepEqual(await liveNext, { done: true, value: undefined }, 'live ls ended')
      release()
      const res = await slow
      await closing
      assert.equal(res.id, blobIdOf('slow blob'))
      await store.close()

      await rejectsNamed(store.addBytes('x'), 'BlobStoreClosedError', 'the blob store is closed')
      await rejectsNamed(store.has(id), 'BlobStoreClosedError')
      await rejectsNamed(store.size(id), 'BlobStoreClosedError')
      await rejectsNamed(store.meta(id), 'BlobStoreClosedError')
      await rejectsNamed(store.rm(id), 'BlobStoreClosedError')
      assert.throws(() => store.read(id), { name: 'BlobStoreClosedError' })
      assert.throws(() => store.ls(), { name: 'BlobStoreClosedError' })
      assert.throws(() => store.onAdd(() => {}), { name: 'BlobStoreClosedError' })
      assert.ok(store.path(id).startsWith(join(dir, 'sha256')), 'path() is pure')

      const reopened = await BlobStore.open(dir)
      assert.equal(await reopened.has(id), true)
      assert.equal(await reopened.has(res.id), true)
      await reopened.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('ls', () => {
  test('old: every blob once, with size and ts; junk is skipped', async () => {
    await withStore(async (store, dir) => {
      const metas = new Map<string, BlobMeta>()
      for (let i = 0; i < 40; i++) {
        const r = await store.addBytes(randomBytes(i * 13))
        if (r.id !== EMPTY_BLOB_ID) metas.set(r.id, { id: r.id, size: r.size, ts: r.ts })
      }
      const sha = join(dir, 'sha256')
      const someId = [...metas.keys()][0] as BlobId
      const prefix = dirname(store.path(someId))
      await writeFile(join(prefix, 'not-a-blob'), 'x')
      await writeFile(join(prefix, 'A'.repeat(62)), 'x')
      await writeFile(join(prefix, `${'a'.repeat(62)}.tmp`), 'x')
      await mkdir(join(prefix, 'b'.repeat(62)))
      await mkdir(join(sha, 'zz'))
      await writeFile(join(sha, 'zz', 'c'.repeat(62)), 'x')
      await writeFile(join(sha, 'stray'), 'x')
      await mkdir(join(dir, 'blake2s', 'ab'), { recursive: true })
      await writeFile(join(dir, 'blake2s', 'ab', 'd'.repeat(62)), 'x')
      await writeFile(join(dir, 'tmp', 'staged'), 'x')

      const listed = await all(store.ls())
      assert.equal(listed.length, metas.size)
      assert.deepEqual(new Map(listed.map((m) => [m.id, m])), metas)
      assert.deepEqual(await all(store.ls({ old: false })), [])
    })
  })

  test('live: new blobs only; old + live: each blob exactly once under concurrent adds', async () => {
    await withStore(async (store) => {
      const before = new Set<string>()
      for (let i = 0; i < 200; i++) before.add((await store.addBytes(`before ${i}`)).id)

      const liveOnly = store.ls({ old: false, live: true })[Symbol.asyncIterator]()
      const both = store.ls({ live: true })
      const during = new Set<string>()
      // in the background: adds whose rename and event straddle the listing
      const adding = (async () => {
        for (let i = 0; i < 60; i++) during.add((await store.addBytes(`during ${i}`)).id)
      })()
      const seen: string[] = []
      for await (const m of both) {
        seen.push(m.id)
        // in step with the listing: blobs whose event is queued before the walk reaches them
        if (seen.length <= 20) during.add((await store.addBytes(`in step ${seen.length}`)).id)
        else await new Promise((r) => setImmediate(r))
        if (seen.length === 280) break
      }
      await adding
      assert.equal(new Set(seen).size, 280, 'no duplicates')
      assert.deepEqual(new Set(seen), new Set([...before, ...during]))

      const liveSeen: string[] = []
      for (let i = 0; i < 80; i++) liveSeen.push(((await liveOnly.next()).value as BlobMeta).id)
      assert.deepEqual(new Set(liveSeen), during)
      await liveOnly.return?.()
    })
  })

  test('old + live: a blob renamed in place but not yet announced comes once', async () => {
    await withStore(async (store) => {
      for (let i = 0; i < 5; i++) await store.addBytes(`old ${i}`)
      // Hold the add of X between its rename and its event: the fsync of its directory waits.
      // the store opens files through the callback API (src/fd.ts)
      const fsc = fs as unknown as Record<string, unknown>
      const realOpen = fsc.open as (...a: unknown[]) => void
      let release!: () => void
      const gate = new Promise<void>((r) => {
        release = r
      })
      let held!: () => void
      const holding = new Promise<void>((r) => {
        held = r
      })
      fsc.open = (...a: unknown[]) => {
        if (/[/\\]sha256[/\\][0-9a-f]{2}$/.test(String(a[0]))) {
          held()
          void gate.then(() => realOpen(...a))
          return
        }
        realOpen(...a)
      }
      syncBuiltinESMExports()
      let adding: Promise<unknown>
      try {
        adding = store.addBytes('X')
        await holding
      } finally {
        fsc.open = realOpen
        syncBuiltinESMExports()
      }
      const it = store.ls({ live: true })[Symbol.asyncIterator]()
      const old: string[] = []
      for (let i = 0; i < 6; i++) old.push(((await it.next()).value as BlobMeta).id)
      assert.ok(old.includes(blobIdOf('X')), 'the walk saw the renamed file')
      release()
      assert.equal(((await adding) as { added: boolean }).added, true)
      const y = await store.addBytes('Y')
      assert.equal(((await it.next()).value as BlobMeta).id, y.id, 'X did not come twice')
      await it.return?.()
    })
  })

  test('a live consumer that never reads is cut off at the cap', async () => {
    await withStore(
      async (store) => {
        const it = store.ls({ old: false, live: true })[Symbol.asyncIterator]()
        for (let i = 0; i < 7; i++) await store.addBytes(`blob ${i}`)
        await rejectsNamed(it.next(), 'BlobSlowConsumerError')
        assert.deepEqual(await it.next(), { done: true, value: undefined })

        // one that keeps up is not
        const ok = store.ls({ old: false, live: true })[Symbol.asyncIterator]()
        for (let i = 0; i < 20; i++) {
          const r = await store.addBytes(`kept up ${i}`)
          assert.equal(((await ok.next()).value as BlobMeta).id, r.id)
        }
        await ok.return?.()
      },
      { liveQueueCap: 5 },
    )
  })

  test('a signal ends a live listing', async () => {
    await withStore(async (store) => {
      const ac = new AbortController()
      const it = store.ls({ live: true, signal: ac.signal })[Symbol.asyncIterator]()
      const pending = it.next()
      ac.abort()
      await rejectsNamed(pending, 'AbortError')
    })
  })
})

describe('malformed ids', () => {
  const BAD = [
    '&../../../../../../tmp/sentinel',
    `&../../sentinel${'A'.repeat(29)}=.sha256`,
    `&${'A'.repeat(42)}AA=_sha256`,
    `&${'A'.repeat(42)}AB=.sha256`,
    `&${'A'.repeat(43)}.sha256`,
    '',
    null,
    undefined,
    42,
    { id: EMPTY_BLOB_ID },
  ]

  test('every method throws InvalidBlobIdError, with no file system call', async () => {
    await withStore(async (store) => {
      // both APIs the store uses: fs/promises, and the callback API of src/fd.ts
      const fsp = fs.promises as unknown as Record<string, unknown>
      const fsc = fs as unknown as Record<string, unknown>
      const names = ['open', 'stat', 'lstat', 'unlink', 'readdir', 'mkdir', 'rename', 'rm']
      const saved = new Map<[Record<string, unknown>, string], unknown>()
      const calls: string[] = []
      for (const [api, list] of [
        [fsp, names],
        [fsc, [...names, 'openSync', 'statSync', 'fstatSync', 'renameSync']],
      ] as const) {
        for (const n of list) {
          const orig = api[n] as (...a: unknown[]) => unknown
          saved.set([api, n], orig)
          api[n] = (...a: unknown[]) => {
            calls.push(`${n} ${String(a[0])}`)
            return orig(...a)
          }
        }
      }
      syncBuiltinESMExports()
      try {
        // the spy works: a valid id does reach the file system
        await store.has(blobIdOf('x'))
        assert.ok(calls.length > 0, 'spy sees calls')
        calls.length = 0
        for (const bad of BAD) {
          const id = bad as string
          const isInvalid = { name: 'InvalidBlobIdError' }
          assert.throws(() => store.path(id), isInvalid)
          await assert.rejects(store.has(id), isInvalid)
          await assert.rejects(store.size(id), isInvalid)
          await assert.rejects(store.meta(id), isInvalid)
          await assert.rejects(store.rm(id), isInvalid)
          assert.throws(() => store.read(id), isInvalid)
          if (bad == null) continue // no `expected` at all
          let returned = false
          const src = (function* () {
            try {
              yield 'data'
            } finally {
              returned = true
            }
          })()
          src.next()
          await assert.rejects(store.add(src, { expected: id as BlobId }), isInvalid)
          assert.equal(returned, true, 'the source was stopped')
        }
        assert.deepEqual(calls, [])
      } finally {
        for (const [[api, n], f] of saved) api[n] = f
        syncBuiltinESMExports()
      }
    })
  })

  test('traversal ids cannot touch a file outside the store', async () => {
    const parent = await tempDir()
    try {
      const dir = join(parent, 'a', 'b', 'store')
      const store = await BlobStore.open(dir)
      const sentinel = join(parent, 'sentinel')
      await writeFile(sentinel, 'keep me')
      const before = await stat(sentinel)
      const rel = relative(join(dir, 'sha256', 'xx'), sentinel)
      for (const id of [`&${rel}`, `&${rel}.sha256`, `&${rel.padEnd(44, '/')}.sha256`]) {
        await assert.rejects(store.rm(id), { name: 'InvalidBlobIdError' })
        await assert.rejects(store.addBytes('overwrite', { expected: id as BlobId }), {
          name: 'InvalidBlobIdError',
        })
        await assert.rejects(store.has(id), { name: 'InvalidBlobIdError' })
      }
      assert.equal(await readFile(sentinel, 'utf8'), 'keep me')
      assert.equal((await stat(sentinel)).mtimeMs, before.mtimeMs)
      await store.close()
    } finally {
      await rm(parent, { recursive: true, force: true })
    }
  })
})

describe('multiblob as the oracle (configured by ssb-blobs/create.js)', () => {
  const mbAdd = (mb: Multiblob, chunks: Buffer[]) =>
    new Promise<string>((res, rej) => {
      pull(
        pull.values(chunks),
        mb.add((err, id) => (err ? rej(err) : res(id as string))),
      )
    })
  const mbCollect = <T>(source: Source) =>
    new Promise<T[]>((res, rej) => {
      pull(
        source,
        pull.collect<T>((err, items) => (err ? rej(err) : res(items as T[]))),
      )
    })
  const mbCall = <T>(fn: (cb: Cb<T>) => void) =>
    new Promise<T>((res, rej) => fn((err, v) => (err ? rej(err) : res(v as T))))

  const samples = () => [
    Buffer.from('hello blob'),
    randomBytes(1),
    randomBytes(65536),
    randomBytes(65537),
    randomBytes(300_000),
    Buffer.from('☃'.repeat(1000)),
  ]

  test('a directory written by multiblob is read by our store', async () => {
    const dir = await tempDir()
    try {
      const mb = createMultiblob(dir)
      const blobs = samples()
      const ids: string[] = []
      for (const b of blobs) ids.push(await mbAdd(mb, split(b, 10_000)))
      const mbLs = await mbCollect<BlobMeta>(mb.ls({ meta: true }))

      const store = await BlobStore.open(dir)
      const listed = await all(store.ls())
      assert.deepEqual(listed.map((m) => m.id).sort(), blobs.map((b) => blobIdOf(b)).sort())
      assert.deepEqual(
        new Map(listed.map((m) => [m.id, m])),
        new Map(mbLs.map((m) => [m.id, { id: m.id, size: m.size, ts: m.ts }])),
      )
      for (const [i, b] of blobs.entries()) {
        const id = ids[i] as string
        assert.equal(id, blobIdOf(b))
        assert.equal(await store.size(id), b.length)
        assert.equal(await store.has(id), true)
        assert.deepEqual(await bytesOf(store.read(id)), b)
        assert.equal((await store.addBytes(b)).added, false)
      }
      await store.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a directory written by our store is read by multiblob', async () => {
    await withStore(async (store, dir) => {
      const blobs = samples()
      const results = []
      for (const b of blobs) results.push(await store.add(split(b, 7000)))
      const mb = createMultiblob(dir)
      const mbLs = await mbCollect<BlobMeta>(mb.ls({ meta: true }))
      assert.deepEqual(
        new Map(mbLs.map((m) => [m.id, { id: m.id, size: m.size, ts: m.ts }])),
        new Map(results.map((r) => [r.id, { id: r.id, size: r.size, ts: r.ts }])),
      )
      assert.deepEqual((await mbCollect<string>(mb.ls({}))).sort(), results.map((r) => r.id).sort())
      for (const [i, b] of blobs.entries()) {
        const { id } = results[i] as { id: string }
        assert.equal(await mbCall<boolean>((cb) => mb.has(id, cb)), true)
        assert.equal(await mbCall<number | null>((cb) => mb.size(id, cb)), b.length)
        assert.deepEqual(Buffer.concat(await mbCollect<Buffer>(mb.get(id))), b)
        if (b.length < 3) continue
        const slice = await mbCollect<Buffer>(mb.getSlice({ id, start: 1, end: 3 }))
        assert.deepEqual(Buffer.concat(slice), b.subarray(1, 3))
        assert.deepEqual(await bytesOf(store.read(id, { start: 1, end: 3 })), b.subarray(1, 3))
      }
      assert.equal(await mbCall<boolean>((cb) => mb.has(blobIdOf('absent'), cb)), false)
    })
  })
})

describe('crash safety', () => {
  test('SIGKILL in the middle of adds: acknowledged blobs survive, nothing is torn', async (t) => {
    const dir = await tempDir()
    const script = join(dir, 'child.mjs')
    const storeUrl = pathToFileURL(join(PKG, 'src', 'store.ts')).href
    await writeFile(
      script,
      `import { randomBytes, randomInt } from 'node:crypto'
import { BlobStore } from ${JSON.stringify(storeUrl)}
const store = await BlobStore.open(process.argv[2])
async function worker() {
  for (;;) {
    const bytes = randomBytes(randomInt(1, 400000))
    const source = (function* () {
      for (let i = 0; i < bytes.length; i += 16384) yield bytes.subarray(i, i + 16384)
    })()
    const res = await store.add(source)
    process.send(res.id)
  }
}
process.send('ready')
await Promise.all([worker(), worker(), worker(), worker()])
`,
    )
    const storeDir = join(dir, 'blobs')
    const child = fork(script, [storeDir], {
      cwd: PKG,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    const acked: string[] = []
    const exited = new Promise<NodeJS.Signals | null>((res) => {
      child.on('exit', (_code, signal) => res(signal))
    })
    await new Promise<void>((res, rej) => {
      child.on('error', rej)
      child.on('message', (m) => {
        if (m === 'ready') return
        acked.push(m as string)
        if (acked.length === 40) {
          child.kill('SIGKILL')
          res()
        }
      })
      child.on('exit', () => rej(new Error('the child exited before 40 adds')))
    })
    assert.equal(await exited, 'SIGKILL')

    try {
      const store = await BlobStore.open(storeDir)
      assert.deepEqual(await readdir(join(storeDir, 'tmp')), [])
      for (const id of acked) {
        const bytes = await bytesOf(store.read(id))
        assert.equal(blobIdOf(bytes), id)
      }
      let files = 0
      for await (const meta of store.ls()) {
        files++
        const bytes = await readFile(store.path(meta.id))
        assert.equal(blobIdOf(bytes), meta.id, 'no torn or wrong file under sha256')
      }
      assert.ok(files >= new Set(acked).size)
      const all256 = await filesUnder(join(storeDir, 'sha256'))
      assert.equal(all256.length, files, 'every file under sha256 is a well-named blob')
      await store.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('directories', () => {
  test('a prefix directory removed behind our back is made again by the next add', async () => {
    await withStore(async (store, dir) => {
      const first = randomBytes(100)
      const prefix = createHash('sha256').update(first).digest('hex').slice(0, 2)
      let second: Buffer
      do second = randomBytes(100)
      while (createHash('sha256').update(second).digest('hex').slice(0, 2) !== prefix)
      await store.addBytes(first)
      await rm(join(dir, 'sha256', prefix), { recursive: true })
      const r = await store.addBytes(second)
      assert.equal(r.added, true)
      assert.equal(await store.size(r.id), 100)
      assert.equal(await store.has(blobIdOf(first)), false)
    })
  })

  test('500 concurrent adds over shared directories: each durable and readable', async () => {
    await withStore(async (store) => {
      const blobs = Array.from({ length: 500 }, () => randomBytes(300))
      const results = await Promise.all(blobs.map((b) => store.addBytes(b)))
      for (const [i, r] of results.entries()) {
        assert.equal(r.added, true)
        const parts: Buffer[] = []
        for await (const c of store.read(r.id)) parts.push(c)
        assert.deepEqual(Buffer.concat(parts), blobs[i])
      }
    })
  })
})

describe('readers', () => {
  test('500 readers that stop after one chunk hold no file open', async () => {
    await withStore(async (store) => {
      const { id } = await store.addBytes(randomBytes(300_000))
      const fds = () => readdirSync('/proc/self/fd').length
      const before = fds()
      const its = Array.from({ length: 500 }, () => store.read(id)[Symbol.asyncIterator]())
      const firsts = await Promise.all(its.map((it) => it.next()))
      assert.ok(firsts.every((r) => !r.done && (r.value as Buffer).length === 65536))
      assert.ok(fds() - before < 10, `${fds() - before} more descriptors open`)
      // and each can still finish
      const rest = await Promise.all(
        its.slice(0, 5).map(async (it) => {
          let n = 65536
          for (let r = await it.next(); !r.done; r = await it.next()) n += r.value.length
          return n
        }),
      )
      assert.deepEqual(rest, [300_000, 300_000, 300_000, 300_000, 300_000])
      await Promise.all(its.map((it) => it.return?.()))
    })
  })
})

describe('writers', () => {
  test('maxOpenWrites bounds the temp files open at once; the others wait and then finish', async () => {
    await withStore(
      async (store, dir) => {
        let release!: () => void
        const gate = new Promise<void>((r) => {
          release = r
        })
        const blobs = Array.from({ length: 5 }, () => randomBytes(1000))
        const adds = blobs.map((b) =>
          store.add(
            (async function* () {
              yield b.subarray(0, 500)
              await gate
              yield b.subarray(500)
            })(),
          ),
        )
        const deadline = Date.now() + 5000
        while ((await readdir(join(dir, 'tmp'))).length < 2 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5))
        }
        await new Promise((r) => setTimeout(r, 50))
        assert.equal((await readdir(join(dir, 'tmp'))).length, 2)
        release()
        const results = await Promise.all(adds)
        assert.deepEqual(
          results.map((r) => r.id),
          blobs.map((b) => blobIdOf(b)),
        )
        assert.deepEqual(await readdir(join(dir, 'tmp')), [])
      },
      { maxOpenWrites: 2 },
    )
  })
})

describe('durability', () => {
  test('durable: false syncs the bytes but not the directories; the default syncs both', async () => {
    await withStore(async (store) => {
      const fsc = fs as unknown as Record<string, (...a: unknown[]) => unknown>
      const real = { fsync: fsc.fsync!, fdatasync: fsc.fdatasync! }
      const calls = { fsync: 0, fdatasync: 0 }
      for (const n of ['fsync', 'fdatasync'] as const) {
        fsc[n] = (...a: unknown[]) => {
          calls[n]++
          return real[n](...a)
        }
      }
      try {
        const light = await store.addBytes(randomBytes(100), { durable: false })
        assert.deepEqual(calls, { fsync: 0, fdatasync: 1 })
        assert.equal(await store.size(light.id), 100)
        await store.addBytes(randomBytes(100))
        assert.equal(calls.fdatasync, 2)
        assert.ok(calls.fsync >= 1, 'the default syncs the directory')
      } finally {
        fsc.fsync = real.fsync
        fsc.fdatasync = real.fdatasync
      }
    })
  })
})
