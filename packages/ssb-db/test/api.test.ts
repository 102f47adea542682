// The read API of @scuttlekit/ssb-db on a real on-disk database: every read method and option,
// del, rebuild, progress/status, and how private messages are indexed.
import assert from 'node:assert/strict'
import type { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { SsbDb } from '@scuttlekit/ssb-db'
import { boxContent, generateKeys, unboxKeyOf } from '@scuttlekit/ssb-keys'
import type { KVT, MsgValue } from '@scuttlekit/ssb-validate'
import {
  collect,
  makeFeed,
  nextOrTimeout,
  rejectsNamed,
  stateAfter,
  take,
  until,
  withDb,
} from './helpers/api-util.js'

const blob = (n: number) => `&${Buffer.alloc(32, n).toString('base64')}.sha256`
const tick = () => new Promise((r) => setImmediate(r))
const SYNC = { sync: true }
const isSync = (x: unknown) => (x as { sync?: unknown } | null)?.sync === true

function keysOf(items: unknown[]): string[] {
  return (items as KVT[]).map((m) => m.key)
}

function recordListeners(db: SsbDb): number {
  return (db as unknown as { events: EventEmitter }).events.listenerCount('records')
}

/**
 * A small mixed database: our feed (5 posts), alice (4 messages, added), bob (3 messages,
 * added), interleaved in receive order as `order`.
 */
async function populate(db: SsbDb) {
  const alice = generateKeys()
  const bob = generateKeys()
  const a = makeFeed(alice, 4)
  const b = makeFeed(bob, 3, { content: (i) => ({ type: 'vote', n: i }) })
  const order: KVT[] = []
  const mine: KVT[] = []
  for (let i = 0; i < 5; i++) {
    const m = await db.publish({ type: 'post', text: `mine ${i}` })
    mine.push(m)
    order.push(m)
    if (i < 4) order.push(await db.add(a.msgs[i]))
    if (i < 3) order.push(await db.add(b.msgs[i]))
  }
  return { alice, bob, a, b, order, mine }
}

describe('get', () => {
  test('by id, {id, meta}, {id, private}, unknown id', async () => {
    await withDb(async ({ db, keys }) => {
      const bob = generateKeys()
      const plain = await db.publish({ type: 'post', text: 'hi' })
      const priv = await db.publish({ type: 'post', text: 'psst', recps: [keys.id, bob.id] })
      assert.deepEqual(await db.get(plain.key), plain.value)
      assert.deepEqual(await db.get({ id: plain.key }), plain.value)
      assert.deepEqual(await db.get({ id: plain.key, meta: true }), plain)
      // private on a plain message changes nothing
      assert.deepEqual(await db.get({ id: plain.key, private: true }), plain.value)

      // a private message: boxed unless asked
      assert.deepEqual(await db.get(priv.key), priv.value)
      const opened = (await db.get({ id: priv.key, private: true })) as MsgValue
      assert.deepEqual(opened.content, { type: 'post', text: 'psst', recps: [keys.id, bob.id] })
      const openedMeta = (await db.get({ id: priv.key, private: true, meta: true })) as KVT
      assert.equal(openedMeta.key, priv.key)
      assert.equal(openedMeta.timestamp, priv.timestamp)
      assert.deepEqual(openedMeta.value.content, opened.content)

      const unknown = `%${Buffer.alloc(32, 1).toString('base64')}.sha256`
      await rejectsNamed(
        () => db.get(unknown),
        'MessageNotFoundError',
        /^Key not found in database \[%AQEB/,
      )
      await rejectsNamed(() => db.get({ id: unknown, meta: true }), 'MessageNotFoundError')
      await rejectsNamed(() => db.get('not an id'), 'MessageNotFoundError')
    })
  })

  test('"%id?unbox=<key>" opens a message that is not for us', async () => {
    await withDb(async ({ db }) => {
      const bob = generateKeys()
      const m = await db.publish({ type: 'post', text: 'for bob', recps: [bob.id] })
      const boxed = m.value.content as unknown as string
      // not for us
      assert.equal(((await db.get({ id: m.key, private: true })) as MsgValue).content, boxed)
      const readKey = unboxKeyOf(boxed, bob)!.toString('base64')
      const v = (await db.get(`${m.key}?unbox=${readKey}`)) as MsgValue & {
        meta: { unbox: string; private: boolean }
      }
      assert.deepEqual(v.content, { type: 'post', text: 'for bob', recps: [bob.id] })
      assert.equal(v.meta.private, true)
      assert.equal(v.meta.unbox, readKey)
      // a wrong key: the boxed value, unchanged
      const wrong = Buffer.alloc(33, 5).toString('base64')
      assert.deepEqual(await db.get(`${m.key}?unbox=${wrong}`), m.value)
      // unknown id with a query: not found
      const unknown = `%${Buffer.alloc(32, 1).toString('base64')}.sha256`
      await rejectsNamed(() => db.get(`${unknown}?unbox=${readKey}`), 'MessageNotFoundError')
    })
  })

  test('"?unbox=" with a URL-encoded key (ssb-ref parseLink decodes the query)', async () => {
    await withDb(async ({ db }) => {
      const bob = generateKeys()
      // find a key with '+' or '/' so that encoding matters
      let m: KVT | undefined
      let readKey = ''
      for (let i = 0; i < 50 && !/[+/]/.test(readKey); i++) {
        m = await db.publish({ type: 'post', i, recps: [bob.id] })
        readKey = unboxKeyOf(m.value.content as unknown as string, bob)!.toString('base64')
      }
      assert.match(readKey, /[+/]/)
      const v = (await db.get(`${m!.key}?unbox=${encodeURIComponent(readKey)}`)) as MsgValue
      assert.equal(typeof v.content, 'object')
      // a '+' that became a space on the way (querystring decoding), as ssb-db restores it
      const spaced = (await db.get(`${m!.key}?unbox=${readKey.replace(/\+/g, ' ')}`)) as MsgValue
      assert.equal(typeof spaced.content, 'object')
      // &meta=1 asks for {key, value, timestamp}
      const withMeta = (await db.get(`${m!.key}?unbox=${readKey}&meta=1`)) as KVT
      assert.equal(withMeta.key, m!.key)
      assert.equal(withMeta.timestamp, m!.timestamp)
      assert.equal(typeof withMeta.value.content, 'object')
      // the object form {id, unbox}, as ssb-db 20's get takes it
      const obj = (await db.get({ id: m!.key, unbox: readKey } as Parameters<
        SsbDb['get']
      >[0])) as MsgValue
      assert.equal(typeof obj.content, 'object')
    })
  })
})

describe('createLogStream', () => {
  test('receive order, reverse, limit, keys/values', async () => {
    await withDb(async ({ db }) => {
      const { order } = await populate(db)
      const all = (await collect(db.createLogStream())) as KVT[]
      assert.deepEqual(all, order)
      for (let i = 1; i < all.length; i++)
        assert.ok(all[i]!.timestamp > all[i - 1]!.timestamp, 'receive order')
      assert.deepEqual(await collect(db.createLogStream({ reverse: true })), [...order].reverse())
      assert.deepEqual(await collect(db.createLogStream({ limit: 3 })), order.slice(0, 3))
      assert.deepEqual(
        await collect(db.createLogStream({ limit: 2, reverse: true })),
        order.slice(-2).reverse(),
      )
      assert.deepEqual(
        await collect(db.createLogStream({ keys: false })),
        order.map((m) => m.value),
      )
      assert.deepEqual(
        await collect(db.createLogStream({ values: false })),
        order.map((m) => m.key),
      )
    })
  })

  test('gt/gte/lt/lte on receive timestamps', async () => {
    await withDb(async ({ db }) => {
      const { order } = await populate(db)
      const ts = order.map((m) => m.timestamp)
      const range = async (o: object) =>
        keysOf(await collect(db.createLogStream(o as Parameters<SsbDb['createLogStream']>[0])))
      assert.deepEqual(await range({ gt: ts[3] }), keysOf(order.slice(4)))
      assert.deepEqual(await range({ gte: ts[3] }), keysOf(order.slice(3)))
      assert.deepEqual(await range({ lt: ts[3] }), keysOf(order.slice(0, 3)))
      assert.deepEqual(await range({ lte: ts[3] }), keysOf(order.slice(0, 4)))
      assert.deepEqual(await range({ gt: ts[2], lt: ts[6] }), keysOf(order.slice(3, 6)))
      assert.deepEqual(await range({ gte: ts[2], lte: ts[6] }), keysOf(order.slice(2, 7)))
      assert.deepEqual(
        await range({ gt: ts[2], lte: ts[6], reverse: true }),
        keysOf(order.slice(3, 7).reverse()),
      )
      assert.deepEqual(await range({ gt: ts[1], limit: 2 }), keysOf(order.slice(2, 4)))
      // just below/above a fractional timestamp
      const lo = (ts[2]! + ts[3]!) / 2
      const hi = (ts[3]! + ts[4]!) / 2
      assert.deepEqual(await range({ gt: lo, lt: hi }), [order[3]!.key])
      assert.deepEqual(await range({ gt: ts[ts.length - 1] }), [])
    })
  })

  test('live: old then new, in order, no duplicates or gaps under concurrent writes', async () => {
    await withDb(async ({ db }) => {
      const first = await Promise.all(
        Array.from({ length: 30 }, (_, i) => db.publish({ type: 'post', i })),
      )
      const stream = db.createLogStream({ live: true })
      const got = take(stream, 91, 10000)
      // writes start before the stream has read its old part
      const more = Promise.all(
        Array.from({ length: 60 }, (_, i) => db.publish({ type: 'post', i: 30 + i })),
      )
      const items = (await got) as KVT[]
      const later = await more
      // pull-live's default: a {sync: true} marker after the old part
      assert.deepEqual(items[30], SYNC)
      assert.deepEqual(keysOf(items.filter((x) => !isSync(x))), keysOf([...first, ...later]))
      await until(() => recordListeners(db) === 0)
    })
  })

  test('live streams started while writes commit never duplicate or skip', async () => {
    await withDb(async ({ db }) => {
      const streams: Promise<unknown[]>[] = []
      const writes: Promise<KVT>[] = []
      // start a live stream at many points of the write path
      for (let i = 0; i < 40; i++) {
        writes.push(db.publish({ type: 'post', i }))
        const at = i
        streams.push(
          (async () => {
            for (let k = 0; k < at % 7; k++) await Promise.resolve()
            if (at % 3 === 0) await tick()
            return take(db.createLogStream({ live: true, values: false, sync: false }), 40, 10000)
          })(),
        )
      }
      const all = keysOf(await Promise.all(writes))
      for (const s of await Promise.all(streams)) assert.deepEqual(s, all)
    })
  })

  test('a live stream started at any moment of a write burst has no duplicates', async () => {
    // A record must reach a new stream either through its old part or its live part, never
    // both: streams are started on every turn of the event loop while writes commit.
    await withDb(async ({ db }) => {
      const n = 150
      let writing = true
      const writer = (async () => {
        for (let i = 0; i < n; i++) await db.publish({ type: 'post', i })
        writing = false
      })()
      const streams: Promise<unknown[]>[] = []
      while (writing) {
        // generous: on a loaded machine the 150 durable writes alone can take seconds
        streams.push(
          take(db.createLogStream({ live: true, values: false, sync: false }), n, 60_000),
        )
        await new Promise((r) => setImmediate(r))
      }
      await writer
      const expected = keysOf(await collect(db.createLogStream()))
      let bad = 0
      for (const got of await Promise.all(streams)) {
        if (JSON.stringify(got) !== JSON.stringify(expected)) bad++
      }
      assert.equal(bad, 0, `${bad} of ${streams.length} streams duplicated or skipped records`)
    })
  })

  test('breaking out of for-await stops a live stream', async () => {
    await withDb(async ({ db }) => {
      await db.publish({ type: 'post', n: 0 })
      let n = 0
      const loop = (async () => {
        for await (const _ of db.createLogStream({ live: true, sync: false })) {
          n++
          if (n === 2) break
        }
      })()
      await until(() => n === 1)
      await db.publish({ type: 'post', n: 1 })
      await loop
      assert.equal(n, 2)
      assert.equal(recordListeners(db), 0)
      await db.publish({ type: 'post', n: 2 })
      assert.equal(n, 2)
    })
  })

  test('a live consumer that falls too far behind gets SlowConsumerError, and memory is bounded', async () => {
    await withDb(async ({ db }) => {
      db.maxLiveQueue = 5
      const it = db.createLogStream({ live: true, old: false })[Symbol.asyncIterator]()
      const first = it.next() // subscribes; the consumer then stops reading
      await db.publish({ type: 'post', n: 0 })
      assert.equal(
        ((await first).value as { value: { content: { n: number } } }).value.content.n,
        0,
      )
      for (let i = 1; i <= 8; i++) await db.publish({ type: 'post', n: i })
      // no longer subscribed once over the limit: later records are not held for it
      assert.equal(recordListeners(db), 0)
      const got: number[] = []
      await assert.rejects(
        (async () => {
          for (;;) {
            const r = await it.next()
            if (r.done) break
            got.push((r.value as { value: { content: { n: number } } }).value.content.n)
          }
        })(),
        { name: 'SlowConsumerError' },
      )
      assert.deepEqual(got, [1, 2, 3, 4, 5])
    })
  })

  test('old: false is live only; a sync marker between old and new unless sync: false', async () => {
    await withDb(async ({ db }) => {
      const a = await db.publish({ type: 'post', n: 0 })
      const b = await db.publish({ type: 'post', n: 1 })
      const liveOnly = take(db.createLogStream({ live: true, old: false }), 1)
      const oldFalse = take(db.createLogStream({ old: false }), 1)
      const synced = take(db.createLogStream({ live: true }), 4)
      const syncTrue = take(db.createLogStream({ live: true, sync: true }), 4)
      const noSync = take(db.createLogStream({ live: true, sync: false }), 3)
      await tick()
      const c = await db.publish({ type: 'post', n: 2 })
      assert.deepEqual(await liveOnly, [c])
      assert.deepEqual(await oldFalse, [c], 'old: false implies live')
      assert.deepEqual(await synced, [a, b, SYNC, c])
      assert.deepEqual(await syncTrue, [a, b, SYNC, c])
      assert.deepEqual(await noSync, [a, b, c])
      // not live: no marker
      assert.deepEqual(await collect(db.createLogStream({ sync: true })), [a, b, c])
      // live on an empty range: the marker comes first
      const empty = take(db.createLogStream({ live: true, gt: c.timestamp }), 2)
      await tick()
      const d = await db.publish({ type: 'post', n: 3 })
      assert.deepEqual(await empty, [SYNC, d])
    })
  })

  test('live with a range: only matching new items', async () => {
    await withDb(async ({ db }) => {
      const a = await db.publish({ type: 'post' })
      const s = db.createLogStream({ live: true, gt: a.timestamp, limit: 2, sync: false })
      const got = collect(s)
      await tick()
      const b = await db.publish({ type: 'post' })
      const c = await db.publish({ type: 'post' })
      await db.publish({ type: 'post' })
      assert.deepEqual(await got, [b, c])
    })
  })

  test('private: true decrypts messages for us only', async () => {
    await withDb(async ({ db, keys }) => {
      const bob = generateKeys()
      const mine = await db.publish({ type: 'post', recps: [keys.id] })
      const theirs = await db.publish({ type: 'post', recps: [bob.id] })
      const items = (await collect(db.createLogStream({ private: true }))) as KVT[]
      assert.deepEqual(items[0]!.value.content, { type: 'post', recps: [keys.id] })
      assert.deepEqual(items[1], theirs)
      const raw = (await collect(db.createLogStream())) as KVT[]
      assert.deepEqual(raw, [mine, theirs])
    })
  })
})

describe('createHistoryStream', () => {
  test('{id}, seq inclusive, limit, keys/values, unknown feed', async () => {
    await withDb(async ({ db }) => {
      const { alice, a, mine } = await populate(db)
      const h = (await collect(db.createHistoryStream({ id: alice.id }))) as KVT[]
      assert.deepEqual(keysOf(h), a.ids)
      assert.deepEqual(
        h.map((m) => m.value),
        a.msgs,
      )
      assert.deepEqual(keysOf(await collect(db.createHistoryStream({ id: db.id }))), keysOf(mine))
      assert.deepEqual(
        keysOf(await collect(db.createHistoryStream({ id: alice.id, seq: 2 }))),
        a.ids.slice(1),
      )
      assert.deepEqual(
        keysOf(await collect(db.createHistoryStream({ id: alice.id, sequence: 3 }))),
        a.ids.slice(2),
      )
      assert.deepEqual(
        keysOf(await collect(db.createHistoryStream({ id: alice.id, seq: 2, limit: 2 }))),
        a.ids.slice(1, 3),
      )
      assert.deepEqual(await collect(db.createHistoryStream({ id: alice.id, seq: 5 })), [])
      assert.deepEqual(await collect(db.createHistoryStream({ id: alice.id, keys: false })), a.msgs)
      assert.deepEqual(
        await collect(db.createHistoryStream({ id: alice.id, values: false })),
        a.ids,
      )
      assert.deepEqual(await collect(db.createHistoryStream({ id: generateKeys().id })), [])
      await rejectsNamed(() => db.createHistoryStream({ id: 'nope' }), 'InvalidArgumentError')
      const poison = JSON.parse('{"toString": 1}') as string
      await rejectsNamed(() => db.createHistoryStream({ id: poison }), 'InvalidArgumentError')
      await rejectsNamed(() => db.createUserStream({ id: poison }), 'InvalidArgumentError')
    })
  })

  test('live: old then new messages of that feed only', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 5)
      await db.addBatch(a.msgs.slice(0, 2))
      const got = take(db.createHistoryStream({ id: alice.id, seq: 2, live: true }), 4)
      await tick()
      await db.publish({ type: 'post' })
      await db.add(a.msgs[2])
      await db.addBatch(a.msgs.slice(3))
      assert.deepEqual(keysOf(await got), a.ids.slice(1))
      // old: false
      const liveOnly = take(
        db.createHistoryStream({ id: alice.id, live: true, old: false, keys: false }),
        1,
      )
      await tick()
      const next = makeFeed(alice, 1, { from: stateAfter(a) })
      await db.add(next.msgs[0])
      assert.deepEqual(await liveOnly, next.msgs)
      // ssb-db's history stream inverts the flag: a marker only with sync: false
      const plain = take(db.createHistoryStream({ id: alice.id, seq: 7, live: true }), 1)
      const marked = take(
        db.createHistoryStream({ id: alice.id, seq: 7, live: true, sync: false }),
        2,
      )
      const asked = take(
        db.createHistoryStream({ id: alice.id, seq: 7, live: true, sync: true }),
        1,
      )
      await tick()
      const last = makeFeed(alice, 1, { from: stateAfter(next) })
      await db.add(last.msgs[0])
      assert.deepEqual(keysOf(await plain), last.ids)
      assert.deepEqual(await marked, [
        SYNC,
        {
          key: last.ids[0],
          value: last.msgs[0],
          timestamp: ((await db.get({ id: last.ids[0]!, meta: true })) as KVT).timestamp,
        },
      ])
      assert.deepEqual(keysOf(await asked), last.ids)
    })
  })

  test('never decrypts, even messages for us', async () => {
    await withDb(async ({ db, keys }) => {
      const m = await db.publish({ type: 'post', recps: [keys.id] })
      const items = (await collect(
        db.createHistoryStream({ id: keys.id, private: true } as Parameters<
          SsbDb['createHistoryStream']
        >[0]),
      )) as KVT[]
      assert.deepEqual(items, [m])
    })
  })
})

describe('createUserStream', () => {
  test('ranges on the sequence, reverse, limit, keys/values', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 8)
      await db.addBatch(a.msgs)
      await db.publish({ type: 'post' })
      const us = async (o: object) =>
        collect(
          db.createUserStream({ id: alice.id, ...o } as Parameters<SsbDb['createUserStream']>[0]),
        )
      assert.deepEqual(keysOf(await us({})), a.ids)
      assert.deepEqual(keysOf(await us({ gt: 3 })), a.ids.slice(3))
      assert.deepEqual(keysOf(await us({ gte: 3 })), a.ids.slice(2))
      assert.deepEqual(keysOf(await us({ lt: 3 })), a.ids.slice(0, 2))
      assert.deepEqual(keysOf(await us({ lte: 3 })), a.ids.slice(0, 3))
      assert.deepEqual(keysOf(await us({ gt: 2, lte: 6 })), a.ids.slice(2, 6))
      assert.deepEqual(keysOf(await us({ reverse: true })), [...a.ids].reverse())
      assert.deepEqual(keysOf(await us({ reverse: true, limit: 3 })), a.ids.slice(-3).reverse())
      assert.deepEqual(keysOf(await us({ gte: 2, lt: 7, reverse: true, limit: 2 })), [
        a.ids[5],
        a.ids[4],
      ])
      assert.deepEqual(keysOf(await us({ limit: 2 })), a.ids.slice(0, 2))
      assert.deepEqual(await us({ keys: false, lte: 2 }), a.msgs.slice(0, 2))
      assert.deepEqual(await us({ values: false, gt: 6 }), a.ids.slice(6))
      assert.deepEqual(await us({ gt: 8 }), [])
    })
  })

  test('private: true decrypts our messages; live', async () => {
    await withDb(async ({ db, keys }) => {
      const bob = generateKeys()
      const m1 = await db.publish({ type: 'post', text: 'secret', recps: [keys.id, bob.id] })
      const items = (await collect(db.createUserStream({ id: keys.id, private: true }))) as KVT[]
      assert.deepEqual(items[0]!.value.content, {
        type: 'post',
        text: 'secret',
        recps: [keys.id, bob.id],
      })
      assert.deepEqual(await collect(db.createUserStream({ id: keys.id })), [m1])
      const live = take(db.createUserStream({ id: keys.id, live: true, gt: 1, private: true }), 3)
      await tick()
      const m2 = await db.publish({ type: 'post', text: 'again', recps: [keys.id] })
      const m3 = await db.publish({ type: 'post', text: 'plain' })
      const [marker, ...got] = (await live) as KVT[]
      assert.deepEqual(marker, SYNC)
      assert.deepEqual(got[0]!.value.content, { type: 'post', text: 'again', recps: [keys.id] })
      assert.equal(got[0]!.key, m2.key)
      assert.deepEqual(got[1], m3)
    })
  })
})

describe('createFeedStream', () => {
  test('ordered by claimed timestamp; rts; a future claim is ordered by receive time', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const bob = generateKeys()
      const base = 1.6e12
      const a = makeFeed(alice, 3, { ts: (i) => base + [1000, 3000, 2000][i]! })
      const b = makeFeed(bob, 1, { ts: () => Date.now() + 1e9 })
      await db.addBatch(a.msgs)
      const p = await db.publish({ type: 'post' })
      const future = await db.add(b.msgs[0])
      const items = (await collect(db.createFeedStream())) as (KVT & { rts: number })[]
      assert.deepEqual(keysOf(items), [a.ids[0], a.ids[2], a.ids[1], p.key, future.key])
      // rts (the resolved timestamp) sits on the item, as ssb-db's `item.value.rts = …` puts it
      assert.deepEqual(
        items.map((m) => m.rts),
        [base + 1000, base + 2000, base + 3000, p.value.timestamp, future.timestamp],
      )
      assert.ok(items[4]!.value.timestamp > items[4]!.rts, 'the future claim is not used')
      // otherwise the stored record
      const { rts: _rts, ...rest } = items[0]!
      assert.deepEqual(rest, await db.get({ id: a.ids[0]!, meta: true }))

      assert.deepEqual(keysOf(await collect(db.createFeedStream({ reverse: true }))), [
        future.key,
        p.key,
        a.ids[1],
        a.ids[2],
        a.ids[0],
      ])
      assert.deepEqual(keysOf(await collect(db.createFeedStream({ limit: 2 }))), [
        a.ids[0],
        a.ids[2],
      ])
      assert.deepEqual(
        keysOf(await collect(db.createFeedStream({ gte: base + 2000, lt: base + 3001 }))),
        [a.ids[2], a.ids[1]],
      )
      // keys: false gives the plain values
      assert.deepEqual(await collect(db.createFeedStream({ keys: false, limit: 1 })), [a.msgs[0]])
      const ks = await collect(db.createFeedStream({ values: false, limit: 1 }))
      assert.deepEqual(ks, [a.ids[0]])
    })
  })

  test('live', async () => {
    await withDb(async ({ db }) => {
      const old = await db.publish({ type: 'post' })
      const got = take(db.createFeedStream({ live: true }), 3)
      await tick()
      const m = await db.publish({ type: 'post' })
      const items = (await got) as (KVT & { rts: number })[]
      assert.deepEqual(items[1], SYNC)
      assert.deepEqual(keysOf([items[0], items[2]]), [old.key, m.key])
      assert.equal(items[2]!.rts, m.value.timestamp)
    })
  })
})

describe('messagesByType', () => {
  test('string and object form, reverse, limit, keys/values, ranges', async () => {
    await withDb(async ({ db }) => {
      const { order, b } = await populate(db)
      const posts = order.filter((m) => (m.value.content as { type: string }).type === 'post')
      const votes = order.filter((m) => (m.value.content as { type: string }).type === 'vote')
      assert.equal(votes.length, 3)
      assert.deepEqual(await collect(db.messagesByType('post')), posts)
      assert.deepEqual(await collect(db.messagesByType({ type: 'vote' })), votes)
      assert.deepEqual(
        await collect(db.messagesByType({ type: 'post', reverse: true })),
        [...posts].reverse(),
      )
      assert.deepEqual(
        await collect(db.messagesByType({ type: 'post', limit: 3 })),
        posts.slice(0, 3),
      )
      assert.deepEqual(await collect(db.messagesByType({ type: 'vote', keys: false })), b.msgs)
      assert.deepEqual(await collect(db.messagesByType({ type: 'vote', values: false })), b.ids)
      assert.deepEqual(
        keysOf(await collect(db.messagesByType({ type: 'post', gt: posts[2]!.timestamp }))),
        keysOf(posts.slice(3)),
      )
      assert.deepEqual(
        keysOf(
          await collect(
            db.messagesByType({
              type: 'post',
              gte: posts[2]!.timestamp,
              lte: posts[4]!.timestamp,
            }),
          ),
        ),
        keysOf(posts.slice(2, 5)),
      )
      assert.deepEqual(await collect(db.messagesByType('nothing')), [])
      await rejectsNamed(
        () => db.messagesByType(undefined as unknown as string),
        'InvalidArgumentError',
      )
    })
  })

  test('a type longer than 32 characters is indexed by its first 32', async () => {
    await withDb(async ({ db }) => {
      const prefix = 'x'.repeat(32)
      const m1 = await db.publish({ type: `${prefix}-first` })
      const m2 = await db.publish({ type: `${prefix}-second` })
      const m3 = await db.publish({ type: prefix })
      await db.publish({ type: 'x'.repeat(31) })
      assert.deepEqual(await collect(db.messagesByType(prefix)), [m1, m2, m3])
    })
  })

  test('live', async () => {
    await withDb(async ({ db }) => {
      const a = await db.publish({ type: 'post' })
      const got = take(db.messagesByType({ type: 'post', live: true }), 4)
      await tick()
      await db.publish({ type: 'vote' })
      const b = await db.publish({ type: 'post' })
      await db.publish({ type: 'about' })
      const c = await db.publish({ type: 'post' })
      assert.deepEqual(await got, [a, SYNC, b, c])
    })
  })
})

describe('links', () => {
  async function linkDb(db: SsbDb) {
    const alice = generateKeys()
    const bob = generateKeys()
    const root = await db.publish({ type: 'post', text: 'root' })
    const reply = await db.publish({
      type: 'post',
      root: root.key,
      branch: [root.key],
      mentions: [bob.id, { link: blob(1), name: 'pic' }, null, 'not a link'],
    })
    const contact = await db.publish({ type: 'contact', contact: bob.id, following: true })
    const a = makeFeed(alice, 2, {
      content: (i) =>
        i === 0
          ? { type: 'vote', vote: { link: root.key, value: 1 } }
          : { type: 'post', mentions: [db.id], root: reply.key },
    })
    await db.addBatch(a.msgs)
    return { alice, bob, root, reply, contact, a }
  }

  test('source, dest, rel and sigil filters', async () => {
    await withDb(async ({ db }) => {
      const { alice, bob, root, reply, contact, a } = await linkDb(db)
      const me = db.id
      // from a source: in key order (rel, dest, sequence)
      assert.deepEqual(
        await collect(db.links({ source: me })),
        [
          { source: me, rel: 'branch', dest: root.key, key: reply.key },
          { source: me, rel: 'contact', dest: bob.id, key: contact.key },
          { source: me, rel: 'mentions', dest: bob.id, key: reply.key },
          { source: me, rel: 'mentions', dest: blob(1), key: reply.key },
          { source: me, rel: 'root', dest: root.key, key: reply.key },
        ].sort((x, y) => (x.rel + x.dest < y.rel + y.dest ? -1 : 1)),
      )
      assert.deepEqual(
        await collect(db.links({ source: me, rel: 'mentions' })),
        [
          { source: me, rel: 'mentions', dest: bob.id, key: reply.key },
          { source: me, rel: 'mentions', dest: blob(1), key: reply.key },
        ].sort((x, y) => (x.dest < y.dest ? -1 : 1)),
      )
      // to a dest (backlinks)
      const toRoot = await collect(db.links({ dest: root.key }))
      assert.deepEqual(
        toRoot,
        [
          { source: me, rel: 'branch', dest: root.key, key: reply.key },
          { source: alice.id, rel: 'vote', dest: root.key, key: a.ids[0] },
          { source: me, rel: 'root', dest: root.key, key: reply.key },
        ].sort((x, y) => (x.rel < y.rel ? -1 : 1)),
      )
      assert.deepEqual(await collect(db.links({ dest: root.key, rel: 'vote' })), [
        { source: alice.id, rel: 'vote', dest: root.key, key: a.ids[0] },
      ])
      assert.deepEqual(await collect(db.links({ dest: root.key, source: alice.id })), [
        { source: alice.id, rel: 'vote', dest: root.key, key: a.ids[0] },
      ])
      assert.deepEqual(await collect(db.links({ source: me, dest: bob.id, rel: 'contact' })), [
        { source: me, rel: 'contact', dest: bob.id, key: contact.key },
      ])
      // sigils: any id of that kind
      const toFeeds = (await collect(db.links({ source: me, dest: '@' }))) as { dest: string }[]
      assert.deepEqual(toFeeds.map((l) => l.dest).sort(), [bob.id, bob.id])
      const toBlobs = (await collect(db.links({ dest: '&' }))) as { dest: string; key: string }[]
      assert.deepEqual(toBlobs, [{ source: me, rel: 'mentions', dest: blob(1), key: reply.key }])
      const toMsgs = (await collect(db.links({ dest: '%' }))) as { dest: string }[]
      assert.equal(toMsgs.length, 4)
      assert.ok(
        toMsgs.every((l) => l.dest.startsWith('%')),
        'only message links',
      )
      assert.deepEqual(
        await collect(db.links({ dest: 'blob' })),
        toBlobs,
        "'blob' is the same as '&'",
      )
      const fromAnyFeed = (await collect(db.links({ source: '@', rel: 'mentions' }))) as {
        source: string
      }[]
      assert.equal(fromAnyFeed.length, 3)
      // no match
      assert.deepEqual(await collect(db.links({ source: bob.id })), [])
      assert.deepEqual(await collect(db.links({ dest: root.key, rel: 'nothing' })), [])
    })
  })

  test('values, meta, keys, reverse, limit', async () => {
    await withDb(async ({ db }) => {
      const { root, reply, a, alice } = await linkDb(db)
      const me = db.id
      const withValues = await collect(db.links({ dest: root.key, rel: 'root', values: true }))
      assert.deepEqual(withValues, [
        { source: me, rel: 'root', dest: root.key, key: reply.key, value: reply.value },
      ])
      assert.deepEqual(await collect(db.links({ dest: root.key, rel: 'root', keys: false })), [
        { source: me, rel: 'root', dest: root.key },
      ])
      assert.deepEqual(await collect(db.links({ dest: root.key, rel: 'root', meta: false })), [
        reply.key,
      ])
      assert.deepEqual(
        await collect(db.links({ dest: root.key, rel: 'vote', meta: false, values: true })),
        [{ key: a.ids[0], value: a.msgs[0] }],
      )
      assert.deepEqual(
        await collect(
          db.links({ dest: root.key, rel: 'vote', meta: false, keys: false, values: true }),
        ),
        [a.msgs[0]],
      )
      assert.throws(
        () => db.links({ source: me, meta: false, keys: false }),
        (e: Error) => e.name === 'InvalidArgumentError',
      )
      const fwd = await collect(db.links({ dest: root.key }))
      assert.deepEqual(
        await collect(db.links({ dest: root.key, reverse: true })),
        [...fwd].reverse(),
      )
      assert.deepEqual(await collect(db.links({ dest: root.key, limit: 2 })), fwd.slice(0, 2))
      assert.deepEqual(await collect(db.links({ dest: db.id })), [
        { source: alice.id, rel: 'mentions', dest: db.id, key: a.ids[1] },
      ])
    })
  })

  test('live', async () => {
    await withDb(async ({ db }) => {
      const root = await db.publish({ type: 'post' })
      const r1 = await db.publish({ type: 'post', root: root.key })
      const got = take(db.links({ dest: root.key, live: true, values: true }), 4)
      await tick()
      await db.publish({ type: 'post', root: r1.key })
      const r2 = await db.publish({ type: 'post', root: root.key, branch: root.key })
      const items = await got
      assert.deepEqual(items, [
        { source: db.id, rel: 'root', dest: root.key, key: r1.key, value: r1.value },
        SYNC,
        { source: db.id, rel: 'root', dest: root.key, key: r2.key, value: r2.value },
        { source: db.id, rel: 'branch', dest: root.key, key: r2.key, value: r2.value },
      ])
      // old: false with a rel filter
      const liveOnly = take(db.links({ dest: root.key, rel: 'branch', live: true, old: false }), 1)
      await tick()
      await db.publish({ type: 'post', root: root.key })
      const r3 = await db.publish({ type: 'post', branch: [root.key] })
      assert.deepEqual(await liveOnly, [
        { source: db.id, rel: 'branch', dest: root.key, key: r3.key },
      ])
    })
  })
})

describe('feed state', () => {
  test('latest, latestSequence, getLatest, getFeedState, getVectorClock', async () => {
    await withDb(async ({ db }) => {
      const { alice, bob, a, b, mine } = await populate(db)
      const latest = await collect(db.latest())
      assert.deepEqual(
        [...latest].sort((x, y) => (x.id < y.id ? -1 : 1)),
        [
          { id: db.id, sequence: 5, ts: mine[4]!.value.timestamp },
          { id: alice.id, sequence: 4, ts: a.msgs[3]!.timestamp },
          { id: bob.id, sequence: 3, ts: b.msgs[2]!.timestamp },
        ].sort((x, y) => (x.id < y.id ? -1 : 1)),
      )
      // in the order feeds were first stored
      assert.deepEqual(
        latest.map((l) => l.id),
        [db.id, alice.id, bob.id],
      )
      assert.equal(await db.latestSequence(db.id), 5)
      assert.equal(await db.latestSequence(alice.id), 4)
      const unknown = generateKeys().id
      await rejectsNamed(
        () => db.latestSequence(unknown),
        'FeedNotFoundError',
        new RegExp(`^not found:${unknown.replace(/[+/.]/g, '\\$&')}$`),
      )
      const gl = await db.getLatest(alice.id)
      assert.equal(gl?.key, a.ids[3])
      assert.deepEqual(gl?.value, a.msgs[3])
      assert.equal(await db.getLatest(unknown), undefined)
      assert.deepEqual(await db.getFeedState(bob.id), { id: b.ids[2], sequence: 3 })
      assert.deepEqual(await db.getFeedState(unknown), { id: null, sequence: 0 })
      assert.deepEqual(await db.getVectorClock(), {
        [db.id]: 5,
        [alice.id]: 4,
        [bob.id]: 3,
      })
    })
  })

  test('getFeedState includes a write not yet committed', async () => {
    await withDb(async ({ db }) => {
      const p = db.publish({ type: 'post' })
      const s = await db.getFeedState(db.id)
      const m = await p
      assert.deepEqual(s, { id: m.key, sequence: 1 })
    })
  })

  test('empty database', async () => {
    await withDb(async ({ db }) => {
      assert.deepEqual(await collect(db.latest()), [])
      assert.deepEqual(await db.getVectorClock(), {})
      assert.deepEqual(await collect(db.createLogStream()), [])
      assert.deepEqual(await collect(db.createFeedStream()), [])
      assert.deepEqual(await collect(db.links({ source: '@' })), [])
      const p = db.progress().indexes
      assert.equal(p.current, p.target)
    })
  })
})

function logBytes(dir: string): Buffer {
  return readFileSync(join(dir, 'log'))
}

describe('del', () => {
  test('a message: not found, skipped by every stream, bytes zeroed in the log', async () => {
    await withDb(async (t) => {
      const { db } = t
      const root = await db.publish({ type: 'post', text: 'root' })
      const doomed = await db.publish({
        type: 'doomed',
        text: 'UNIQUE-DOOMED-TEXT',
        root: root.key,
      })
      const after = await db.publish({ type: 'post', text: 'after' })
      assert.ok(logBytes(t.dir).includes('UNIQUE-DOOMED-TEXT'), 'text in the log before del')
      await db.del(doomed.key)
      assert.ok(!logBytes(t.dir).includes('UNIQUE-DOOMED-TEXT'), 'text gone from the log after del')
      // the key stays only as `previous` of the next message
      const log = logBytes(t.dir).toString('latin1')
      assert.equal(log.split(doomed.key).length - 1, 1, 'key only in after.previous')
      assert.equal(after.value.previous, doomed.key)
      await rejectsNamed(() => db.get(doomed.key), 'MessageNotFoundError')
      assert.deepEqual(await collect(db.createLogStream()), [root, after])
      assert.deepEqual(await collect(db.createLogStream({ reverse: true })), [after, root])
      assert.deepEqual(keysOf(await collect(db.createHistoryStream({ id: db.id }))), [
        root.key,
        after.key,
      ])
      assert.deepEqual(keysOf(await collect(db.createUserStream({ id: db.id }))), [
        root.key,
        after.key,
      ])
      assert.deepEqual(keysOf(await collect(db.createFeedStream())), [root.key, after.key])
      assert.deepEqual(await collect(db.messagesByType('doomed')), [])
      assert.deepEqual(await collect(db.links({ dest: root.key })), [])
      // unknown message
      await rejectsNamed(() => db.del(doomed.key), 'MessageNotFoundError')
      await rejectsNamed(() => db.del('nonsense'), 'InvalidArgumentError')
      await rejectsNamed(() => db.del(JSON.parse('{"toString": 1}')), 'InvalidArgumentError')
      // survives a reopen and a rebuild
      const db2 = await t.reopen()
      await rejectsNamed(() => db2.get(doomed.key), 'MessageNotFoundError')
      assert.deepEqual(await collect(db2.createLogStream()), [root, after])
      await db2.rebuild()
      assert.deepEqual(await collect(db2.createLogStream()), [root, after])
      assert.deepEqual(await collect(db2.messagesByType('doomed')), [])
    })
  })

  test('a feed: its messages are gone, its state stays (as in ssb-db 20), replication goes on', async () => {
    await withDb(async (t) => {
      const { db } = t
      const alice = generateKeys()
      const a = makeFeed(alice, 5, {
        content: (i) => ({ type: 'alice-type', text: `ALICE-SECRET-${i}`, mentions: [db.id] }),
      })
      await db.addBatch(a.msgs.slice(0, 4))
      const mine = await db.publish({ type: 'post' })
      assert.ok(logBytes(t.dir).includes('ALICE-SECRET-2'), 'text in the log before del')
      const deleted = await db.del(alice.id)
      assert.deepEqual(deleted, a.ids.slice(0, 4), 'the deleted keys, in sequence order')
      assert.ok(!logBytes(t.dir).includes('ALICE-SECRET'), 'feed text gone from the log after del')
      for (const id of a.ids.slice(0, 4)) {
        await rejectsNamed(() => db.get(id), 'MessageNotFoundError')
      }
      assert.deepEqual(await collect(db.createLogStream()), [mine])
      assert.deepEqual(await collect(db.createHistoryStream({ id: alice.id })), [])
      assert.deepEqual(await collect(db.messagesByType('alice-type')), [])
      assert.deepEqual(await collect(db.links({ dest: db.id })), [])
      // the state stays, so replication continues from sequence 5 rather than refetching 1-4
      assert.deepEqual(await db.getVectorClock(), { [alice.id]: 4, [db.id]: 1 })
      assert.equal(await db.latestSequence(alice.id), 4)
      assert.deepEqual(await db.getFeedState(alice.id), { id: a.ids[3], sequence: 4 })
      await rejectsNamed(() => db.getLatest(alice.id), 'MessageNotFoundError')
      await rejectsNamed(() => db.add(a.msgs[1]), 'OldMessageError')
      await db.add(a.msgs[4])
      assert.deepEqual(keysOf(await collect(db.createHistoryStream({ id: alice.id }))), [a.ids[4]])
      // and it survives a rebuild and a reopen
      await db.rebuild()
      assert.equal(await db.latestSequence(alice.id), 5)
      const db2 = await t.reopen()
      assert.deepEqual(await db2.getVectorClock(), { [alice.id]: 5, [db.id]: 1 })
      assert.deepEqual(await db2.del(alice.id), [a.ids[4]])
      await db2.rebuild()
      assert.equal(await db2.latestSequence(alice.id), 5, 'state kept through a rebuild')
    })
  })

  test('deleting our own feed never makes us publish a second history', async () => {
    // ssb-db 20 keeps the `last` view on deletion, so publish continues at N+1. Starting again
    // at sequence 1 would fork our own feed for every peer that has the old messages.
    await withDb(async ({ db }) => {
      await db.publish({ type: 'post' })
      const second = await db.publish({ type: 'post' })
      const refused = await db.del(db.id).then(
        () => false,
        (e: Error) => e.name === 'InvalidArgumentError',
      )
      const next = await db.publish({ type: 'post' })
      if (!refused) {
        assert.equal(next.value.sequence, 3)
        assert.equal(next.value.previous, second.key)
      } else {
        assert.equal(next.value.sequence, 3)
      }
    })
  })

  test('deleting our latest message: the next publish still chains on it', async () => {
    await withDb(async ({ db }) => {
      await db.publish({ type: 'post' })
      const last = await db.publish({ type: 'post' })
      await db.del(last.key)
      const next = await db.publish({ type: 'post' })
      assert.equal(next.value.sequence, 3)
      assert.equal(next.value.previous, last.key)
    })
  })

  test('a forked feed stays forked after its messages are deleted', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 3)
      const alt = makeFeed(alice, 2, {
        from: stateAfter(a, 0),
        content: () => ({ type: 'post', text: 'alt' }),
      })
      await db.addBatch(a.msgs.slice(0, 2))
      await rejectsNamed(() => db.add(alt.msgs[1]), 'ForkError')
      assert.equal(db.isForked(alice.id), true)
      await db.del(alice.id)
      assert.equal(db.isForked(alice.id), true)
      await rejectsNamed(() => db.add(a.msgs[2]), 'ForkedFeedError')
    })
  })
})

describe('rebuild, progress, status', () => {
  async function snapshot(db: SsbDb, feeds: string[], extraTypes: string[]) {
    const out: Record<string, unknown> = {}
    out.log = await collect(db.createLogStream())
    out.logPrivate = await collect(db.createLogStream({ private: true }))
    out.feed = await collect(db.createFeedStream())
    for (const f of feeds) {
      out[`history ${f}`] = await collect(db.createHistoryStream({ id: f }))
      out[`user ${f}`] = await collect(db.createUserStream({ id: f, reverse: true }))
      out[`links from ${f}`] = await collect(db.links({ source: f, values: true }))
      out[`links to ${f}`] = await collect(db.links({ dest: f }))
    }
    for (const ty of ['post', 'vote', ...extraTypes]) {
      out[`type ${ty}`] = await collect(db.messagesByType(ty))
    }
    out.links = await collect(db.links({ dest: '%' }))
    out.latest = await collect(db.latest())
    out.clock = await db.getVectorClock()
    return out
  }

  test('results are identical before and after rebuild (and reopen)', async () => {
    await withDb(async (t) => {
      const { db } = t
      const { alice, bob, order } = await populate(db)
      await db.publish({ type: 'post', root: order[0]!.key, mentions: [alice.id] })
      await db.publish({ type: 'secret', mentions: [bob.id], recps: [db.id, bob.id] })
      await db.del(order[2]!.key)
      const feeds = [db.id, alice.id, bob.id]
      const before = await snapshot(db, feeds, ['secret'])
      assert.equal((before['type secret'] as unknown[]).length, 1)
      await db.rebuild()
      assert.deepEqual(await snapshot(db, feeds, ['secret']), before)
      const p = db.progress().indexes
      assert.equal(p.current, p.target)
      // still writable, sequence continues
      const next = await db.publish({ type: 'post' })
      assert.equal(next.value.sequence, 8)
      const db2 = await t.reopen()
      const again = await snapshot(db2, feeds, ['secret'])
      assert.deepEqual((again.log as KVT[]).slice(0, -1), before.log)
    })
  })

  test('rebuild after the index directory is removed (reopen rebuilds from the log)', async () => {
    await withDb(async (t) => {
      const { order } = await populate(t.db)
      await t.db.close()
      const { rmSync } = await import('node:fs')
      rmSync(join(t.dir, 'index'), { recursive: true, force: true })
      const db = await t.reopen()
      assert.deepEqual(await collect(db.createLogStream()), order)
      assert.equal(await db.latestSequence(db.id), 5)
    })
  })

  test('progress() and status() shapes; current === target when idle', async () => {
    await withDb(async ({ db }) => {
      await populate(db)
      const p = db.progress()
      assert.deepEqual(Object.keys(p), ['indexes'])
      assert.deepEqual(Object.keys(p.indexes).sort(), ['current', 'start', 'target'])
      for (const v of Object.values(p.indexes)) assert.equal(typeof v, 'number')
      assert.equal(p.indexes.current, p.indexes.target)
      assert.ok(p.indexes.target > 0, 'target > 0')
      assert.ok(p.indexes.start <= p.indexes.current, 'start <= current')
      const s = db.status()
      assert.deepEqual(s.progress, p)
      assert.equal(s.sync.sync, true)
      assert.equal(typeof s.sync.since, 'number')
      assert.equal(typeof s.sync.plugins, 'object')
      // grows with writes
      await db.publish({ type: 'post' })
      const p2 = db.progress().indexes
      assert.ok(p2.target > p.indexes.target, 'target grows')
      assert.equal(p2.current, p2.target)
    })
  })
})

describe('private messages in the indexes', () => {
  test('messagesByType and links see content decrypted for us, not for others', async () => {
    await withDb(async ({ db, keys }) => {
      const bob = generateKeys()
      const carol = generateKeys()
      const dave = generateKeys()
      const forUs = await db.publish({
        type: 'whisper',
        mentions: [dave.id],
        recps: [keys.id, bob.id],
      })
      const notForUs = await db.publish({
        type: 'hidden-type',
        mentions: [carol.id],
        recps: [bob.id],
      })
      // a foreign message boxed to us
      const alice = generateKeys()
      const a = makeFeed(alice, 2, {
        content: (i) =>
          i === 0
            ? boxContent({ type: 'whisper', mentions: [dave.id], root: forUs.key }, [keys.id])
            : boxContent({ type: 'hidden-type', mentions: [carol.id] }, [bob.id]),
      })
      await db.addBatch(a.msgs)

      // values come back boxed unless private: true
      const whispers = (await collect(db.messagesByType('whisper'))) as KVT[]
      assert.deepEqual(keysOf(whispers), [forUs.key, a.ids[0]])
      assert.equal(typeof whispers[0]!.value.content, 'string')
      assert.deepEqual(whispers[0], forUs)
      const opened = (await collect(db.messagesByType({ type: 'whisper', private: true }))) as KVT[]
      assert.deepEqual(opened[0]!.value.content, {
        type: 'whisper',
        mentions: [dave.id],
        recps: [keys.id, bob.id],
      })
      assert.equal((opened[1]!.value.content as { root: string }).root, forUs.key)
      assert.deepEqual(await collect(db.messagesByType('hidden-type')), [])
      assert.ok(notForUs, 'published')

      assert.deepEqual(
        await collect(db.links({ dest: dave.id })),
        [
          { source: keys.id, rel: 'mentions', dest: dave.id, key: forUs.key },
          { source: alice.id, rel: 'mentions', dest: dave.id, key: a.ids[0] },
        ].sort((x, y) => (x.source < y.source ? -1 : 1)),
      )
      assert.deepEqual(await collect(db.links({ dest: forUs.key, rel: 'root' })), [
        { source: alice.id, rel: 'root', dest: forUs.key, key: a.ids[0] },
      ])
      assert.deepEqual(await collect(db.links({ dest: carol.id })), [])
      // with meta, link values are the stored (boxed) ones, even with private: true: ssb-db's
      // format() reads `private` from the {keys, meta, values} props, where it never is
      for (const priv of [undefined, true]) {
        const lv = await collect(
          db.links({ dest: dave.id, source: keys.id, values: true, private: priv }),
        )
        assert.deepEqual(lv, [
          { source: keys.id, rel: 'mentions', dest: dave.id, key: forUs.key, value: forUs.value },
        ])
      }
    })
  })

  test('live messagesByType and links see new private messages for us', async () => {
    await withDb(async ({ db, keys }) => {
      const bob = generateKeys()
      const byType = take(db.messagesByType({ type: 'whisper', live: true, old: false }), 1)
      const byLink = take(db.links({ dest: bob.id, live: true, old: false }), 1)
      await tick()
      await db.publish({ type: 'whisper', mentions: [bob.id], recps: [bob.id] })
      const m = await db.publish({ type: 'whisper', mentions: [bob.id], recps: [keys.id] })
      assert.deepEqual(keysOf(await byType), [m.key])
      assert.deepEqual(await byLink, [
        { source: keys.id, rel: 'mentions', dest: bob.id, key: m.key },
      ])
    })
  })

  test('a reopened database with other keys does not see our private content', async () => {
    await withDb(async (t) => {
      const bob = generateKeys()
      await t.db.publish({ type: 'whisper', recps: [t.keys.id] })
      await t.db.close()
      const { rmSync } = await import('node:fs')
      rmSync(join(t.dir, 'index'), { recursive: true, force: true })
      const db = await t.reopen({ keys: bob })
      assert.deepEqual(await collect(db.messagesByType('whisper')), [])
    })
  })
})

describe('stream iteration edge cases', () => {
  test('arguments JS cannot convert get named errors or ordinary answers', async () => {
    await withDb(async ({ db, keys }) => {
      await db.publish({ type: 'post', text: 'x' })
      // String, Number, a regexp test and Array.join throw on this
      const poison = JSON.parse('{"toString": 1}') as never
      assert.equal((await collect(db.createHistoryStream({ id: keys.id, seq: poison }))).length, 1)
      assert.deepEqual(await collect(db.messagesByType({ type: poison })), [])
      for (const opts of [{ source: poison }, { dest: poison }, { source: keys.id, rel: poison }]) {
        await rejectsNamed(async () => collect(db.links(opts)), 'InvalidArgumentError')
      }
      await rejectsNamed(() => db.latestSequence(poison), 'FeedNotFoundError')
      await rejectsNamed(() => db.getAtSequence([keys.id, poison]), 'MessageNotFoundError')
    })
  })

  test('a non-live stream started before writes sees only what was committed', async () => {
    await withDb(async ({ db }) => {
      const a = await db.publish({ type: 'post' })
      const it = db.createLogStream()[Symbol.asyncIterator]()
      const first = await it.next()
      await db.publish({ type: 'post' })
      const second = await it.next()
      assert.deepEqual(first.value, a)
      // the second write may or may not be seen, but never twice and the stream ends
      if (!second.done) assert.notEqual((second.value as KVT).key, a.key)
      const rest = await nextOrTimeout(it, 2000)
      assert.notEqual(rest, 'timeout')
    })
  })

  test('limit ends a live stream and removes its listener', async () => {
    await withDb(async ({ db }) => {
      const got = collect(db.createLogStream({ live: true, limit: 2, sync: false }))
      await tick()
      const a = await db.publish({ type: 'post' })
      const b = await db.publish({ type: 'post' })
      assert.deepEqual(await got, [a, b])
      assert.equal(recordListeners(db), 0)
    })
  })

  test('many concurrent readers while writing', async () => {
    await withDb(async ({ db }) => {
      const feed = generateKeys()
      const f = makeFeed(feed, 100)
      const writes = db.addBatch(f.msgs)
      const reads = Array.from({ length: 10 }, () => collect(db.createLogStream()))
      const res = await writes
      assert.ok(
        res.every((r) => r.ok),
        'all stored',
      )
      for (const r of await Promise.all(reads)) {
        const ks = keysOf(r)
        assert.deepEqual(ks, f.ids.slice(0, ks.length))
      }
    })
  })
})
