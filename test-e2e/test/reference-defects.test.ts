// Defects of the real ssb-server 16 (npm) that our server does not share (bad-inputs.md §4, §6,
// §7): the same hostile bytes are sent to a fresh reference child process and to our server. The
// reference's reaction is asserted as observed, so a fixed reference would show up here.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type BlobsApi, blobIdOf, blobsPlugin } from '@scuttlekit/ssb-blobs'
import type { SsbClient } from '@scuttlekit/ssb-client'
import {
  addBlob,
  blobFile,
  blobFiles,
  FIVE_MIB,
  masterClient,
  until,
  watch,
} from './helpers/blobs.js'
import {
  assertServed,
  boxPeer,
  type CrashWatch,
  hello,
  LOW_ORDER_POINTS,
  rawTcp,
  sleep,
  watchCrashes,
} from './helpers/hostile-peer.js'
import { type OurServer, startOurServer } from './helpers/our-server.js'
import {
  liarBlobs,
  type ReferenceServer,
  startReferenceServer,
} from './helpers/reference-server.js'

/** The child's exit code, or undefined if it is still running after `ms`. */
async function exitWithin(ref: ReferenceServer, ms: number): Promise<number | string | undefined> {
  const { child } = ref
  if (child.exitCode !== null || child.signalCode !== null)
    return child.exitCode ?? child.signalCode!
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms)
    }),
  ])
  clearTimeout(timer)
  return result
}

describe('reference defects we do better on', () => {
  let ours: OurServer
  let crashes: CrashWatch
  let ref: ReferenceServer | undefined

  before(async () => {
    crashes = watchCrashes()
    ours = await startOurServer()
    await ours.server.call('publish', [{ type: 'post', text: 'still here' }])
  })
  after(async () => {
    crashes.stop()
    await ref?.stop()
    await ours.stop()
  })

  test('a low-order msg1 with a valid HMAC kills the reference; ours hangs up and serves on', async () => {
    ref = await startReferenceServer()
    const attack = hello(LOW_ORDER_POINTS[0]!) // x = 0, hmac(x, N) valid
    const toRef = await rawTcp(ref.port)
    toRef.socket.write(attack)
    // secret-handshake 1.1.21 calls crypto_scalarmult unguarded; sodium-native throws on the
    // all-zero result, inside a stream callback: an uncaught exception
    assert.equal(await exitWithin(ref, 5000), 1, 'the reference process exits with code 1')
    assert.match(ref.output(), /Error: failed to derive shared secret/)
    assert.match(ref.output(), /secret-handshake\/crypto\.js/)
    await ref.stop()
    ref = undefined

    const toOurs = await rawTcp(ours.port)
    toOurs.socket.write(attack)
    await toOurs.closed
    assert.equal(toOurs.received().length, 0, 'no msg2')
    assert.deepEqual(crashes.errors, [])
    await assertServed(ours, 1)
  })

  test('a request whose body is null kills the reference; ours answers with an error', async () => {
    ref = await startReferenceServer()
    const toRef = await boxPeer(ref.port, ref.id) // any key: anonymous rights are enough
    toRef.sendFrame(1, 0x02, 'null')
    // muxrpc 6.7.3 reads `opts.args` of the request before any check
    assert.equal(await exitWithin(ref, 5000), 1, 'the reference process exits with code 1')
    assert.match(ref.output(), /TypeError: Cannot read properties of null \(reading 'args'\)/)
    await toRef.closed
    await ref.stop()
    ref = undefined

    const toOurs = await boxPeer(ours.port, ours.id)
    toOurs.sendFrame(1, 0x02, 'null')
    const reply = await toOurs.reply(-1)
    assert.equal(reply.end, true)
    assert.deepEqual(reply.value, {
      message: 'invalid request, body should be an object, was: null',
      name: 'InvalidRequestError',
    })
    toOurs.sendJson(2, { name: ['manifest'], args: [] })
    assert.equal(
      ((await toOurs.reply(-2)).value as Record<string, unknown>).createHistoryStream,
      'source',
    )
    toOurs.destroy()
    assert.deepEqual(crashes.errors, [])
    await assertServed(ours, 1)
  })

  test('error replies: the reference sends stacks with its file paths, ours name and message only', async () => {
    ref = await startReferenceServer()
    const bad = { name: ['whoami'], args: 'x' } // args not an array
    const toRef = await boxPeer(ref.port, ref.id)
    toRef.sendJson(1, bad)
    const refReply = (await toRef.reply(-1)).value as { message: string; stack?: string }
    assert.match(refReply.message, /^invalid request, args should be array/)
    assert.match(refReply.stack ?? '', /\/node_modules\/muxrpc\/stream\.js:\d+/)
    toRef.destroy()
    await sleep(50)
    assert.equal(await exitWithin(ref, 0), undefined, 'this one the reference survives')
    await ref.stop()
    ref = undefined

    const toOurs = await boxPeer(ours.port, ours.id)
    toOurs.sendJson(1, bad)
    const reply = await toOurs.reply(-1)
    assert.deepEqual(Object.keys(reply.value as object).sort(), ['message', 'name'])
    assert.match(
      (reply.value as { message: string }).message,
      /^invalid request, args should be array/,
    )
    assert.doesNotMatch(reply.body.toString(), /node_modules|\.js:\d+/)
    toOurs.destroy()
    assert.deepEqual(crashes.errors, [])
  })
})

describe('blob defects of the reference we do better on', { timeout: 60_000 }, () => {
  let ref: ReferenceServer
  let client: SsbClient
  const nodes: OurServer[] = []

  before(async () => {
    ref = await startReferenceServer(['--gossip.local', 'false'])
    client = await masterClient(ref)
  })
  after(async () => {
    await client?.close()
    await ref?.stop()
    await Promise.all(nodes.map((n) => n.stop()))
  })

  async function node(plugin = blobsPlugin()): Promise<OurServer> {
    const n = await startOurServer({}, [plugin])
    nodes.push(n)
    return n
  }
  const blobsOf = (n: OurServer) => n.server.plugin<BlobsApi>('blobs')!

  test('a default reference never fetches a blob of exactly 5 MiB (blobs.max); ours does', async () => {
    const ours = await node()
    const exact = await blobsOf(ours).store.addBytes(randomBytes(FIVE_MIB))
    const under = await blobsOf(ours).store.addBytes(randomBytes(FIVE_MIB - 1))
    const onRef = await addBlob(client, randomBytes(FIVE_MIB))
    await ours.server.connect(ref.address)
    const refExact = watch(client.call('blobs.want', exact.id))
    // ssb-blobs 1.2.2 fetches only when the advertised size is `< max` (inject.js `has`), so
    // one byte less travels on the same link and exactly max does not
    assert.equal(await client.call('blobs.want', under.id), true)
    // ours takes `blobs.max` as inclusive: exactly 5 MiB from the reference arrives
    assert.equal(await blobsOf(ours).want(onRef), true)
    await sleep(1000)
    assert.equal(refExact.settled, false, 'the reference still waits for it')
    await assert.rejects(readFile(blobFile(ref.path, exact.id)), { code: 'ENOENT' })
  })

  test('bytes that do not hash to the id leave a temp file in the reference; ours leaves none', async () => {
    const bytes = randomBytes(100_000)
    const id = blobIdOf(bytes)
    const wrong = Buffer.from(bytes)
    wrong[0] = (wrong[0] ?? 0) ^ 1
    const liar = await node(
      liarBlobs(id, bytes.length, async function* () {
        yield wrong
      }),
    )
    const tmpOf = async (path: string) =>
      (await blobFiles(path)).filter((f) => f.startsWith('tmp/'))
    assert.deepEqual(await tmpOf(ref.path), [])

    const refWant = watch(client.call('blobs.want', id))
    await liar.server.connect(ref.address)
    // multiblob writes to <path>/blobs/tmp/, compares the hash, and on a mismatch only reports
    // the error: the file is not removed (until the next start wipes tmp/)
    await until('the liar’s bytes in the reference’s tmp/', async () => {
      const [tmp] = await tmpOf(ref.path)
      return tmp !== undefined && (await readFile(join(ref.path, 'blobs', tmp))).equals(wrong)
    })
    await sleep(300)
    const left = await tmpOf(ref.path)
    assert.equal(left.length, 1, 'the temp file stays')
    assert.ok((await readFile(join(ref.path, 'blobs', left[0]!))).equals(wrong))
    assert.equal(refWant.settled, false)
    await assert.rejects(readFile(blobFile(ref.path, id)), { code: 'ENOENT' })

    const ours = await node()
    const ourWant = watch(blobsOf(ours).want(id))
    await ours.server.connect(liar.address)
    await until(
      'ours to reject the corrupt bytes',
      () => blobsOf(ours).status().rejected.corrupt === 1,
    )
    assert.deepEqual(await blobFiles(ours.path), [], 'nothing stored, no temp file')
    assert.equal(ourWant.settled, false)
  })
})
