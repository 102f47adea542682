/**
 * `main` in process, against one in-process server (core methods plus small test plugins:
 * a documented group, a sink, `blobs.add`, a duplex), then `start` itself.
 */

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadConfig } from '@scuttlekit/ssb-config'
import { type Plugin, type SsbServer, startServer } from '@scuttlekit/ssb-server'
import { pino } from 'pino'
import { EXIT_INTERRUPTED, main } from '../src/cli.js'
import { freePort, makeIo, tempDir } from './helpers.js'

const sunk: unknown[] = []
const blobs: Buffer[] = []

const testPlugins: Plugin[] = [
  {
    name: 'gossip',
    init: () => ({
      methods: {
        help: {
          type: 'sync',
          fn: () => ({
            description: 'peer connections',
            commands: {
              peers: { type: 'sync', description: 'list peers', args: {} },
              add: {
                type: 'async',
                description: 'add a peer',
                args: {
                  host: { type: 'string', description: 'the host' },
                  port: { type: 'number', description: 'the port' },
                },
              },
            },
          }),
        },
        peers: { type: 'sync', fn: () => [] },
        add: { type: 'async', fn: (args) => ({ added: args }) },
      },
    }),
  },
  {
    name: 'sinks',
    init: () => ({
      methods: {
        collect: {
          type: 'sink',
          fn: async (args, call) => {
            sunk.push({ args })
            for await (const chunk of call.input ?? []) sunk.push(Buffer.from(chunk as Buffer))
          },
        },
        both: { type: 'duplex', fn: () => (async function* () {})() },
      },
    }),
  },
  {
    name: 'blobs',
    init: () => ({
      methods: {
        add: {
          type: 'sink',
          fn: async (_args, call) => {
            for await (const chunk of call.input ?? []) blobs.push(Buffer.from(chunk as Buffer))
          },
        },
      },
    }),
  },
]

let dir: string
let cleanup: () => Promise<void>
let server: SsbServer

before(async () => {
  ;({ dir, cleanup } = await tempDir())
  const config = loadConfig({
    argv: ['--path', join(dir, 'ssb')],
    env: {},
    homeDir: dir,
    cwd: dir,
    overrides: { port: 0, host: '127.0.0.1' },
  })
  server = await startServer({ config, plugins: testPlugins, logger: pino({ level: 'silent' }) })
})

after(async () => {
  await server?.close()
  await cleanup?.()
})

/** Runs `ssb-server --path <dir>/ssb ...argv` in process. */
async function run(
  argv: string[],
  options: { input?: string | Buffer; signal?: AbortSignal } = {},
) {
  const io = makeIo({ ...options, env: { HOME: dir }, cwd: dir })
  const code = await main(['--path', join(dir, 'ssb'), ...argv], io)
  return { code, out: io.stdout.text(), err: io.stderr.text(), bytes: io.stdout.bytes() }
}

const NO_STACK = /^\s+at /m

describe('RPC calls', () => {
  let postKey: string

  it('whoami', async () => {
    const r = await run(['whoami'])
    assert.equal(r.code, 0, r.err)
    assert.equal(r.out, `${JSON.stringify({ id: server.id }, null, 2)}\n`)
  })

  it('publish with flags, then get and the stream aliases', async () => {
    const r = await run(['publish', '--type', 'post', '--text', 'My First Post!'])
    assert.equal(r.code, 0, r.err)
    const msg = JSON.parse(r.out)
    assert.equal(msg.value.content.text, 'My First Post!')
    assert.equal(msg.value.author, server.id)
    postKey = msg.key

    const got = await run(['get', postKey])
    assert.equal(got.code, 0, got.err)
    assert.deepEqual(JSON.parse(got.out), msg.value)

    for (const argv of [['log'], ['feed'], ['logt', 'post'], ['hist', '--id', server.id]]) {
      const s = await run(argv)
      assert.equal(s.code, 0, `${argv.join(' ')}: ${s.err}`)
      assert.ok(s.out.endsWith('}\n\n'), argv.join(' '))
      const items = s.out
        .trim()
        .split('\n\n')
        .map((t) => JSON.parse(t))
      assert.ok(
        items.some((m) => m.key === postKey),
        argv.join(' '),
      )
    }
  })

  it('publish . reads the content from stdin', async () => {
    const r = await run(['publish', '.'], { input: '{"type":"post","text":"from stdin"}' })
    assert.equal(r.code, 0, r.err)
    assert.equal(JSON.parse(r.out).value.content.text, 'from stdin')

    const bad = await run(['publish', '.'], { input: '{"type":' })
    assert.equal(bad.code, 1)
    assert.match(bad.err, /^stdin is not valid JSON: /)
  })

  it('--ndjson prints one compact value per line', async () => {
    const r = await run(['log', '--ndjson'])
    assert.equal(r.code, 0, r.err)
    const lines = r.out.trimEnd().split('\n')
    assert.ok(lines.length >= 2)
    for (const line of lines) assert.ok(JSON.parse(line).key)
    const w = await run(['--ndjson', 'whoami'])
    assert.equal(w.out, `{"id":"${server.id}"}\n`)
  })

  it('flags after the command reach the method, not the client config', async () => {
    const r = await run(['gossip.add', '--host', '10.9.9.9', '--port', '1', '--key', 'k'])
    assert.equal(r.code, 0, r.err)
    assert.deepEqual(JSON.parse(r.out), { added: [{ host: '10.9.9.9', port: 1, key: 'k' }] })
  })

  it('a sink reads stdin as the stream', async () => {
    sunk.length = 0
    const r = await run(['sinks.collect', 'x'], { input: 'hello sink' })
    assert.equal(r.code, 0, r.err)
    assert.equal(r.out, '')
    assert.deepEqual(sunk[0], { args: ['x'] })
    assert.equal(Buffer.concat(sunk.slice(1) as Buffer[]).toString(), 'hello sink')
  })

  it('blobs.add hashes a file or stdin and prints the blob id', async () => {
    const data = Buffer.from('some blob bytes')
    const id = `&${createHash('sha256').update(data).digest('base64')}.sha256`
    const file = join(dir, 'blob.bin')
    await writeFile(file, data)

    blobs.length = 0
    const fromFile = await run(['blobs.add', file])
    assert.equal(fromFile.code, 0, fromFile.err)
    assert.equal(fromFile.out, `${id}\n`)
    assert.deepEqual(Buffer.concat(blobs), data)

    blobs.length = 0
    const fromStdin = await run(['blobs.add'], { input: data })
    assert.equal(fromStdin.out, `${id}\n`)
    assert.deepEqual(Buffer.concat(blobs), data)

    const tty = await run(['blobs.add'])
    assert.equal(tty.code, 1)
    assert.match(tty.err, /^USAGE:\n {2}blobs\.add <filename>/)
  })

  it('a duplex method is refused', async () => {
    const r = await run(['sinks.both'])
    assert.equal(r.code, 1)
    assert.match(r.err, /sinks\.both is a duplex method/)
  })
})

describe('errors', () => {
  it('unknown command: "missing command", usage, exit 1', async () => {
    const r = await run(['nope', '--x', '1'])
    assert.equal(r.code, 1)
    assert.match(r.err, /^missing command: nope\n/)
    assert.match(r.err, /createLogStream\|get\|publish/)
    assert.equal(r.out, '')
  })

  it('usage errors print the message alone', async () => {
    const r = await run(['publish'])
    assert.equal(r.code, 1)
    assert.equal(r.err, 'Param 0 is required\n')
    const t = await run(['hist', '--id', 'not-a-feed'])
    assert.equal(t.code, 1)
    assert.doesNotMatch(t.err, NO_STACK)
  })

  it('other remote errors print name: message; the stack only with --verbose', async () => {
    const r = await run(['publish', '--type', 'ab'])
    assert.equal(r.code, 1)
    assert.match(r.err, /^\w+Error: .*type.*\n$/)
    assert.doesNotMatch(r.err, NO_STACK)
    const v = await run(['publish', '--type', 'ab', '--verbose'])
    assert.equal(v.code, 1)
    assert.match(v.err, NO_STACK)
  })

  it('no server: the reference three lines, exit 1', async () => {
    const fresh = await tempDir()
    try {
      const port = await freePort()
      const io = makeIo({ env: { HOME: fresh.dir }, cwd: fresh.dir })
      const argv = ['--path', fresh.dir, '--host', '127.0.0.1', '--port', String(port), 'whoami']
      const code = await main(argv, io)
      assert.equal(code, 1)
      assert.equal(
        io.stderr.text(),
        `Error: Could not connect to ssb-server 127.0.0.1:${port}\n` +
          'Use the "start" command to start it.\n' +
          'Use --verbose option to see full error\n',
      )
      assert.equal(io.stdout.text(), '')

      // Help still works without a server.
      const help = makeIo({ env: { HOME: fresh.dir }, cwd: fresh.dir })
      assert.equal(await main([...argv.slice(0, -1), 'help'], help), 0)
      assert.match(help.stdout.text(), /local commands: start\|config\|help/)
    } finally {
      await fresh.cleanup()
    }
  })
})

describe('help', () => {
  it('no arguments and `help`: quick usage with the documented groups', async () => {
    for (const argv of [[], ['help'], ['--help']]) {
      const r = await run(argv)
      assert.equal(r.code, 0, r.err)
      assert.match(r.out, /^createLogStream\|get\|publish\|add\|/m)
      assert.match(r.out, /^gossip # peer connections$/m)
      assert.doesNotMatch(r.out, /^sinks/m) // no help, not listed
    }
  })

  it('<cmd> --help: detailed usage; a group: its commands', async () => {
    const p = await run(['publish', '--help'])
    assert.equal(p.code, 0, p.err)
    assert.match(p.out, /^publish # .*\n {2}--type +\[string\] +# /)
    const h = await run(['help', 'publish'])
    assert.equal(h.out, p.out)

    const g = await run(['gossip.add', '--help'])
    assert.equal(g.code, 0)
    assert.match(g.out, /^gossip\.add # add a peer\n {2}--host \[string\] # the host\n/)

    const group = await run(['gossip'])
    assert.equal(group.code, 0)
    assert.equal(group.out, 'peers|add\n')

    const deep = await run(['gossip', '--help'])
    assert.match(deep.out, /^gossip\.peers # list peers\n\ngossip\.add # add a peer/)

    const top = await run(['help', '--json'])
    assert.equal(top.code, 0, top.err)
    assert.equal(JSON.parse(top.out).commands.publish.type, 'async')

    const json = await run(['gossip.add', '--help', '--json'])
    assert.equal(JSON.parse(json.out).description, 'add a peer')

    const undocumented = await run(['sinks.collect', '--help'])
    assert.equal(undocumented.code, 0)
    assert.match(undocumented.out, /sinks\.collect # \(undocumented sink method\)/)

    const missing = await run(['nope', '--help'])
    assert.equal(missing.code, 1)
    assert.match(missing.err, /^missing command: nope/)
    const missingTopic = await run(['help', 'gossip.nope'])
    assert.equal(missingTopic.code, 1)
    assert.match(missingTopic.err, /^missing command: gossip\.nope/)
  })
})

describe('config', () => {
  it('prints the client config without the private key, no server needed', async () => {
    const r = await run(['config', '--port', '9999'])
    assert.equal(r.code, 0, r.err)
    const config = JSON.parse(r.out)
    assert.deepEqual(config.keys, { id: server.id })
    assert.equal(config.port, 9999)
    assert.equal(config.path, join(dir, 'ssb'))
    assert.doesNotMatch(r.out, /private/)
    assert.doesNotMatch(r.out, /\.ed25519"[^\n]*\n[^\n]*"private"/)
    const alias = await run(['conf'])
    assert.equal(alias.code, 0)
    assert.deepEqual(JSON.parse(alias.out).keys, { id: server.id })
  })

  it('a bad client config is an error naming the field', async () => {
    const r = await run(['--port', 'nope', 'whoami'])
    assert.equal(r.code, 1)
    assert.match(r.err, /port/)
    assert.doesNotMatch(r.err, NO_STACK)
  })
})

describe('start', () => {
  it('a second server on the same path fails fast: already running', async () => {
    const io = makeIo({ env: { HOME: dir }, cwd: dir })
    const port = await freePort()
    const code = await main(
      ['start', '--path', join(dir, 'ssb'), '--host', '127.0.0.1', '--port', String(port)],
      io,
    )
    assert.equal(code, 1)
    assert.match(io.stderr.text(), /already running on .*ssb/)
    assert.doesNotMatch(io.stderr.text(), NO_STACK)
    // The first server is untouched (its socket and database still serve).
    const r = await run(['whoami'])
    assert.equal(r.code, 0, r.err)
  })

  it('a corrupt secret file: a clear error, never a new identity', async () => {
    const fresh = await tempDir()
    try {
      const secret = join(fresh.dir, 'secret')
      await writeFile(secret, '# only comments\n#\n')
      for (const argv of [['start'], ['whoami']]) {
        const io = makeIo({ env: { HOME: fresh.dir }, cwd: fresh.dir })
        const code = await main(['--path', fresh.dir, ...argv], io)
        assert.equal(code, 1, argv.join(' '))
        assert.match(io.stderr.text(), /^\w+Error: .*secret/m)
        assert.doesNotMatch(io.stderr.text(), NO_STACK)
      }
      assert.equal(await readFile(secret, 'utf8'), '# only comments\n#\n')
    } finally {
      await fresh.cleanup()
    }
  })

  it('bad config: the message names the field, no stack, exit 1', async () => {
    const fresh = await tempDir()
    try {
      const io = makeIo({ env: { HOME: fresh.dir }, cwd: fresh.dir })
      const code = await main(['start', '--path', fresh.dir, '--port', '99999'], io)
      assert.equal(code, 1)
      assert.match(io.stderr.text(), /port/)
      assert.match(io.stderr.text(), /99999/)
      assert.doesNotMatch(io.stderr.text(), NO_STACK)
      assert.equal(io.stdout.text(), '')
    } finally {
      await fresh.cleanup()
    }
  })

  it('start --help prints its usage without starting', async () => {
    const io = makeIo({ env: { HOME: dir }, cwd: dir })
    assert.equal(await main(['start', '--help'], io), 0)
    assert.match(io.stdout.text(), /^usage: ssb-server start/)
  })

  it('serves until the signal, closes cleanly, and the path can be reused', async () => {
    const fresh = await tempDir()
    try {
      const path = join(fresh.dir, 'ssb')
      for (let round = 0; round < 2; round++) {
        const controller = new AbortController()
        const io = makeIo({ env: { HOME: fresh.dir }, cwd: fresh.dir, signal: controller.signal })
        const port = await freePort()
        const running = main(
          ['start', '--path', path, '--host', '127.0.0.1', '--port', String(port)],
          io,
        )
        await io.stderr.waitFor(/ssb-server started/)
        const lines = io.stdout.text().split('\n')
        assert.equal(lines[0], `ssb-server 0.1.0 ${path} logging.level:notice`)
        assert.match(lines[1] as string, /^my key ID: [A-Za-z0-9+/]{43}=\.ed25519$/)

        const who = makeIo({ env: { HOME: fresh.dir }, cwd: fresh.dir })
        assert.equal(await main(['--path', path, 'whoami'], who), 0)
        const id = JSON.parse(who.stdout.text()).id
        assert.equal(id, `@${(lines[1] as string).slice('my key ID: '.length)}`)

        // A live stream is interrupted by the signal too.
        const live = new AbortController()
        const tail = makeIo({ env: { HOME: fresh.dir }, cwd: fresh.dir, signal: live.signal })
        const tailing = main(['--path', path, 'log', '--live'], tail)
        setTimeout(() => live.abort(), 100)
        assert.equal(await tailing, EXIT_INTERRUPTED)

        controller.abort()
        assert.equal(await running, 0, io.stderr.text())
      }
    } finally {
      await fresh.cleanup()
    }
  })
})
