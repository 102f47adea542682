// Oracle comparison: npm ssb-config 3.4.6 (run as ssb-server 16's bin.js runs it, in a child
// process with its own HOME, cwd, env and argv) and loadConfig must produce the same
// configuration, keys included (the oracle creates the secret file, we load it).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ConflictingConnectionsError, loadConfig } from '@scuttlekit/ssb-config'
import { generateKeys } from '@scuttlekit/ssb-keys'

const oracle = fileURLToPath(new URL('fixtures/oracle.cjs', import.meta.url))
const run = promisify(execFile)
const root = mkdtempSync(join(tmpdir(), 'ssb-config-oracle-'))
after(() => rmSync(root, { recursive: true, force: true }))

const master = generateKeys(Buffer.alloc(32, 9)).id
const sign = Buffer.alloc(32, 4).toString('base64')

interface Scenario {
  name: string
  argv: string[]
  env: Record<string, string>
  files?: Record<string, string>
  /** Turns the oracle's output into what we must produce (the documented differences). */
  expect?: (reference: Record<string, unknown>) => void
}

const scenarios: Scenario[] = [
  { name: 'defaults', argv: ['start'], env: {} },
  { name: 'host set', argv: ['--host', '127.0.0.1'], env: {} },
  {
    name: 'port set',
    argv: [
      'start',
      '--port',
      '9000',
      '--ws.port',
      '9001',
      '--logging.level',
      'info',
      '--friends.hops',
      '3',
    ],
    env: {},
  },
  {
    name: 'config files with connections',
    argv: [],
    env: {},
    files: {
      'home/.ssb/config': [
        '{',
        '  // a pub',
        '  "connections": {',
        '    "incoming": {',
        '      "net": [{ "host": "0.0.0.0", "port": 8010, "scope": ["public", "local"], "external": ["pub.example"] }],',
        '      "ws": [{ "host": "0.0.0.0", "scope": "public" }]',
        '    }',
        '  }, /* legacy */ "allowPrivate": true, "plugin": { "a": [1, 2] }',
        '}',
      ].join('\n'),
      'home/.ssbrc': `[logging]\nlevel = info\nmaster[] = x\n[caps]\nsign = ${sign}\n`,
      'work/.ssbrc': `master[] = ${master}\n`,
    },
  },
  {
    name: 'env vars',
    argv: [],
    env: {
      ssb_appname: 'foo',
      foo_logging__level: 'debug',
      FOO_myplugin__option: 'x',
      foo_port: '9999',
      ssb_port: '1',
    },
    files: { 'home/.foo/config': '{"gossip": {"pub": false}}' },
    expect(reference) {
      // Text from the environment at a numeric key becomes a number here.
      assert.equal(reference.port, '9999')
      reference.port = 9999
      const incoming = (reference.connections as { incoming: Record<string, { port?: unknown }[]> })
        .incoming
      for (const entry of incoming.net ?? []) entry.port = 9999
    },
  },
  {
    name: 'conflicting settings',
    argv: ['--port', '9000'],
    env: {},
    files: {
      'home/.ssb/config': JSON.stringify({
        connections: { incoming: { net: [{ host: '127.0.0.1', port: 8008, scope: 'device' }] } },
      }),
    },
  },
]

interface Prepared extends Scenario {
  home: string
  cwd: string
  fullEnv: Record<string, string>
  reference: Record<string, unknown>
}

const prepared: Prepared[] = []

before(async () => {
  // All oracle processes run at once; each takes well under a second.
  await Promise.all(
    scenarios.map(async (scenario, i) => {
      const base = join(root, String(i))
      const home = join(base, 'home')
      const cwd = join(base, 'work', 'dir')
      mkdirSync(home, { recursive: true })
      mkdirSync(cwd, { recursive: true })
      for (const [path, text] of Object.entries(scenario.files ?? {})) {
        mkdirSync(dirname(join(base, path)), { recursive: true })
        writeFileSync(join(base, path), text)
      }
      const fullEnv = { HOME: home, ...scenario.env }
      const { stdout } = await run(process.execPath, [oracle, ...scenario.argv], {
        cwd,
        env: fullEnv,
        timeout: 20_000,
      })
      prepared[i] = { ...scenario, home, cwd, fullEnv, reference: JSON.parse(stdout) }
    }),
  )
})

for (const [i, scenario] of scenarios.entries()) {
  test(`same configuration as ssb-config 3.4.6: ${scenario.name}`, () => {
    const p = prepared[i]
    assert.ok(p, 'oracle ran')
    const load = () =>
      loadConfig({ homeDir: p.home, cwd: p.cwd, env: p.fullEnv, argv: p.argv, createSecret: false })
    if (typeof p.reference.error === 'string') {
      assert.throws(load, (err: Error) => {
        assert.ok(err instanceof ConflictingConnectionsError)
        assert.ok(
          err.message.startsWith(`${p.reference.error} (`),
          `${err.message} vs ${p.reference.error}`,
        )
        return true
      })
      return
    }
    const ours = JSON.parse(JSON.stringify(load()))
    const expected = structuredClone(p.reference)
    p.expect?.(expected)
    assert.ok(expected.keys, 'the oracle created the secret file we then load')
    assert.deepEqual(ours, expected)
  })
}
