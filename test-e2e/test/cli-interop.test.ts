// Our `ssb-server` command line against the real ssb-server 16 from npm, over its unix socket
// (the default when the socket exists) and over TCP with secret-handshake.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { type ReferenceServer, startReferenceServer } from './helpers/reference-server.js'

const require = createRequire(import.meta.url)
const run = promisify(execFile)
const OUR_BIN = join(
  dirname(require.resolve('@scuttlekit/ssb-server-cli/package.json')),
  'dist',
  'bin.js',
)

describe('our CLI against the real ssb-server 16', () => {
  let ref: ReferenceServer
  before(async () => {
    ref = await startReferenceServer()
  })
  after(async () => {
    await ref.stop()
  })

  function cli(args: string[], input?: string) {
    const child = run(process.execPath, [OUR_BIN, '--path', ref.path, ...args], {
      env: { ...process.env, HOME: ref.home },
    })
    if (input !== undefined) {
      child.child.stdin!.end(input)
    }
    return child
  }

  for (const via of ['unix', 'net'] as const) {
    test(`whoami, publish, hist, log, feed, logt and get over ${via}`, async () => {
      const target = via === 'net' ? ['--remote', ref.address] : []
      const who = await cli([...target, 'whoami'])
      assert.deepEqual(JSON.parse(who.stdout), { id: ref.id })

      const pub = await cli([
        ...target,
        'publish',
        '--type',
        'post',
        '--text',
        `My First Post! (${via})`,
      ])
      const posted = JSON.parse(pub.stdout) as { key: string; value: { author: string } }
      assert.equal(posted.value.author, ref.id)

      const items = (out: string) =>
        out
          .split('\n\n')
          .filter((s) => s.trim())
          .map((s) => JSON.parse(s) as { key: string; value: { content: { type: string } } })
      const hist = items((await cli([...target, 'hist', '--id', ref.id])).stdout)
      assert.ok(hist.some((m) => m.key === posted.key))
      const log = items((await cli([...target, 'log'])).stdout)
      assert.ok(log.some((m) => m.key === posted.key))
      const feed = items((await cli([...target, 'feed', '--limit', '1'])).stdout)
      assert.equal(feed.length, 1)
      const logt = items((await cli([...target, 'logt', 'post'])).stdout)
      assert.ok(logt.every((m) => m.value.content.type === 'post'))

      const got = JSON.parse((await cli([...target, 'get', posted.key])).stdout) as {
        content: { text: string }
      }
      assert.equal(got.content.text, `My First Post! (${via})`)

      const ndjson = (await cli([...target, 'log', '--ndjson'])).stdout.trim().split('\n')
      assert.ok(ndjson.every((line) => JSON.parse(line).key))
    })
  }

  test('stdin JSON and the reference error for a bad call', async () => {
    const piped = await cli(['publish', '.'], JSON.stringify({ type: 'post', text: 'piped' }))
    assert.equal(JSON.parse(piped.stdout).value.content.text, 'piped')
    await assert.rejects(
      cli(['latestSequence', '@nope']),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1)
        assert.match(err.stderr, /Param 0 must by of type feedId/)
        assert.doesNotMatch(err.stderr, /\n\s+at /)
        return true
      },
    )
  })
})

test('our CLI with no server prints the reference message and exits 1', async () => {
  const { freePort } = await import('./helpers/reference-server.js')
  const port = await freePort()
  const home = (await import('node:os')).tmpdir()
  await assert.rejects(
    run(process.execPath, [
      OUR_BIN,
      '--path',
      join(home, `none-${port}`),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      'whoami',
    ]),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1)
      assert.equal(
        err.stderr,
        `Error: Could not connect to ssb-server 127.0.0.1:${port}\nUse the "start" command to start it.\nUse --verbose option to see full error\n`,
      )
      return true
    },
  )
})
