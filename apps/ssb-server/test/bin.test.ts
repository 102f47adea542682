/**
 * End to end through the built executable (`node dist/bin.js`), as a user runs it: one server
 * started by `start` in a child process, reused by every case, then stopped with SIGTERM and
 * started again on the same data directory.
 */

import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Collector, freePort, tempDir } from './helpers.js'

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

let dir: string
let cleanup: () => Promise<void>
let path: string
let port: number
let env: NodeJS.ProcessEnv
const children = new Set<ChildProcess>()

interface Started {
  child: ChildProcess
  stdout: Collector
  stderr: Collector
  exited: Promise<number | null>
}

async function startServer(): Promise<Started> {
  const child = spawn(
    process.execPath,
    [BIN, 'start', '--path', path, '--host', '127.0.0.1', '--port', String(port)],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.add(child)
  const stdout = new Collector()
  const stderr = new Collector()
  child.stdout?.pipe(stdout)
  child.stderr?.pipe(stderr)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child)
      resolve(code)
    }),
  )
  await Promise.race([
    stderr.waitFor(/ssb-server started/),
    exited.then((code) => {
      throw new Error(`start exited with ${code}: ${stderr.text()}`)
    }),
  ])
  return { child, stdout, stderr, exited }
}

interface Ran {
  code: number
  out: string
  err: string
}

/** `node dist/bin.js --path <path> ...argv`, optionally with `input` on stdin. */
function cli(argv: string[], input?: string, withPath = true): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...(withPath ? ['--path', path] : []), ...argv],
      { env, timeout: 15_000 },
      (err, out, errText) => {
        const code = err ? ((err as { code?: unknown }).code as number) : 0
        resolve({ code: typeof code === 'number' ? code : -1, out, err: errText })
      },
    )
    if (input !== undefined) child.stdin?.end(input)
    else child.stdin?.end()
  })
}

const STACK = /^\s+at /m

let server: Started
let id: string

before(async () => {
  assert.ok(existsSync(BIN), 'build first: npx tsc -p tsconfig.json')
  ;({ dir, cleanup } = await tempDir())
  path = join(dir, 'ssb')
  port = await freePort()
  env = { HOME: dir, PATH: process.env.PATH }
  server = await startServer()
})

after(async () => {
  for (const child of children) child.kill('SIGKILL')
  await cleanup?.()
})

describe('ssb-server (built bin) against a running server', () => {
  let msgKey: string

  it('start prints the version line and the key, like the reference', () => {
    const lines = server.stdout.text().split('\n')
    assert.equal(lines[0], `ssb-server 0.1.0 ${path} logging.level:notice`)
    const m = /^my key ID: ([A-Za-z0-9+/]{43}=\.ed25519)$/.exec(lines[1] as string)
    assert.ok(m, lines[1])
    id = `@${m[1]}`
  })

  it('whoami', async () => {
    const r = await cli(['whoami'])
    assert.equal(r.code, 0, r.err)
    assert.deepEqual(JSON.parse(r.out), { id })
  })

  it('publish, then get, feed, log, hist, logt', async () => {
    const r = await cli(['publish', '--type', 'post', '--text', 'My First Post!'])
    assert.equal(r.code, 0, r.err)
    const msg = JSON.parse(r.out)
    assert.equal(msg.value.content.text, 'My First Post!')
    msgKey = msg.key

    const got = await cli(['get', msgKey])
    assert.equal(got.code, 0, got.err)
    assert.deepEqual(JSON.parse(got.out).content, { type: 'post', text: 'My First Post!' })

    for (const argv of [['feed'], ['log'], ['hist', '--id', id], ['logt', 'post']]) {
      const s = await cli(argv)
      assert.equal(s.code, 0, `${argv.join(' ')}: ${s.err}`)
      const items = s.out
        .split('\n\n')
        .filter(Boolean)
        .map((t) => JSON.parse(t))
      assert.equal(items.length, 1, argv.join(' '))
      assert.equal(items[0].key, msgKey, argv.join(' '))
    }
  })

  it("echo '{...}' | ssb-server publish .", async () => {
    const r = await cli(['publish', '.'], JSON.stringify({ type: 'post', text: 'piped' }))
    assert.equal(r.code, 0, r.err)
    assert.equal(JSON.parse(r.out).value.content.text, 'piped')
  })

  it('--ndjson', async () => {
    const r = await cli(['log', '--ndjson'])
    assert.equal(r.code, 0, r.err)
    const lines = r.out.trimEnd().split('\n')
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).value.content.text),
      ['My First Post!', 'piped'],
    )
  })

  it('unknown command: exit 1', async () => {
    const r = await cli(['nope'])
    assert.equal(r.code, 1)
    assert.match(r.err, /^missing command: nope$/m)
  })

  it('usage error: exit 1, message only, no stack', async () => {
    const r = await cli(['publish'])
    assert.equal(r.code, 1)
    assert.equal(r.err, 'Param 0 is required\n')
    assert.doesNotMatch(r.err, STACK)
  })

  it('no server: the three lines, exit 1', async () => {
    const other = await freePort()
    const r = await cli(
      ['--path', join(dir, 'none'), '--host', '127.0.0.1', '--port', String(other), 'whoami'],
      undefined,
      false,
    )
    assert.equal(r.code, 1)
    assert.equal(
      r.err,
      `Error: Could not connect to ssb-server 127.0.0.1:${other}\n` +
        'Use the "start" command to start it.\n' +
        'Use --verbose option to see full error\n',
    )
  })

  it('SIGTERM: exit 0; the same path starts again with the same identity', async () => {
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0, server.stderr.text())
    assert.match(server.stderr.text(), /ssb-server stopped/)

    server = await startServer()
    assert.equal(server.stdout.text().split('\n')[1], `my key ID: ${id.slice(1)}`)
    const r = await cli(['get', msgKey])
    assert.equal(r.code, 0, r.err)
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0, server.stderr.text())
  })
})
