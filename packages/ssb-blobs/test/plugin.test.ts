// The blobs plugin's RPC methods on a real server: argument forms, error texts and permissions
// as ssb-blobs 1.2.2 has them (reference-features.md §1.7, ssb-protocol.md §6.2), over real
// secret-handshake connections on 127.0.0.1.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { blobIdOf, EMPTY_BLOB_ID } from '@scuttlekit/ssb-blobs'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { connect, type RpcSession } from '@scuttlekit/ssb-rpc'
import { collect, MAIN_NET_SHS, type Node, startNode, until } from './helpers/servers.js'

const appKey = Buffer.from(MAIN_NET_SHS, 'base64')
const HELLO = Buffer.from('hello blob')
const HELLO_ID = blobIdOf(HELLO)
const MISSING = blobIdOf('not stored anywhere')

describe('blobs methods', () => {
  let node: Node
  let master: RpcSession
  let anon: RpcSession

  before(async () => {
    node = await startNode()
    master = await connect(node.address, { keys: node.keys, appKey })
    anon = await connect(node.address, { keys: generateKeys(), appKey })
    await master.sink(['blobs', 'add'], [], [HELLO.subarray(0, 4), HELLO.subarray(4)])
  })
  after(async () => {
    await master.close()
    await anon.close()
    await node.stop()
  })

  test('the manifest has ssb-blobs 1.2.2 methods and types', async () => {
    const manifest = (await master.request(['manifest'], [])) as Record<string, unknown>
    assert.deepEqual(manifest.blobs, {
      get: 'source',
      getSlice: 'source',
      add: 'sink',
      rm: 'async',
      ls: 'source',
      has: 'async',
      size: 'async',
      meta: 'async',
      want: 'async',
      push: 'async',
      changes: 'source',
      createWants: 'source',
      help: 'sync',
    })
  })

  test('add over RPC stores the file where multiblob puts it', async () => {
    const hex = createHash('sha256').update(HELLO).digest('hex')
    const file = join(node.path, 'blobs', 'sha256', hex.slice(0, 2), hex.slice(2))
    assert.deepEqual(await readFile(file), HELLO)
    assert.equal(await master.request(['blobs', 'has'], [HELLO_ID]), true)
    assert.equal(await master.request(['blobs', 'size'], [HELLO_ID]), HELLO.length)
    assert.deepEqual(await master.request(['blobs', 'has'], [[HELLO_ID, MISSING]]), [true, false])
    assert.deepEqual(await master.request(['blobs', 'size'], [[HELLO_ID, MISSING]]), [10, null])
    assert.equal(await master.request(['blobs', 'has'], [{ id: HELLO_ID }]), true)
  })

  test('add with an expected id: the right one stores, a wrong one stores nothing', async () => {
    const bytes = Buffer.from('expected bytes')
    await master.sink(['blobs', 'add'], [blobIdOf(bytes)], [bytes])
    assert.equal(await master.request(['blobs', 'size'], [blobIdOf(bytes)]), bytes.length)
    const other = Buffer.from('other bytes')
    await assert.rejects(master.sink(['blobs', 'add'], [MISSING], [other]), {
      message: `actual hash:${blobIdOf(other)} did not match expected id:${MISSING}`,
    })
    assert.equal(await master.request(['blobs', 'has'], [blobIdOf(other)]), false)
  })

  test('get streams the bytes; by id, {id}, {key} and {hash}', async () => {
    for (const arg of [HELLO_ID, { id: HELLO_ID }, { key: HELLO_ID }, { hash: HELLO_ID }]) {
      assert.deepEqual(await collect(anon.source(['blobs', 'get'], [arg])), HELLO)
    }
    assert.deepEqual(await collect(anon.source(['blobs', 'get'], [EMPTY_BLOB_ID])), Buffer.alloc(0))
  })

  test('get with size or max that do not fit: the reference message', async () => {
    const text = `incorrect file length, requested:3 file was:10 for file:${HELLO_ID}`
    await assert.rejects(collect(anon.source(['blobs', 'get'], [{ id: HELLO_ID, size: 3 }])), {
      message: text,
    })
    await assert.rejects(collect(anon.source(['blobs', 'get'], [{ id: HELLO_ID, max: 3 }])), {
      message: `incorrect file length, requested:undefined file was:10 for file:${HELLO_ID}`,
    })
    assert.deepEqual(
      await collect(anon.source(['blobs', 'get'], [{ id: HELLO_ID, size: 10, max: 10 }])),
      HELLO,
    )
  })

  test('get of a bad id or a missing blob is an error reply, not a crash', async () => {
    await assert.rejects(collect(anon.source(['blobs', 'get'], [{ id: '../../secret' }])), {
      message: 'multiblob.get: {id} is mandatory',
    })
    await assert.rejects(collect(anon.source(['blobs', 'get'], ['&../../secret.sha256'])), {
      message: 'multiblob.get: {id} is mandatory',
    })
    await assert.rejects(collect(anon.source(['blobs', 'get'], [MISSING])), /not found/)
  })

  test('getSlice: half-open ranges and the reference messages', async () => {
    const slice = await collect(
      anon.source(['blobs', 'getSlice'], [{ id: HELLO_ID, start: 2, end: 5 }]),
    )
    assert.equal(slice.toString(), 'llo')
    await assert.rejects(collect(anon.source(['blobs', 'getSlice'], [{ id: HELLO_ID, end: 5 }])), {
      message: 'multiblob.getSlice: {start} must be a number',
    })
    await assert.rejects(
      collect(anon.source(['blobs', 'getSlice'], [{ id: HELLO_ID, start: 0 }])),
      { message: 'multiblob.getSlice: {end} must be a number' },
    )
    await assert.rejects(
      collect(anon.source(['blobs', 'getSlice'], [{ id: HELLO_ID, start: 4, end: 400 }])),
      { name: 'InvalidBlobRangeError' },
    )
  })

  test('has: bad ids get ssb-blobs messages', async () => {
    await assert.rejects(master.request(['blobs', 'has'], ['nope']), { message: 'invalid id:null' })
    await assert.rejects(master.request(['blobs', 'has'], [[HELLO_ID, 'nope']]), {
      message: 'invalid id:nope',
    })
    await assert.rejects(master.request(['blobs', 'want'], [42]), { message: 'invalid id:null' })
    await assert.rejects(master.request(['blobs', 'push'], ['x']), { message: 'invalid hash:x' })
  })

  test('anonymous peers may call has, get, getSlice, changes and createWants only', async () => {
    assert.equal(await anon.request(['blobs', 'has'], [HELLO_ID]), true)
    for (const [name, args] of [
      ['size', [HELLO_ID]],
      ['want', [HELLO_ID]],
      ['push', [HELLO_ID]],
      ['rm', [HELLO_ID]],
      ['meta', [HELLO_ID]],
    ] as const) {
      await assert.rejects(anon.request(['blobs', name], [...args]), {
        message: `method:blobs,${name} is not in list of allowed methods`,
      })
    }
    await assert.rejects(collect(anon.source(['blobs', 'ls'], [])), {
      message: 'method:blobs,ls is not in list of allowed methods',
    })
    await assert.rejects(anon.sink(['blobs', 'add'], [], [Buffer.from('x')]), {
      message: 'method:blobs,add is not in list of allowed methods',
    })
    assert.equal(await master.request(['blobs', 'has'], [blobIdOf('x')]), false)
  })

  test('ls: ids, or {id, size, ts} with meta; live adds show up', async () => {
    const ids = (await collect0(master.source(['blobs', 'ls'], []))) as string[]
    assert.ok(ids.includes(HELLO_ID))
    const metas = (await collect0(master.source(['blobs', 'ls'], [{ meta: true }]))) as {
      id: string
      size: number
      ts: number
    }[]
    const hello = metas.find((m) => m.id === HELLO_ID)
    assert.equal(hello?.size, 10)
    assert.ok(typeof hello?.ts === 'number' && hello.ts > 0)

    const live = master.source(['blobs', 'ls'], [{ old: false, live: true }])
    const changes = anon.source(['blobs', 'changes'], [])
    const firstLive = live.next()
    const firstChange = changes.next()
    const fresh = Buffer.from('a live one')
    await master.sink(['blobs', 'add'], [], [fresh])
    assert.equal((await firstLive).value, blobIdOf(fresh))
    assert.equal((await firstChange).value, blobIdOf(fresh))
    await live.return?.()
    await changes.return?.()
  })

  test('meta and rm', async () => {
    const bytes = Buffer.from('to be removed')
    const id = blobIdOf(bytes)
    await master.sink(['blobs', 'add'], [], [bytes])
    const meta = (await master.request(['blobs', 'meta'], [id])) as { id: string; size: number }
    assert.equal(meta.id, id)
    assert.equal(meta.size, bytes.length)
    await master.request(['blobs', 'rm'], [id])
    assert.equal(await master.request(['blobs', 'has'], [id]), false)
    assert.equal(await master.request(['blobs', 'meta'], [id]), null)
  })

  test('want of a stored blob, or of the empty blob, answers true at once', async () => {
    assert.equal(await master.request(['blobs', 'want'], [HELLO_ID]), true)
    assert.equal(await master.request(['blobs', 'want'], [EMPTY_BLOB_ID]), true)
  })

  test('a remote has of a blob we lack is a legacy want, sent on to our peers', async () => {
    const wanted = blobIdOf('wanted by an anonymous peer')
    const watcher = anon.source(['blobs', 'createWants'], [])
    const first = (await watcher.next()).value as Record<string, number>
    assert.equal(first[wanted], undefined)
    assert.equal(await anon.request(['blobs', 'has'], [wanted]), false)
    let seen: number | undefined
    await until(
      async () => {
        const frame = (await watcher.next()).value as Record<string, number>
        seen = frame[wanted]
        return seen !== undefined
      },
      5000,
      'the relayed want',
    )
    assert.equal(seen, -2)
    await watcher.return?.()
  })
})

async function collect0(source: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const x of source) out.push(x)
  return out
}
