// The sequence index keeps each feed's log offsets in blocks of 64 sequences: every read by
// sequence (createHistoryStream, createUserStream, getAtSequence, del of a feed) must give the
// answers an entry per message gave, across block boundaries, writes that split a block between
// commit groups or reopens, deletions, and a store whose indexes are of the older format.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { SsbDb } from '@scuttlekit/ssb-db'
import { generateKeys } from '@scuttlekit/ssb-keys'
import type { KVT } from '@scuttlekit/ssb-validate'
import { ClassicLevel } from 'classic-level'
import { BLOCK, blockKey, SeqIndex, slotAt } from '../src/internal/seq-index.js'
import {
  collect,
  type Feed,
  makeFeed,
  rejectsNamed,
  take,
  tempDir,
  withDb,
} from './helpers/api-util.js'

const keysOf = (items: unknown[]) => (items as KVT[]).map((m) => m.key)

/**
 * Alice's 200 messages (four blocks, the last partial) and bob's 130, stored interleaved. Some
 * of alice's are near the size limit, longer than what a read of the log takes past a record's
 * start when its neighbours lie close by.
 */
async function twoFeeds(db: SsbDb): Promise<{ a: Feed; b: Feed }> {
  const a = makeFeed(generateKeys(), 200, {
    content: (i) => ({ type: 'post', text: i % 40 === 7 ? 'x'.repeat(7000) : `msg ${i}` }),
  })
  const b = makeFeed(generateKeys(), 130)
  // Batches of uneven size, so that commit groups end inside blocks; half of them as single
  // concurrent adds, half as addBatch.
  let i = 0
  let j = 0
  for (let round = 0; i < a.msgs.length || j < b.msgs.length; round++) {
    const na = Math.min(a.msgs.length - i, 37)
    const nb = Math.min(b.msgs.length - j, 23)
    const batch = [...a.msgs.slice(i, i + na), ...b.msgs.slice(j, j + nb)]
    if (round % 2) {
      const results = await db.addBatch(batch)
      assert.ok(results.every((r) => r.ok))
    } else {
      await Promise.all(batch.map((m) => db.add(m)))
    }
    i += na
    j += nb
  }
  return { a, b }
}

const SEQS = [0, 1, 2, 63, 64, 65, 66, 127, 128, 129, 192, 193, 199, 200, 201, 1000]

async function checkReads(db: SsbDb, feed: Feed, gone: Set<number> = new Set()): Promise<void> {
  const id = feed.keys.id
  const kept = (from: number, to: number) =>
    feed.ids.filter((_, k) => k + 1 >= from && k + 1 <= to && !gone.has(k + 1))
  const n = feed.ids.length
  for (const seq of SEQS) {
    assert.deepEqual(
      keysOf(await collect(db.createHistoryStream({ id, seq }))),
      kept(seq, n),
      `history from ${seq}`,
    )
    for (const limit of [1, 64, 65]) {
      assert.deepEqual(
        keysOf(await collect(db.createHistoryStream({ id, seq, limit }))),
        kept(seq, n).slice(0, limit),
        `history from ${seq}, limit ${limit}`,
      )
    }
  }
  const us = async (o: object) =>
    keysOf(
      await collect(db.createUserStream({ id, ...o } as Parameters<SsbDb['createUserStream']>[0])),
    )
  for (const lo of SEQS) {
    for (const hi of [1, 64, 65, 128, 129, 200, 300]) {
      assert.deepEqual(await us({ gt: lo, lt: hi }), kept(lo + 1, hi - 1), `gt ${lo} lt ${hi}`)
      assert.deepEqual(await us({ gte: lo, lte: hi }), kept(lo, hi), `gte ${lo} lte ${hi}`)
      assert.deepEqual(
        await us({ gte: lo, lt: hi, reverse: true }),
        kept(lo, hi - 1).reverse(),
        `gte ${lo} lt ${hi} reverse`,
      )
      assert.deepEqual(
        await us({ gt: lo, lte: hi, reverse: true, limit: 3 }),
        kept(lo + 1, hi)
          .reverse()
          .slice(0, 3),
        `gt ${lo} lte ${hi} reverse limit 3`,
      )
    }
  }
  assert.deepEqual(await us({ gt: 63.5, lt: 65.5 }), kept(64, 65), 'fractional bounds')
  // as index keys order them: null before every number, strings after them
  assert.deepEqual(await us({ gt: null }), kept(1, n))
  assert.deepEqual(await us({ lt: 'z' }), kept(1, n))
  assert.deepEqual(await us({ gte: 'a' }), [])
  assert.deepEqual(await us({ lte: null }), [])
  // NaN, encoded as a double, sorts after every other number
  assert.deepEqual(await us({ gt: Number.NaN }), [])
  assert.deepEqual(await us({ lt: Number.NaN }), kept(1, n))
  for (let seq = 1; seq <= n; seq++) {
    if (gone.has(seq)) {
      await rejectsNamed(() => db.getAtSequence([id, seq]), 'MessageNotFoundError')
    } else {
      assert.equal((await db.getAtSequence([id, seq])).key, feed.ids[seq - 1], `at ${seq}`)
    }
  }
  for (const seq of [0, -1, 1.5, n + 1, 1e9]) {
    await rejectsNamed(() => db.getAtSequence([id, seq]), 'MessageNotFoundError')
  }
}

describe('sequence index', () => {
  test('reads by sequence across blocks, groups that split them, and a reopen', async () => {
    await withDb(async (t) => {
      const { a, b } = await twoFeeds(t.db)
      await checkReads(t.db, a)
      await checkReads(t.db, b)
      // appending to a partial block after a reopen reads the block back from level
      const more = makeFeed(a.keys, 70, {
        from: { id: a.ids[199]!, sequence: 200, timestamp: a.msgs[199]!.timestamp },
      })
      const db = await t.reopen()
      for (const m of more.msgs.slice(0, 5)) await db.add(m)
      await db.addBatch(more.msgs.slice(5))
      const all: Feed = {
        keys: a.keys,
        msgs: [...a.msgs, ...more.msgs],
        ids: [...a.ids, ...more.ids],
      }
      await checkReads(db, all)
      await checkReads(await t.reopen(), all)
    })
  })

  test('deleted messages leave their slots empty; a deleted feed leaves no block', async () => {
    await withDb(async (t) => {
      const { a, b } = await twoFeeds(t.db)
      const gone = new Set([1, 64, 65, 128, 150, 200])
      for (const seq of gone) await t.db.del(a.ids[seq - 1]!)
      await checkReads(t.db, a, gone)
      await checkReads(t.db, b)
      await checkReads(await t.reopen(), a, gone)
      await t.db.rebuild()
      await checkReads(t.db, a, gone)

      // every message of a block deleted: the block goes; the feed's state stays
      const block1 = new Set([...gone, ...Array.from({ length: BLOCK }, (_, k) => BLOCK + 1 + k)])
      for (const seq of block1) if (!gone.has(seq)) await t.db.del(a.ids[seq - 1]!)
      await checkReads(t.db, a, block1)
      const deleted = await t.db.del(b.keys.id)
      assert.equal(deleted?.length, 130)
      assert.deepEqual(await collect(t.db.createHistoryStream({ id: b.keys.id })), [])
      assert.equal(await t.db.latestSequence(b.keys.id), 130)
      await t.db.close()
      const index = new ClassicLevel<Buffer, Buffer>(join(t.dir, 'index'), {
        keyEncoding: 'buffer',
        valueEncoding: 'buffer',
      })
      try {
        assert.equal(await index.get(blockKey(a.keys.id, 1)), undefined, 'emptied block removed')
        assert.ok(await index.get(blockKey(a.keys.id, 2)), 'other blocks stay')
        const left = await index
          .keys({ gte: blockKey(b.keys.id, 0), lte: blockKey(b.keys.id, 9) })
          .all()
        assert.deepEqual(left, [], "the deleted feed's blocks are gone")
      } finally {
        await index.close()
      }
      const db = await t.reopen()
      await checkReads(db, a, block1)
    })
  })

  test('a stream from past the end of a feed answers from the feed state, and live streams from there miss nothing', async () => {
    await withDb(async ({ db }) => {
      const a = makeFeed(generateKeys(), 150)
      await db.addBatch(a.msgs.slice(0, 100))
      assert.deepEqual(await collect(db.createHistoryStream({ id: a.keys.id, seq: 101 })), [])
      const unknown = generateKeys().id
      assert.deepEqual(await collect(db.createHistoryStream({ id: unknown })), [])
      // Each message is being added while a live stream from its sequence starts: the old part
      // may or may not see the feed's new state; the live part must make up for it.
      for (let seq = 101; seq <= 150; seq++) {
        const adding = db.add(a.msgs[seq - 1]!)
        const live = take(db.createHistoryStream({ id: a.keys.id, seq, live: true }), 1)
        await adding
        assert.deepEqual(keysOf(await live), [a.ids[seq - 1]], `live from ${seq}`)
      }
      // and streams with a limit read no more than they need, across blocks
      for (const seq of [1, 64, 65, 100, 150]) {
        assert.deepEqual(
          keysOf(await collect(db.createHistoryStream({ id: a.keys.id, seq, limit: 1 }))),
          [a.ids[seq - 1]],
        )
      }
    })
  })

  test('a reader that takes one item of a long history gets at most a batch parsed for it', async () => {
    await withDb(async ({ db }) => {
      const a = makeFeed(generateKeys(), 3000)
      for (let i = 0; i < a.msgs.length; i += 1000) await db.addBatch(a.msgs.slice(i, i + 1000))
      // Every record read is parsed once: count the parses while the first item is taken. A
      // leveldb batch of blocks points at thousands of records; holding them all parsed for a
      // reader that stalls cost a server tens of megabytes.
      const parse = JSON.parse
      let parsed = 0
      JSON.parse = ((text: string, reviver?: never) => {
        parsed++
        return parse(text, reviver)
      }) as typeof JSON.parse
      const it = db.createHistoryStream({ id: a.keys.id })[Symbol.asyncIterator]()
      let first: IteratorResult<unknown>
      try {
        first = await it.next()
      } finally {
        JSON.parse = parse
      }
      assert.equal((first.value as KVT).key, a.ids[0])
      assert.ok(parsed >= 1 && parsed <= 256, `${parsed} records parsed for the first item`)
      await it.return?.()
    })
  })

  test("a damaged block is not believed: no other feed's message, no message twice", async () => {
    await withDb(async (t) => {
      const a = makeFeed(generateKeys(), 10)
      const b = makeFeed(generateKeys(), 10)
      await t.db.addBatch([...a.msgs, ...b.msgs])
      await t.db.close()
      const index = new ClassicLevel<Buffer, Buffer>(join(t.dir, 'index'), {
        keyEncoding: 'buffer',
        valueEncoding: 'buffer',
      })
      try {
        const aBlock = Buffer.from((await index.get(blockKey(a.keys.id, 0)))!)
        const bBlock = (await index.get(blockKey(b.keys.id, 0)))!
        bBlock.copy(aBlock, 2 * 6, 2 * 6, 3 * 6) // a's 3rd → b's 3rd
        aBlock.copy(aBlock, 3 * 6, 0, 6) // a's 4th → a's 1st
        await index.put(blockKey(a.keys.id, 0), aBlock)
      } finally {
        await index.close()
      }
      const db = await t.reopen()
      const served = keysOf(await collect(db.createHistoryStream({ id: a.keys.id })))
      assert.deepEqual(served, [...a.ids.slice(0, 2), ...a.ids.slice(4)])
      assert.deepEqual(
        keysOf(await collect(db.createUserStream({ id: a.keys.id, reverse: true }))),
        [...served].reverse(),
      )
      await rejectsNamed(() => db.getAtSequence([a.keys.id, 3]), 'MessageNotFoundError')
      await rejectsNamed(() => db.getAtSequence([a.keys.id, 4]), 'MessageNotFoundError')
      assert.ok(
        t.logger.entries.filter((e) => /another message/.test(e.msg)).length >= 4,
        'each one is reported',
      )
      // a rebuild repairs it
      await db.rebuild()
      assert.deepEqual(keysOf(await collect(db.createHistoryStream({ id: a.keys.id }))), a.ids)
    })
  })

  test('indexes of the older format (an entry per message) are rebuilt at open', async () => {
    await withDb(async (t) => {
      const { a, b } = await twoFeeds(t.db)
      await t.db.close()
      // what version 1 left: its meta key, and `c` entries of [author, sequence]
      const index = new ClassicLevel<Buffer, Buffer>(join(t.dir, 'index'), {
        keyEncoding: 'buffer',
        valueEncoding: 'buffer',
      })
      const meta = JSON.parse((await index.get(Buffer.from([0])))!.toString('utf8'))
      await index.put(Buffer.from([0]), Buffer.from(JSON.stringify({ ...meta, version: 1 })))
      await index.close()
      const db = await t.reopen()
      assert.ok(
        t.logger.entries.some((e) => e.level === 'warn' && /stale/.test(e.msg)),
        'a rebuild was announced',
      )
      await checkReads(db, a)
      await checkReads(db, b)
    })
  })
})

describe('SeqIndex (the writer side)', () => {
  test('appends read back from level only blocks they did not begin or hold', async () => {
    const asked: number[] = []
    const store = {
      getMany: async (keys: Buffer[]) => {
        asked.push(keys.length)
        return keys.map(() => undefined)
      },
    }
    const seqs = new SeqIndex(store)
    const run = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, k) => ({ author: '@a', sequence: from + k }))
    // a group from the first message: every block it touches begins in it
    assert.equal(seqs.load(run(1, 130)), undefined)
    for (const m of run(1, 130)) seqs.set(m.author, m.sequence, 100 + m.sequence)
    // the next group goes on in a held block and crosses into a new one
    assert.equal(seqs.load(run(131, 200)), undefined)
    assert.deepEqual(asked, [])
    // another feed whose first message here is in the middle of a block: read once
    await seqs.load([
      { author: '@b', sequence: 70 },
      { author: '@b', sequence: 71 },
    ])
    assert.deepEqual(asked, [1])
    // removals read the block even where an append would begin it
    await seqs.load([{ author: '@c', sequence: 65 }], true)
    assert.deepEqual(asked, [1, 1])
  })
})

describe('SeqIndex (the writer side) on level', () => {
  test('blocks forgotten past `keep` are read back before they are appended to', async () => {
    const { dir, cleanup } = tempDir()
    const level = new ClassicLevel<Buffer, Buffer>(dir, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    })
    await level.open()
    try {
      const seqs = new SeqIndex(level, 1)
      const feeds = ['@a', '@b', '@c']
      const offsetOf = (f: number, seq: number) => 1000 * (f + 1) + seq
      for (let seq = 1; seq <= 150; seq += 7) {
        const msgs = feeds.flatMap((author) =>
          Array.from({ length: 7 }, (_, k) => ({ author, sequence: seq + k })),
        )
        await seqs.load(msgs)
        const batch = level.batch()
        for (const m of msgs) {
          seqs.set(m.author, m.sequence, offsetOf(feeds.indexOf(m.author), m.sequence))
        }
        seqs.flush(batch)
        await batch.write()
        seqs.trim()
      }
      for (const [f, feed] of feeds.entries()) {
        for (let block = 0; block * BLOCK < 154; block++) {
          const value = await level.get(blockKey(feed, block))
          assert.ok(value, `${feed} block ${block}`)
          for (let slot = 0; slot < BLOCK; slot++) {
            const seq = block * BLOCK + slot + 1
            assert.equal(slotAt(value, slot), seq <= 154 ? offsetOf(f, seq) : 0, `${feed} ${seq}`)
          }
        }
      }
      // an append to a block that was never loaded is refused, not written over
      assert.throws(() => seqs.set('@a', 156, 1), /not loaded/)
      seqs.clear()
      assert.throws(() => seqs.set('@a', 2, 0), /not loaded/)
    } finally {
      await level.close()
      cleanup()
    }
  })
})
