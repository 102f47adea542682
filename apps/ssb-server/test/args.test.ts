import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import minimist from 'minimist'
import { mapMuxrpcli, parseCommandLine, SERVER_DEPRECATION } from '../src/args.js'

const require = createRequire(import.meta.url)
type Muxrpcli = (argv: string[], manifest: unknown, rpc: unknown, verbose: boolean) => void
const muxrpcli = require('muxrpcli') as Muxrpcli

/**
 * What muxrpcli 3.1.2 passes to the method for `argv`: we give it a manifest in which the
 * command is an `async` method that records its arguments and never calls back (so muxrpcli
 * never reaches its `process.exit`).
 */
function oracle(argv: string[]): unknown[] {
  const cmd = String(minimist(argv)._[0]).split('.')
  let seen: unknown[] | undefined
  const manifest: Record<string, unknown> = {}
  const rpc: Record<string, unknown> = {}
  let m = manifest
  let r = rpc
  cmd.forEach((key, i) => {
    if (i === cmd.length - 1) {
      m[key] = 'async'
      r[key] = (...args: unknown[]) => {
        seen = args.slice(0, -1)
      }
    } else {
      m[key] = {}
      r[key] = {}
      m = m[key] as Record<string, unknown>
      r = r[key] as Record<string, unknown>
    }
  })
  muxrpcli(argv, manifest, rpc, false)
  assert.ok(seen, `muxrpcli did not call the method for ${JSON.stringify(argv)}`)
  return seen
}

// Command lines as a user types them after `ssb-server` (no `.`, no `--help`: those take
// muxrpcli down other paths, tested below).
const TABLE: string[][] = [
  ['whoami'],
  ['publish', '--type', 'post', '--text', 'hi'],
  ['publish', '--type', 'post', '--text', 'My First Post!'],
  ['get', '%qwX7nZC3fZ7vRo/dG5xJU6Z6Xnq7f/b3aGs6Ns7YMGY=.sha256'],
  ['get', '5'],
  ['get', '--id', '%abc.sha256', '--private'],
  ['gossip.add', '--host', '10.0.0.1', '--port', '8008', '--key', '@k.ed25519'],
  ['publish', '--type', 'post', '--mentions.0.link', '@x.ed25519', '--mentions.0.name', 'x'],
  ['createLogStream', '--limit', '1', '--reverse'],
  ['createHistoryStream', '--id', '@a.ed25519', '--seq', '2', '--live', 'false'],
  ['messagesByType', 'post'],
  ['x', '--flag', 'false'],
  ['x', '--flag', 'true'],
  ['x', '--no-foo', 'a'],
  ['x', 'a', 'b', '--c', '1e3'],
  ['x', '--hex', '0x10', '--neg', '-5', '--float', '.5'],
  ['x', '-abc'],
  ['x', '-n5', '-m', 'word'],
  ['x', '--a', '1', '--a', '2', '--a', 'three'],
  ['x', '--a=b=c', '--e='],
  ['x', '--text', ''],
  ['x', '--text', '12345678901234567890'],
  ['a.b.c', 'arg', '2'],
  ['x', '--foo.bar', 'baz', '--foo.qux', '1'],
  ['x', '-'],
  ['blobs.has', '&abc.sha256'],
  ['x', '--type', 'post', 'trailing'],
]

describe('mapMuxrpcli against muxrpcli 3.1.2', () => {
  for (const argv of TABLE) {
    it(argv.join(' '), () => {
      const ours = mapMuxrpcli(argv)
      assert.deepEqual(ours.args, oracle(argv))
      assert.deepEqual(ours.cmd, String(argv[0]).split('.'))
      assert.equal(ours.isStdin, false)
    })
  }

  it('parseCommandLine gives the method the same arguments', () => {
    for (const argv of TABLE) {
      const cl = parseCommandLine(argv)
      assert.deepEqual(cl.args, oracle(argv), argv.join(' '))
      assert.deepEqual(cl.configArgv, [], argv.join(' '))
    }
  })

  it('a flag named like a property of every object is a usage error (muxrpcli crashes)', () => {
    for (const argv of [
      ['publish', '--type', 'post', '--toString', '1'],
      ['publish', '--valueOf=3'],
      ['--hasOwnProperty', 'whoami'],
    ]) {
      // the oracle: minimist itself throws a TypeError here
      assert.throws(() => minimist(argv), TypeError, argv.join(' '))
      const flag = argv.find((w) => w.startsWith('--') && w !== '--type')!.split('=')[0]
      assert.throws(() => parseCommandLine(argv), {
        name: 'UsageError',
        message: `unsupported option ${flag}: every JavaScript object has a property of that name`,
      })
    }
  })

  it('`.` as the first argument asks for stdin', () => {
    assert.equal(mapMuxrpcli(['publish', '.']).isStdin, true)
    assert.deepEqual(mapMuxrpcli(['publish', '.']).args, ['.'])
    assert.equal(mapMuxrpcli(['publish', 'x', '.']).isStdin, false)
    assert.equal(mapMuxrpcli(['publish', '--type', '.']).isStdin, false)
    const cl = parseCommandLine(['publish', '.'])
    assert.equal(cl.stdinJson, true)
    assert.deepEqual(cl.args, ['.'])
  })

  it('with no command there is no method path (flags still form the object)', () => {
    assert.deepEqual(mapMuxrpcli([]).cmd, [])
    assert.deepEqual(mapMuxrpcli([]).args, [])
    assert.deepEqual(mapMuxrpcli(['--limit', '1']).cmd, [])
    assert.deepEqual(mapMuxrpcli(['--limit', '1']).args, [{ limit: 1 }])
  })
})

describe('parseCommandLine: what configures the client', () => {
  it('flags before the command configure the client and are not arguments', () => {
    const cl = parseCommandLine(['--path', '/tmp/a', '--port', '8009', 'whoami'])
    assert.equal(cl.name, 'whoami')
    assert.deepEqual(cl.args, [])
    assert.deepEqual(cl.configArgv, ['--path', '/tmp/a', '--port', '8009'])
  })

  it('flags after `--` configure the client', () => {
    const cl = parseCommandLine([
      'gossip.add',
      '--host',
      'x',
      '--port',
      '1',
      '--',
      '--port',
      '8009',
    ])
    assert.deepEqual(cl.path, ['gossip', 'add'])
    assert.deepEqual(cl.args, [{ host: 'x', port: 1 }])
    assert.deepEqual(cl.configArgv, ['--port', '8009'])
  })

  it('flags after the command are arguments only (reference defect §5.13.7)', () => {
    const cl = parseCommandLine(['gossip.add', '--host', 'x', '--port', 'y', '--key', 'z'])
    assert.deepEqual(cl.args, [{ host: 'x', port: 'y', key: 'z' }])
    assert.deepEqual(cl.configArgv, [])
    const pub = parseCommandLine(['publish', '--type', 'post', '--text', 'hi'])
    assert.deepEqual(pub.args, [{ type: 'post', text: 'hi' }])
    assert.deepEqual(pub.configArgv, [])
  })

  it('--verbose, --ndjson and --help are switches anywhere, never arguments', () => {
    const cl = parseCommandLine(['publish', '--verbose', '--type', 'post', '--ndjson'])
    assert.equal(cl.verbose, true)
    assert.equal(cl.ndjson, true)
    assert.equal(cl.help, false)
    assert.deepEqual(cl.args, [{ type: 'post' }])
    // A switch does not swallow the next word.
    const lead = parseCommandLine(['--verbose', 'whoami'])
    assert.equal(lead.name, 'whoami')
    assert.equal(lead.verbose, true)
    assert.deepEqual(lead.configArgv, [])
    const tail = parseCommandLine(['hist', '--ndjson', '@a.ed25519'])
    assert.deepEqual(tail.args, ['@a.ed25519'])
    assert.equal(parseCommandLine(['--help']).help, true)
    assert.equal(parseCommandLine(['publish', '--help']).help, true)
    assert.equal(parseCommandLine(['publish', '--help']).name, 'publish')
    assert.equal(parseCommandLine(['--ndjson', '--path', 'p', 'log']).ndjson, true)
    assert.deepEqual(parseCommandLine(['--ndjson', '--path', 'p', 'log']).configArgv, [
      '--path',
      'p',
    ])
  })

  it('resolves the reference aliases', () => {
    const cases: Record<string, string> = {
      feed: 'createFeedStream',
      history: 'createHistoryStream',
      hist: 'createHistoryStream',
      log: 'createLogStream',
      logt: 'messagesByType',
      conf: 'config',
      pub: 'getPublicKey',
      public: 'getPublicKey',
      whoami: 'whoami',
      'gossip.peers': 'gossip.peers',
    }
    for (const [typed, name] of Object.entries(cases)) {
      const cl = parseCommandLine([typed])
      assert.equal(cl.command, typed)
      assert.equal(cl.name, name)
      assert.deepEqual(cl.path, name.split('.'))
    }
    assert.deepEqual(parseCommandLine(['logt', 'post']).args, ['post'])
    assert.deepEqual(parseCommandLine(['hist', '--id', '@a.ed25519']).args, [{ id: '@a.ed25519' }])
  })

  it('`server` is `start` with a deprecation warning', () => {
    const cl = parseCommandLine(['server', '--port', '8009'])
    assert.equal(cl.name, 'start')
    assert.deepEqual(cl.warnings, [SERVER_DEPRECATION])
    assert.deepEqual(cl.configArgv, ['--port', '8009'])
  })

  it('for start and config every flag is configuration', () => {
    const cl = parseCommandLine([
      '--path',
      '/tmp/x',
      'start',
      '--port',
      '8009',
      '--logging.level',
      'info',
      '--verbose',
      '--',
      '--host',
      '127.0.0.1',
    ])
    assert.equal(cl.name, 'start')
    assert.deepEqual(cl.args, [])
    assert.equal(cl.verbose, true)
    assert.deepEqual(cl.configArgv, [
      '--path',
      '/tmp/x',
      '--port',
      '8009',
      '--logging.level',
      'info',
      '--host',
      '127.0.0.1',
    ])
    const conf = parseCommandLine(['conf', '--port', '9'])
    assert.equal(conf.name, 'config')
    assert.deepEqual(conf.configArgv, ['--port', '9'])
    assert.equal(parseCommandLine(['start', '.']).stdinJson, false)
  })

  it('keeps a numeric command word as typed', () => {
    const cl = parseCommandLine(['123', '--a', '1'])
    assert.equal(cl.command, '123')
    assert.deepEqual(cl.path, ['123'])
  })

  it('no command', () => {
    const cl = parseCommandLine([])
    assert.equal(cl.command, undefined)
    assert.equal(cl.name, undefined)
    assert.deepEqual(cl.path, [])
    assert.deepEqual(parseCommandLine(['--port', '9']).configArgv, ['--port', '9'])
  })
})
