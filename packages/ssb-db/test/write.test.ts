// The write path of @scuttlekit/ssb-db on a real on-disk database: publish (plain and boxed),
// add, addBatch, forks, concurrency, close and reopen.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { SsbDb } from '@scuttlekit/ssb-db'
import { generateKeys, unboxContent } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { type FeedState, type KVT, type MsgValue, validateMessage } from '@scuttlekit/ssb-validate'
import {
  collect,
  makeFeed,
  rejectsNamed,
  stateAfter,
  take,
  until,
  withDb,
} from './helpers/api-util.js'

async function logKeys(db: SsbDb): Promise<string[]> {
  return (await collect(db.createLogStream({ values: false }))) as string[]
}

async function history(db: SsbDb, id: string): Promise<KVT[]> {
  return (await collect(db.createHistoryStream({ id }))) as KVT[]
}

function assertChain(msgs: KVT[], author: string): void {
  let prev: string | null = null
  msgs.forEach((m, i) => {
    assert.equal(m.value.author, author)
    assert.equal(m.value.sequence, i + 1, `sequence at ${i}`)
    assert.equal(m.value.previous, prev, `previous at ${i}`)
    prev = m.key
  })
}

describe('publish', () => {
  test('returns {key, value, timestamp} and chains sequence/previous', async () => {
    await withDb(async ({ db, keys }) => {
      const before = Date.now()
      const a = await db.publish({ type: 'post', text: 'one' })
      const b = await db.publish({ type: 'post', text: 'two' })
      const after = Date.now()
      assert.deepEqual(Object.keys(a).sort(), ['key', 'timestamp', 'value'])
      assert.match(a.key, /^%[A-Za-z0-9+/]{43}=\.sha256$/)
      assert.equal(a.value.author, keys.id)
      assert.equal(db.id, keys.id)
      assert.equal(a.value.sequence, 1)
      assert.equal(a.value.previous, null)
      assert.equal(b.value.sequence, 2)
      assert.equal(b.value.previous, a.key)
      assert.equal(a.value.hash, 'sha256')
      assert.match(a.value.signature, /\.sig\.ed25519$/)
      assert.deepEqual(a.value.content, { type: 'post', text: 'one' })
      // authored timestamp present and plausible
      for (const m of [a, b]) {
        assert.equal(typeof m.value.timestamp, 'number')
        assert.ok(
          m.value.timestamp >= before && m.value.timestamp <= after + 1,
          'authored timestamp is now',
        )
        assert.ok(m.timestamp >= before && m.timestamp <= after + 1, 'receive timestamp is now')
      }
      assert.ok(b.timestamp > a.timestamp, 'receive timestamps increase')
      assert.deepEqual(await db.get(a.key), a.value)
      assert.deepEqual(await db.get({ id: b.key, meta: true }), b)
      assert.equal(await db.latestSequence(keys.id), 2)
    })
  })

  test('receive timestamps strictly increase, fractional within one millisecond', async () => {
    await withDb(async ({ db }) => {
      const ps: Promise<KVT>[] = []
      for (let i = 0; i < 200; i++) ps.push(db.publish({ type: 'post', text: `n${i}` }))
      const out = await Promise.all(ps)
      for (let i = 1; i < out.length; i++) {
        assert.ok(out[i]!.timestamp > out[i - 1]!.timestamp, `receive ts at ${i}`)
        assert.ok(
          out[i]!.value.timestamp > out[i - 1]!.value.timestamp,
          `authored ts at ${i} increases too`,
        )
      }
      assert.ok(
        out.some((m) => !Number.isInteger(m.timestamp)),
        'many publishes in one ms give fractional receive timestamps',
      )
      // what is stored is what was returned
      const stored = (await collect(db.createLogStream())) as KVT[]
      assert.deepEqual(
        stored.map((m) => m.timestamp),
        out.map((m) => m.timestamp),
      )
    })
  })

  test('200 concurrent publishes are all stored in order without a fork', async () => {
    await withDb(async ({ db, keys }) => {
      const out = await Promise.all(
        Array.from({ length: 200 }, (_, i) => db.publish({ type: 'post', text: `c${i}` })),
      )
      assert.deepEqual(
        out.map((m) => m.value.sequence),
        Array.from({ length: 200 }, (_, i) => i + 1),
      )
      const h = await history(db, keys.id)
      assert.equal(h.length, 200)
      assertChain(h, keys.id)
      assert.deepEqual(
        h.map((m) => m.key),
        out.map((m) => m.key),
      )
      assert.deepEqual(
        h.map((m) => (m.value.content as { text: string }).text),
        out.map((_, i) => `c${i}`),
      )
      assert.equal(db.isForked(keys.id), false)
      assert.equal(await db.latestSequence(keys.id), 200)
      assert.deepEqual(await db.getFeedState(keys.id), { id: out[199]!.key, sequence: 200 })
    })
  })

  test('invalid content: a validation error by name, nothing stored', async () => {
    await withDb(async ({ db, keys }) => {
      await rejectsNamed(() => db.publish({ type: 'x' }), 'InvalidContentTypeError')
      await rejectsNamed(() => db.publish({ text: 'no type' }), 'InvalidContentTypeError')
      await rejectsNamed(() => db.publish({ type: 'y'.repeat(53) }), 'InvalidContentTypeError')
      await rejectsNamed(() => db.publish('not boxed'), 'InvalidContentError')
      await rejectsNamed(
        () => db.publish({ type: 'post', text: 'x'.repeat(9000) }),
        'MessageTooLargeError',
      )
      // content JSON cannot hold: once signed and stored as a placeholder, an unreadable record
      const cyclic: Record<string, unknown> = { type: 'post' }
      cyclic.self = cyclic
      let deep: unknown = 1
      for (let i = 0; i < 100_000; i++) deep = { a: deep }
      await rejectsNamed(() => db.publish(cyclic), 'UnserialisableContentError')
      await rejectsNamed(() => db.publish({ type: 'post', deep }), 'UnserialisableContentError')
      await rejectsNamed(() => db.publish({ type: 'post', n: 1n }), 'UnserialisableContentError')
      // and content to be boxed
      for (const c of [cyclic, { type: 'post', deep }, { type: 'post', n: 1n }]) {
        await rejectsNamed(
          () => db.publish({ ...c, recps: [keys.id] }),
          'UnserialisableContentError',
        )
      }
      assert.deepEqual(await db.getFeedState(keys.id), { id: null, sequence: 0 })
      assert.deepEqual(await logKeys(db), [])
      // the feed is still writable and starts at 1
      const m = await db.publish({ type: 'abc' })
      assert.equal(m.value.sequence, 1)
    })
  })

  test('a failed publish in the middle of concurrent ones leaves no gap', async () => {
    await withDb(async ({ db, keys }) => {
      const results = await Promise.allSettled([
        db.publish({ type: 'post', n: 1 }),
        db.publish({ type: 'no' }),
        db.publish({ type: 'post', n: 3 }),
      ])
      assert.equal(results[0].status, 'fulfilled')
      assert.equal(results[1].status, 'rejected')
      assert.equal(results[2].status, 'fulfilled')
      const h = await history(db, keys.id)
      assertChain(h, keys.id)
      assert.equal(h.length, 2)
    })
  })
})

describe('publish with recps', () => {
  const bob = generateKeys()
  const carol = generateKeys()

  test('string recps: boxed, readable by us (private) and by the recipient', async () => {
    await withDb(async ({ db, keys }) => {
      const content = { type: 'post', text: 'secret', recps: bob.id }
      const m = await db.publish(content)
      assert.equal(typeof m.value.content, 'string')
      assert.match(m.value.content as unknown as string, /^[A-Za-z0-9+/]+=*\.box$/)
      // reference (autobox.js): a string recps becomes an array inside the plaintext
      assert.deepEqual(unboxContent(m.value.content as unknown as string, bob), {
        type: 'post',
        text: 'secret',
        recps: [bob.id],
      })
      // not for us: we are not a recipient
      const mine = (await db.get({ id: m.key, private: true })) as MsgValue
      assert.equal(mine.content, m.value.content)
      assert.equal(unboxContent(m.value.content as unknown as string, keys), undefined)
      // our own caller's object is not changed
      assert.equal(content.recps, bob.id)
    })
  })

  test('array recps including ourselves: get({private: true}) decrypts', async () => {
    await withDb(async ({ db, keys }) => {
      const m = await db.publish({ type: 'post', text: 'to both', recps: [keys.id, bob.id] })
      const boxed = m.value.content as unknown as string
      assert.ok(boxed.endsWith('.box'), 'boxed')
      const plain = { type: 'post', text: 'to both', recps: [keys.id, bob.id] }
      assert.deepEqual(unboxContent(boxed, bob), plain)
      assert.equal(unboxContent(boxed, carol), undefined)
      // without private: the boxed original
      assert.deepEqual(await db.get(m.key), m.value)
      const v = (await db.get({ id: m.key, private: true })) as MsgValue & {
        meta: { private: boolean; unbox: string; original: { content: string } }
        private: boolean
        cyphertext: string
        unbox: string
      }
      assert.deepEqual(v.content, plain)
      assert.equal(v.meta.private, true)
      assert.equal(v.meta.original.content, boxed)
      assert.equal(typeof v.meta.unbox, 'string')
      assert.equal(v.private, true)
      assert.equal(v.cyphertext, boxed)
      assert.equal(v.unbox, v.meta.unbox)
      assert.equal(v.signature, m.value.signature)
    })
  })

  test('recps as link objects {link} are boxed to those feeds', async () => {
    await withDb(async ({ db }) => {
      const m = await db.publish({ type: 'post', recps: [{ link: bob.id, name: 'bob' }] })
      assert.ok((m.value.content as unknown as string).endsWith('.box'), 'boxed')
      const plain = unboxContent(m.value.content as unknown as string, bob) as { type: string }
      assert.equal(plain.type, 'post')
    })
  })

  test('recps errors: empty, not an array, a non-feed recipient, more than 7', async () => {
    await withDb(async ({ db, keys }) => {
      await rejectsNamed(
        () => db.publish({ type: 'post', recps: [] }),
        'RecipientsError',
        /requires at least one recipient/,
      )
      await rejectsNamed(
        () => db.publish({ type: 'post', recps: 42 }),
        'RecipientsError',
        /expects an Array of recipients/,
      )
      await rejectsNamed(
        () => db.publish({ type: 'post', recps: { a: bob.id } }),
        'RecipientsError',
        /expects an Array/,
      )
      const msgId = `%${Buffer.alloc(32, 7).toString('base64')}.sha256`
      await rejectsNamed(
        () => db.publish({ type: 'post', recps: [bob.id, msgId] }),
        'RecipientsError',
        /no boxers could encrypt these recps/,
      )
      const eight = Array.from({ length: 8 }, () => generateKeys().id)
      await rejectsNamed(
        () => db.publish({ type: 'post', recps: eight }),
        'TooManyRecipientsError',
        /max recipients is:7 found:8/,
      )
      // seven is fine
      const m = await db.publish({ type: 'post', recps: eight.slice(0, 7) })
      assert.equal(m.value.sequence, 1)
      assert.equal((await logKeys(db)).length, 1)
      assert.equal(await db.latestSequence(keys.id), 1)
    })
  })

  test('falsy recps (null) publishes in plain text, as ssb-db 20 does', async () => {
    // autobox.js: `if (!content.recps) return content`
    await withDb(async ({ db }) => {
      const m = await db.publish({ type: 'post', text: 'public', recps: null })
      assert.deepEqual(m.value.content, { type: 'post', text: 'public', recps: null })
    })
  })
})

describe('add', () => {
  test('foreign messages are validated and stored', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const feed = makeFeed(alice, 5)
      for (let i = 0; i < 5; i++) {
        const kvt = await db.add(feed.msgs[i])
        assert.equal(kvt.key, feed.ids[i])
        assert.deepEqual(kvt.value, feed.msgs[i])
        assert.equal(typeof kvt.timestamp, 'number')
      }
      const h = await history(db, alice.id)
      assertChain(h, alice.id)
      assert.deepEqual(
        h.map((m) => m.key),
        feed.ids,
      )
      assert.deepEqual(await db.getVectorClock(), { [alice.id]: 5 })
      assert.deepEqual(await db.get(feed.ids[2]!), feed.msgs[2])
    })
  })

  test('errors: bad signature, gap, duplicate, old, junk; nothing stored', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const feed = makeFeed(alice, 4)
      const forged = { ...feed.msgs[0]!, content: { type: 'post', text: 'forged' } }
      await rejectsNamed(() => db.add(forged), 'InvalidSignatureError')
      assert.deepEqual(await logKeys(db), [])
      assert.deepEqual(await db.getFeedState(alice.id), { id: null, sequence: 0 })
      // a first message that is not sequence 1
      await rejectsNamed(() => db.add(feed.msgs[1]), 'InvalidFirstMessageError')

      await db.add(feed.msgs[0])
      await rejectsNamed(() => db.add(feed.msgs[2]), 'SequenceGapError')
      await rejectsNamed(() => db.add(feed.msgs[0]), 'DuplicateMessageError')
      await db.add(feed.msgs[1])
      await rejectsNamed(() => db.add(feed.msgs[0]), 'OldMessageError')
      await rejectsNamed(() => db.add(null), 'InvalidAuthorError')
      await rejectsNamed(() => db.add({ hello: 1 }), 'InvalidAuthorError')
      assert.deepEqual(await logKeys(db), feed.ids.slice(0, 2))
      assert.equal(await db.latestSequence(alice.id), 2)
      // bad signature / gap / duplicate are not forks
      assert.equal(db.isForked(alice.id), false)
      await db.add(feed.msgs[2])
      assert.equal(await db.latestSequence(alice.id), 3)
    })
  })

  test('a message signed under another network key (hmac) is refused', async () => {
    const hmacKey = Buffer.alloc(32, 9).toString('base64')
    await withDb(
      async ({ db }) => {
        const alice = generateKeys()
        const plain = makeFeed(alice, 1)
        await rejectsNamed(() => db.add(plain.msgs[0]), 'InvalidSignatureError')
        const signed = makeFeed(alice, 1, { hmacKey })
        await db.add(signed.msgs[0])
        const mine = await db.publish({ type: 'post' })
        assert.equal(mine.value.sequence, 1)
      },
      { hmacKey },
    )
  })

  test('fork: ForkError, feed marked forked, later messages refused, persisted', async () => {
    await withDb(async (t) => {
      const { db } = t
      const alice = generateKeys()
      const bob = generateKeys()
      const a = makeFeed(alice, 3)
      // another history from message 1 on: 2' and 3' chain on 1
      const alt = makeFeed(alice, 2, {
        from: stateAfter(a, 0),
        content: (i) => ({ type: 'post', text: `other ${i}` }),
      })
      const b = makeFeed(bob, 3)
      await db.add(a.msgs[0])
      await db.add(a.msgs[1])
      await db.add(b.msgs[0])
      // 2' is old (sequence 2 already had, another id): not a fork by itself
      await rejectsNamed(() => db.add(alt.msgs[0]), 'OldMessageError')
      assert.equal(db.isForked(alice.id), false)
      // 3' has the right sequence and another previous: a fork
      const err = await rejectsNamed(() => db.add(alt.msgs[1]), 'ForkError')
      assert.equal((err as Error & { fatal?: boolean }).fatal, true)
      assert.equal(db.isForked(alice.id), true)
      assert.ok(
        t.logger.entries.some((e) => e.level === 'warn' && /fork/.test(e.msg)),
        'a fork warning is logged',
      )
      // the valid continuation is refused from now on
      await rejectsNamed(() => db.add(a.msgs[2]), 'ForkedFeedError')
      const res = await db.addBatch([a.msgs[2]])
      assert.equal(res[0]!.ok, false)
      assert.equal((res[0] as { error: Error }).error.name, 'ForkedFeedError')
      assert.equal(await db.latestSequence(alice.id), 2)
      // other feeds unaffected
      await db.add(b.msgs[1])
      assert.equal(db.isForked(bob.id), false)

      const db2 = await t.reopen()
      assert.equal(db2.isForked(alice.id), true)
      assert.equal(db2.isForked(bob.id), false)
      await rejectsNamed(() => db2.add(a.msgs[2]), 'ForkedFeedError')
      await db2.add(b.msgs[2])
      assert.deepEqual(await db2.getVectorClock(), { [alice.id]: 2, [bob.id]: 3 })
      // what was stored of the forked feed stays readable
      assert.deepEqual(
        ((await history(db2, alice.id)) as KVT[]).map((m) => m.key),
        a.ids.slice(0, 2),
      )
      // rebuild keeps the mark
      await db2.rebuild()
      assert.equal(db2.isForked(alice.id), true)
      await rejectsNamed(() => db2.add(a.msgs[2]), 'ForkedFeedError')
    })
  })

  test('a forged fork (not signed by the author) is refused without marking the feed', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const mallory = generateKeys()
      const a = makeFeed(alice, 3)
      await db.add(a.msgs[0])
      await db.add(a.msgs[1])
      // sequence 3 chaining on message 1: a fork, but signed by someone else
      const forged = makeFeed(mallory, 2, { from: stateAfter(a, 0) }).msgs[1] as unknown as Record<
        string,
        unknown
      >
      const lying = { ...forged, author: alice.id }
      for (const attempt of [() => db.add(lying), async () => (await db.addBatch([lying]))[0]]) {
        await attempt().catch(() => {})
        assert.equal(db.isForked(alice.id), false)
      }
      // a batch big enough for the parallel path too
      await db.addBatch(Array.from({ length: 20 }, () => lying))
      assert.equal(db.isForked(alice.id), false)
      await db.add(a.msgs[2])
      assert.equal(await db.latestSequence(alice.id), 3)
    })
  })

  test('a fork found by addBatch marks the feed and refuses the rest of the batch', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 4)
      const alt = makeFeed(alice, 2, {
        from: stateAfter(a, 0),
        content: (i) => ({ type: 'post', text: `alt ${i}` }),
      })
      await db.addBatch(a.msgs.slice(0, 2))
      const res = await db.addBatch([alt.msgs[1], a.msgs[2], a.msgs[3]])
      assert.equal((res[0] as { error: Error }).error.name, 'ForkError')
      assert.equal((res[1] as { error: Error }).error.name, 'ForkedFeedError')
      assert.equal((res[2] as { error: Error }).error.name, 'ForkedFeedError')
      assert.equal(db.isForked(alice.id), true)
      assert.equal(await db.latestSequence(alice.id), 2)
    })
  })
})

describe('addBatch', () => {
  test('mixed feeds with invalid messages: per-message results, stored ones readable', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const bob = generateKeys()
      const carol = generateKeys()
      const a = makeFeed(alice, 6)
      const b = makeFeed(bob, 3)
      const c = makeFeed(carol, 2)
      const badSig = { ...c.msgs[0]!, content: { type: 'post', text: 'tampered' } }
      const batch: unknown[] = [
        a.msgs[0],
        b.msgs[0],
        a.msgs[1],
        badSig,
        b.msgs[1],
        a.msgs[5], // gap: 4 and 5 are missing
        b.msgs[2],
        null,
        a.msgs[2],
      ]
      const res = await db.addBatch(batch)
      assert.equal(res.length, batch.length)
      const summary = res.map((r) => (r.ok ? r.kvt.key : r.error.name))
      assert.deepEqual(summary, [
        a.ids[0],
        b.ids[0],
        a.ids[1],
        'InvalidSignatureError',
        b.ids[1],
        'SequenceGapError',
        b.ids[2],
        'InvalidAuthorError',
        a.ids[2],
      ])
      for (const r of res) {
        if (r.ok) {
          assert.deepEqual(await db.get({ id: r.kvt.key, meta: true }), r.kvt)
        } else {
          assert.ok(r.error instanceof Error, 'an Error')
        }
      }
      assert.deepEqual(await db.getVectorClock(), { [alice.id]: 3, [bob.id]: 3 })
      assert.equal(db.isForked(carol.id), false)
      // receive timestamps of the stored ones increase in batch order
      const stored = res.filter((r) => r.ok).map((r) => (r as { kvt: KVT }).kvt.timestamp)
      for (let i = 1; i < stored.length; i++)
        assert.ok(stored[i]! > stored[i - 1]!, 'receive order')
      const log = await logKeys(db)
      assert.deepEqual(log, [a.ids[0], b.ids[0], a.ids[1], b.ids[1], b.ids[2], a.ids[2]])

      // the same batch again: only non-fatal duplicate/old errors (and the old invalid ones)
      const again = await db.addBatch(batch)
      const names = again.map((r) => (r.ok ? 'stored' : r.error.name))
      assert.deepEqual(names, [
        'OldMessageError',
        'OldMessageError',
        'OldMessageError',
        'InvalidSignatureError',
        'OldMessageError',
        'SequenceGapError',
        'DuplicateMessageError',
        'InvalidAuthorError',
        'DuplicateMessageError',
      ])
      assert.equal(db.isForked(alice.id), false)
      assert.equal(db.isForked(bob.id), false)
      assert.deepEqual(await logKeys(db), log)
      // later messages of those feeds still go in
      await db.add(a.msgs[3])
      assert.equal(await db.latestSequence(alice.id), 4)
    })
  })

  test('poison values in one message cost only that message, also in a shared round', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const bob = generateKeys()
      const a = makeFeed(alice, 3)
      const b = makeFeed(bob, 3)
      // JS throws when it compares or prints a JSON object whose toString is not a function
      const poison = JSON.parse('{"toString": 1}') as object
      await db.addBatch([a.msgs[0], b.msgs[0]])
      const writes = [
        db.addBatch([a.msgs[1], { ...b.msgs[1]!, sequence: poison }, a.msgs[2]]),
        db.addBatch([{ ...b.msgs[1]!, previous: [poison] }]),
        db.add({ ...b.msgs[1]!, timestamp: poison }),
      ]
      const settled = await Promise.allSettled(writes)
      const [first, second, third] = [settled[0]!, settled[1]!, settled[2]!]
      assert.equal(first.status, 'fulfilled')
      const names = (first as PromiseFulfilledResult<{ ok: boolean; error?: Error }[]>).value.map(
        (r) => (r.ok ? 'stored' : r.error!.name),
      )
      assert.deepEqual(names, ['stored', 'OldMessageError', 'stored'])
      assert.equal(second.status, 'fulfilled')
      const fork = (second as PromiseFulfilledResult<{ ok: boolean; error?: Error }[]>).value[0]!
      assert.equal(fork.ok, false)
      assert.equal(fork.error!.name, 'ForkError')
      // not signed by bob (its signature covers the real previous): the feed is not marked
      assert.equal(db.isForked(bob.id), false)
      assert.equal(third.status, 'rejected')
      assert.ok((third as PromiseRejectedResult).reason instanceof Error)
      assert.deepEqual(await db.getVectorClock(), { [alice.id]: 3, [bob.id]: 1 })
      await db.add(b.msgs[1])
      assert.equal(await db.latestSequence(bob.id), 2)
    })
  })

  test('re-adding every stored message gives only non-fatal errors', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 10)
      await db.addBatch(a.msgs)
      const again = await db.addBatch(a.msgs)
      for (const r of again) {
        assert.equal(r.ok, false)
        const e = (r as { error: Error & { fatal?: boolean } }).error
        assert.match(e.name, /^(DuplicateMessageError|OldMessageError)$/)
        assert.equal(e.fatal, false)
      }
      assert.equal((await logKeys(db)).length, 10)
    })
  })

  test('an empty batch is fine', async () => {
    await withDb(async ({ db }) => {
      assert.deepEqual(await db.addBatch([]), [])
    })
  })

  test('concurrent add and addBatch on the same feed never fork', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 40)
      const adds = a.msgs.slice(0, 20).map((m) =>
        db.add(m).then(
          (kvt) => ({ ok: true as const, kvt }),
          (error: Error) => ({ ok: false as const, error }),
        ),
      )
      const batch1 = db.addBatch(a.msgs)
      const batch2 = db.addBatch(a.msgs.slice(10, 30))
      const results = [...(await Promise.all(adds)), ...(await batch1), ...(await batch2)]
      for (const r of results) {
        if (!r.ok) {
          assert.match(
            r.error.name,
            /^(DuplicateMessageError|OldMessageError|SequenceGapError)$/,
            r.error.message,
          )
        }
      }
      // every message stored exactly once
      const storedKeys = results.filter((r) => r.ok).map((r) => (r as { kvt: KVT }).kvt.key)
      assert.equal(new Set(storedKeys).size, storedKeys.length)
      assert.equal(db.isForked(alice.id), false)
      const h = await history(db, alice.id)
      assertChain(h, alice.id)
      assert.equal(h.length, 40)
      assert.equal((await logKeys(db)).length, 40)
    })
  })

  test('a batch racing publishes of our own feed keeps both consistent', async () => {
    await withDb(async ({ db, keys }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 30)
      const pubs = Array.from({ length: 30 }, (_, i) => db.publish({ type: 'post', i }))
      const batch = db.addBatch(a.msgs)
      await Promise.all(pubs)
      const res = await batch
      assert.ok(
        res.every((r) => r.ok),
        'all stored',
      )
      assertChain(await history(db, keys.id), keys.id)
      assertChain(await history(db, alice.id), alice.id)
      const log = (await collect(db.createLogStream())) as KVT[]
      assert.equal(log.length, 60)
      for (let i = 1; i < log.length; i++)
        assert.ok(log[i]!.timestamp > log[i - 1]!.timestamp, 'receive order')
    })
  })
})

/**
 * What validating `msgs` one by one in order against an empty database gives: the key of each
 * message that would be stored, else its error's name.
 */
function oneByOne(msgs: readonly unknown[]): string[] {
  const states = new Map<string, FeedState>()
  return msgs.map((m) => {
    const author = (m as { author?: string } | null)?.author ?? ''
    const v = validateMessage(states.get(author), m)
    if (!v.ok) return v.error.name
    states.set(author, { id: v.id, sequence: v.value.sequence, timestamp: v.value.timestamp })
    return v.id
  })
}

describe('validation in rounds', () => {
  // More messages than one validation round (256), with damage close to round boundaries and
  // later messages that chain on a bad one from the rounds after it.
  const alice = generateKeys()
  const bob = generateKeys()
  const carol = generateKeys()
  const feeds = [makeFeed(alice, 400), makeFeed(bob, 400), makeFeed(carol, 400)]
  const msgs: unknown[] = []
  for (let i = 0; i < 400; i++) for (const f of feeds) msgs.push(f.msgs[i])
  const tamper = (m: unknown) => ({ ...(m as MsgValue), content: { type: 'post', text: 'x' } })
  msgs[250] = tamper(msgs[250]) // the last round-1 message of its feed that chains onward
  msgs[300] = tamper(msgs[300])
  msgs[700] = msgs[697] // a duplicate
  msgs.splice(900, 1) // a gap in one feed from here on
  const expected = oneByOne(msgs)

  test('one large addBatch gives the one-by-one verdicts', async () => {
    assert.ok(expected.filter((e) => e === 'InvalidSignatureError').length === 2)
    await withDb(async ({ db }) => {
      const res = await db.addBatch(msgs)
      assert.deepEqual(
        res.map((r) => (r.ok ? r.kvt.key : r.error.name)),
        expected,
      )
      assert.deepEqual(
        await logKeys(db),
        expected.filter((e) => e.startsWith('%')),
      )
    })
  })

  test('many concurrent adds give the one-by-one verdicts', async () => {
    await withDb(async ({ db }) => {
      const res = await Promise.all(
        msgs.map((m) =>
          db.add(m).then(
            (kvt) => kvt.key as string,
            (e: Error) => e.name,
          ),
        ),
      )
      assert.deepEqual(res, expected)
      assert.deepEqual(
        await logKeys(db),
        expected.filter((e) => e.startsWith('%')),
      )
    })
  })

  test('adds arriving while earlier rounds are verified chain on them', async () => {
    await withDb(async ({ db }) => {
      const results: Promise<string>[] = []
      for (let i = 0; i < msgs.length; i += 50) {
        for (const m of msgs.slice(i, i + 50)) {
          results.push(
            db.add(m).then(
              (kvt) => kvt.key as string,
              (e: Error) => e.name,
            ),
          )
        }
        await new Promise((r) => setImmediate(r))
      }
      assert.deepEqual(await Promise.all(results), expected)
    })
  })
})

describe('writes during maintenance', () => {
  test('publish while rebuild() runs continues our sequence (never forks our own feed)', async () => {
    await withDb(async ({ db, keys }) => {
      await Promise.all(Array.from({ length: 1500 }, (_, i) => db.publish({ type: 'post', i })))
      let rebuilding = true
      const r = db.rebuild().finally(() => {
        rebuilding = false
      })
      const during: Promise<KVT>[] = []
      while (rebuilding && during.length < 50) {
        during.push(db.publish({ type: 'post', during: during.length }))
        await new Promise((res) => setTimeout(res, 1))
      }
      await r
      const out = await Promise.all(during)
      assert.deepEqual(
        out.map((m) => m.value.sequence),
        out.map((_, i) => 1501 + i),
      )
      const h = await history(db, keys.id)
      assert.equal(h.length, 1500 + out.length)
      assertChain(h, keys.id)
      assert.equal((await logKeys(db)).length, 1500 + out.length)
      assert.equal(await db.latestSequence(keys.id), 1500 + out.length)
    })
  })

  test('add and addBatch while rebuild() runs', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 1600)
      await db.addBatch(a.msgs.slice(0, 1500))
      let rebuilding = true
      const r = db.rebuild().finally(() => {
        rebuilding = false
      })
      const results: unknown[] = []
      let i = 1500
      while (rebuilding && i < 1600) {
        results.push(
          await db.add(a.msgs[i]).then(
            () => 'ok',
            (e: Error) => e.name,
          ),
        )
        i++
      }
      await r
      results.push(...(await db.addBatch(a.msgs.slice(i))).map((x) => (x.ok ? 'ok' : x.error.name)))
      assert.deepEqual(
        results,
        results.map(() => 'ok'),
      )
      assert.equal(db.isForked(alice.id), false)
      assert.equal(await db.latestSequence(alice.id), 1600)
      assertChain(await history(db, alice.id), alice.id)
    })
  })
})

describe('close and reopen', () => {
  test('calls after close throw DatabaseClosedError; close is idempotent', async () => {
    await withDb(async ({ db, keys }) => {
      const m = await db.publish({ type: 'post' })
      const alice = generateKeys()
      const a = makeFeed(alice, 1)
      const p1 = db.close()
      const p2 = db.close()
      await Promise.all([p1, p2])
      await db.close()
      const calls: [string, () => unknown][] = [
        ['publish', () => db.publish({ type: 'post' })],
        ['add', () => db.add(a.msgs[0])],
        ['addBatch', () => db.addBatch([a.msgs[0]])],
        ['get', () => db.get(m.key)],
        ['latestSequence', () => db.latestSequence(keys.id)],
        ['getLatest', () => db.getLatest(keys.id)],
        ['getFeedState', () => db.getFeedState(keys.id)],
        ['getVectorClock', () => db.getVectorClock()],
        ['del', () => db.del(m.key)],
        ['rebuild', () => db.rebuild()],
        ['createLogStream', () => db.createLogStream()],
        ['createHistoryStream', () => db.createHistoryStream({ id: keys.id })],
        ['createUserStream', () => db.createUserStream({ id: keys.id })],
        ['createFeedStream', () => db.createFeedStream()],
        ['messagesByType', () => db.messagesByType('post')],
        ['links', () => db.links({ source: keys.id })],
        ['latest', () => db.latest()],
      ]
      for (const [name, call] of calls) {
        await rejectsNamed(call, 'DatabaseClosedError').catch((e: Error) => {
          throw new Error(`${name}: ${e.message}`)
        })
      }
    })
  })

  test('close waits for writes in flight; they are durable', async () => {
    await withDb(async (t) => {
      const pending = Array.from({ length: 50 }, (_, i) => t.db.publish({ type: 'post', i }))
      await t.db.close()
      const done = await Promise.all(pending)
      assert.equal(done.length, 50)
      const db2 = await t.reopen()
      assert.equal(await db2.latestSequence(t.keys.id), 50)
    })
  })

  test('a non-live stream interrupted by close ends or fails with DatabaseClosedError', async () => {
    await withDb(async ({ db }) => {
      await Promise.all(Array.from({ length: 2000 }, (_, i) => db.publish({ type: 'post', i })))
      let n = 0
      const reading = (async () => {
        for await (const _ of db.createLogStream({ reverse: true })) {
          n++
          if (n === 10) await new Promise((r) => setTimeout(r, 20))
        }
      })().then(
        () => 'ended',
        (e: Error) => e.name,
      )
      await until(() => n >= 10)
      await db.close()
      assert.match(await reading, /^(ended|DatabaseClosedError)$/)
    })
  })

  test('a live stream open at close ends', async () => {
    await withDb(async (t) => {
      await t.db.publish({ type: 'post' })
      const it = t.db.createLogStream({ live: true, sync: false })[Symbol.asyncIterator]()
      assert.equal((await it.next()).done, false)
      const next = it.next()
      await t.db.close()
      const r = await Promise.race([
        next,
        new Promise((resolve) => setTimeout(() => resolve('hang'), 2000)),
      ])
      assert.notEqual(r, 'hang')
      assert.equal((r as IteratorResult<unknown>).done, true)
    })
  })

  test('reopen keeps everything and continues the sequence', async () => {
    await withDb(async (t) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 3)
      const bob = generateKeys()
      await t.db.addBatch(a.msgs)
      const first: KVT[] = []
      for (let i = 0; i < 5; i++) first.push(await t.db.publish({ type: 'post', i }))
      const boxed = await t.db.publish({ type: 'secret', recps: [t.keys.id, bob.id] })
      const logBefore = await collect(t.db.createLogStream())
      const clockBefore = await t.db.getVectorClock()

      const db = await t.reopen()
      assert.deepEqual(await collect(db.createLogStream()), logBefore)
      assert.deepEqual(await db.getVectorClock(), clockBefore)
      const opened = (await db.get({ id: boxed.key, private: true })) as MsgValue
      assert.equal((opened.content as unknown as { type: string }).type, 'secret')
      const next = await db.publish({ type: 'post', i: 5 })
      assert.equal(next.value.sequence, 7)
      assert.equal(next.value.previous, boxed.key)
      assert.ok(next.timestamp > boxed.timestamp, 'receive time keeps increasing')
      await db.add(makeFeed(alice, 1, { from: stateAfter(a) }).msgs[0])
      assert.equal(await db.latestSequence(alice.id), 4)
      assertChain(await history(db, t.keys.id), t.keys.id)
      // an index progress that is complete after opening
      const p = db.progress().indexes
      assert.equal(p.current, p.target)
    })
  })

  test('a second handle on the same directory is refused while the first is open', async () => {
    await withDb(async (t) => {
      const { openDb } = await import('@scuttlekit/ssb-db')
      await rejectsNamed(() => openDb({ path: t.dir, keys: t.keys }), 'DatabaseLockedError')
    })
  })

  test('live streams see writes from publish, add and addBatch', async () => {
    await withDb(async ({ db }) => {
      const alice = generateKeys()
      const a = makeFeed(alice, 3)
      const got = take(db.createLogStream({ live: true, old: false, keys: false }), 4)
      await new Promise((r) => setImmediate(r))
      await db.publish({ type: 'post' })
      await db.add(a.msgs[0])
      await db.addBatch(a.msgs.slice(1))
      const vals = (await got) as MsgValue[]
      assert.deepEqual(
        vals.map((v) => [v.author, v.sequence]),
        [
          [db.id, 1],
          [alice.id as FeedId, 1],
          [alice.id, 2],
          [alice.id, 3],
        ],
      )
    })
  })
})
