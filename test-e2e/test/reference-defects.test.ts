// Defects of the real ssb-server 16 (npm) that our server does not share (bad-inputs.md §4, §6):
// the same hostile bytes are sent to a fresh reference child process and to our server. The
// reference's reaction is asserted as observed, so a fixed reference would show up here.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
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
import { type ReferenceServer, startReferenceServer } from './helpers/reference-server.js'

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
