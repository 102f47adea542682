// loadConfig: rc's sources and their precedence, file formats, environment and flags,
// connection derivation, validation errors that name field and source, the secret file.
import assert from 'node:assert/strict'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import type { NetworkInterfaceInfo } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import {
  ConfigError,
  ConfigSyntaxError,
  ConflictingConnectionsError,
  loadConfig,
  MAIN_NET_CAPS,
  manifestPath,
  secretPath,
  shsAppKey,
  socketPath,
} from '@scuttlekit/ssb-config'
import { CorruptSecretFileError, generateKeys, SecretKeyMismatchError } from '@scuttlekit/ssb-keys'
import { cleanSandboxes, type Sandbox, sandbox } from './helpers.js'

after(cleanSandboxes)

const alice = generateKeys(Buffer.alloc(32, 1))
const bob = generateKeys(Buffer.alloc(32, 2))
const key32 = Buffer.alloc(32, 7).toString('base64')

describe('sources and precedence', () => {
  type Extra = {
    env?: Record<string, string>
    argv?: string[]
    overrides?: Record<string, unknown>
  }
  const atFile =
    (path: string) =>
    (s: Sandbox, value: string): Extra => {
      s.write(path, value)
      return {}
    }
  // Lowest precedence first. Each writes `who` (and `seen.<name>`) so we can tell who won.
  const levels: { name: string; place(s: Sandbox, value: string): Extra }[] = [
    { name: 'etc-dir', place: atFile('etc/ssb/config') },
    { name: 'etc-rc', place: atFile('etc/ssbrc') },
    { name: 'xdg-dir', place: atFile('home/.config/ssb/config') },
    { name: 'xdg-file', place: atFile('home/.config/ssb') },
    { name: 'ssb-dir', place: atFile('home/.ssb/config') },
    { name: 'home-rc', place: atFile('home/.ssbrc') },
    { name: 'cwd-rc', place: atFile('work/project/.ssbrc') },
    {
      name: 'env-file',
      place: (s, v) => ({ env: { ssb_config: s.write('env.json', v) } }),
    },
    { name: 'flag-file', place: (s, v) => ({ argv: ['--config', s.write('flag.ini', v)] }) },
    { name: 'env', place: () => ({ env: { ssb_who: 'env', ssb_seen__env: 'yes' } }) },
    { name: 'flags', place: () => ({ argv: ['--who', 'flags', '--seen.flags', 'yes'] }) },
    {
      name: 'overrides',
      place: () => ({ overrides: { who: 'overrides', seen: { overrides: 'yes' } } }),
    },
  ]

  const content = (name: string, i: number) =>
    i % 2 === 0
      ? `{\n  // ${name}\n  "who": "${name}", "seen": { "${name}": "yes" }\n}\n`
      : `; ${name}\nwho = ${name}\n[seen]\n${name} = yes\n`

  for (let top = 0; top < levels.length; top++) {
    test(`${levels[top]?.name} overrides every lower source`, () => {
      const s = sandbox()
      const merged: {
        env: Record<string, string>
        argv: string[]
        overrides?: Record<string, unknown>
      } = {
        env: {},
        argv: [],
      }
      for (let i = 0; i <= top; i++) {
        const level = levels[i]!
        // ~/.config/ssb cannot be a file and a folder at once.
        if (level.name === 'xdg-dir' && top >= 3 && levels[3]!.name === 'xdg-file') continue
        const extra = level.place(s, content(level.name, i))
        Object.assign(merged.env, extra.env)
        merged.argv.push(...(extra.argv ?? []))
        if (extra.overrides) merged.overrides = extra.overrides
      }
      const config = s.load(merged)
      assert.equal(config.who, levels[top]!.name)
      const seen = config.seen as Record<string, string>
      for (let i = 0; i <= top; i++) {
        const name = levels[i]!.name
        if (name === 'xdg-dir' && top >= 3) continue
        assert.equal(seen[name], 'yes', `${name} still contributes`)
      }
    })
  }

  test('configs lists the files read in order; sources lists every contributor', () => {
    const s = sandbox()
    const etc = s.write('etc/ssbrc', 'a = 1\n')
    const mine = s.write('home/.ssb/config', '{"b": 2}')
    const cwdRc = s.write('work/project/.ssbrc', 'c = 3\n')
    s.write('home/.ssbrc', '') // empty files are skipped, as in rc
    const config = s.load({
      env: { ssb_d: '4' },
      argv: ['--e', '5', 'start'],
      overrides: { f: 6 },
    })
    assert.deepEqual(config.configs, [etc, mine, cwdRc])
    assert.equal(config.config, cwdRc)
    assert.deepEqual(config._, ['start'])
    assert.deepEqual(config.sources, [
      { kind: 'defaults' },
      { kind: 'file', path: etc },
      { kind: 'file', path: mine },
      { kind: 'file', path: cwdRc },
      { kind: 'env', variables: ['ssb_d'] },
      { kind: 'argv', flags: ['--e'] },
      { kind: 'overrides' },
    ])
    // sources and warnings do not show up in the printed config (ssb-server `config`)
    const printed = JSON.parse(JSON.stringify(config))
    assert.equal('sources' in printed, false)
    assert.equal('warnings' in printed, false)
  })

  test('~/.ssbrc found again by the walk up from a cwd inside home is read once', () => {
    const s = sandbox()
    const rc = s.write('home/.ssbrc', 'x[] = one\n')
    const config = s.load({ cwd: join(s.home, 'deep', 'er') })
    assert.deepEqual(config.configs, [rc])
    assert.deepEqual(config.x, ['one'])
  })

  test('a relative --config resolves against cwd and is recorded as given', () => {
    const s = sandbox()
    s.write('work/project/sub/my.json', '{"relative": true}')
    const config = s.load({ argv: ['--config', 'my.json'] })
    assert.equal(config.relative, true)
    assert.deepEqual(config.configs, ['my.json'])
  })

  test('a missing --config file is ignored; config keeps the flag value', () => {
    const s = sandbox()
    const config = s.load({ argv: ['--config', join(s.root, 'nope')] })
    assert.equal(config.config, join(s.root, 'nope'))
    assert.equal(config.configs, undefined)
  })

  test('deep merge: objects merge key by key, arrays replace', () => {
    const s = sandbox()
    s.write('home/.ssb/config', '{"master": ["x"], "friends": {"dunbar": 10}, "plugin": {"a": 1}}')
    const config = s.load({
      argv: ['--plugin.b', '2'],
      overrides: { master: [alice.id] },
    })
    assert.deepEqual(config.master, [alice.id])
    assert.deepEqual(config.friends, { dunbar: 10, hops: 2 })
    assert.deepEqual(config.plugin, { a: 1, b: 2 })
  })
})

describe('file formats', () => {
  test('JSON with // and /* */ comments; // inside strings survives', () => {
    const s = sandbox()
    s.write(
      'home/.ssb/config',
      [
        '  {',
        '  // the pub',
        '  "seeds": "net:example.com:8008~shs:abc", /* inline */ "url": "http://x//y",',
        '  /* a',
        '     block */',
        '  "logging": { "level": "info" } // done',
        '}',
      ].join('\r\n'),
    )
    const config = s.load()
    assert.equal(config.seeds, 'net:example.com:8008~shs:abc')
    assert.equal(config.url, 'http://x//y')
    assert.equal(config.logging.level, 'info')
  })

  test('INI: sections, dotted sections, arrays, booleans, quotes, comments', () => {
    const s = sandbox()
    s.write(
      'home/.ssb/config',
      [
        '; comment',
        '# another',
        'allowPrivate = true',
        'offline = false',
        'quoted = "a = b"',
        "single = '42'",
        'note = hello ; trailing comment',
        `master[] = ${alice.id}`,
        `master[] = ${bob.id}`,
        'bare',
        '[logging]',
        'level = debug',
        '[gossip]',
        'local = false',
        '[deep.er.section]',
        'x = 1',
        '[plugins.ssb\\.thing]',
        'enabled = true',
      ].join('\n'),
    )
    const config = s.load()
    assert.equal(config.allowPrivate, true)
    assert.equal(config.offline, false)
    assert.equal(config.quoted, 'a = b')
    assert.equal(config.single, 42)
    assert.equal(config.note, 'hello')
    assert.equal(config.bare, true)
    assert.deepEqual(config.master, [alice.id, bob.id])
    assert.equal(config.logging.level, 'debug')
    // [gossip] merges into the defaults rather than replacing them
    assert.deepEqual(config.gossip, { connections: 3, local: false })
    assert.deepEqual(config.deep, { er: { section: { x: '1' } } })
    assert.deepEqual(config.plugins, { 'ssb.thing': { enabled: true } })
  })

  test('a file starting with { that is not JSON: ConfigSyntaxError with file, line, column', () => {
    const s = sandbox()
    const file = s.write('home/.ssb/config', '{\n  // ok\n  "port": 8008,\n  "host": "x",,\n}\n')
    const err = captureError(() => s.load())
    assert.ok(err instanceof ConfigSyntaxError)
    assert.ok(err instanceof ConfigError)
    assert.equal(err.name, 'ConfigSyntaxError')
    assert.equal(err.source, file)
    assert.equal(err.path, file)
    assert.equal(err.field, undefined)
    assert.equal(err.line, 4)
    assert.equal(err.column, 15)
    assert.match(
      err.message,
      new RegExp(`${escapeRegExp(file)} is not valid JSON at line 4, column 15`),
    )
  })

  test('a truncated JSON file reports its end', () => {
    const s = sandbox()
    const file = s.write('work/project/.ssbrc', '{ "a": 1,\n"b": ')
    const err = captureError(() => s.load())
    assert.ok(err instanceof ConfigSyntaxError)
    assert.equal(err.source, file)
    assert.equal(err.line, 2)
  })

  test('an unreadable config file is an error, not silently skipped', () => {
    const s = sandbox()
    // A symbolic link to itself (ELOOP) cannot be read even by root, unlike a chmod 000 file.
    const file = join(s.home, '.ssb', 'config')
    mkdirSync(join(s.home, '.ssb'))
    symlinkSync(file, file)
    const err = captureError(() => s.load())
    assert.equal(err.name, 'ConfigFileUnreadableError')
    assert.equal((err as ConfigError).source, file)
  })
})

describe('environment and flags', () => {
  test('env: case-insensitive prefix, __ nesting, numbers and booleans converted', () => {
    const s = sandbox()
    const config = s.load({
      env: {
        ssb_logging__level: 'info',
        SSB_port: '9999',
        ssb_ws__port: '9998',
        ssb_friends__hops: '3',
        ssb_offline: 'false',
        ssb_gossip__pub: 'false',
        ssb_plugin__deep__key: 'v',
        ssb___z__i__: 'trimmed',
        other_port: '1',
      },
    })
    assert.equal(config.logging.level, 'info')
    assert.equal(config.port, 9999)
    assert.equal(config.ws.port, 9998)
    assert.equal(config.friends.hops, 3)
    assert.equal(config.offline, false)
    assert.equal(config.gossip.pub, false)
    assert.deepEqual(config.plugin, { deep: { key: 'v' } })
    assert.deepEqual(config.z, { i: 'trimmed' })
    for (const entry of config.connections.incoming.net ?? []) assert.equal(entry.port, 9999)
  })

  test('env: a nested variable below one holding text is ignored, as in rc', () => {
    const s = sandbox()
    const config = s.load({ env: { ssb_thing: 'flat', ssb_thing__deep: 'x' } })
    assert.equal(config.thing, 'flat')
  })

  test('ssb_appname switches the data directory, the files and the env prefix', () => {
    const s = sandbox()
    s.write('home/.ssb/config', '{"which": "ssb"}')
    const foo = s.write('home/.foo/config', '{"which": "foo"}')
    s.write('work/project/.foorc', 'rc = foo\n')
    const config = s.load({ env: { ssb_appname: 'foo', foo_level: 'a', ssb_level: 'b' } })
    assert.equal(config.path, join(s.home, '.foo'))
    assert.equal(config.which, 'foo')
    assert.equal(config.rc, 'foo')
    assert.equal(config.level, 'a')
    assert.equal(config.configs?.[0], foo)
    // appName in options wins over the environment
    const named = s.load({ appName: 'ssb', env: { ssb_appname: 'foo' } })
    assert.equal(named.path, join(s.home, '.ssb'))
    assert.equal(named.which, 'ssb')
    assert.equal(named.appname, 'foo', 'ssb_appname is also an ssb_* variable, as in rc')
  })

  test('an appName with a path separator is refused', () => {
    const s = sandbox()
    const err = captureError(() => s.load({ env: { ssb_appname: '../x' } }))
    assert.ok(err instanceof ConfigError)
    assert.equal(err.field, 'appName')
    assert.equal(err.source, 'environment variable ssb_appname')
  })

  test('flags: dotted, --a=b, --no-x, numbers, bare booleans, positionals', () => {
    const s = sandbox()
    const config = s.load({
      argv: [
        'start',
        '--logging.level',
        'info',
        '--ws.port=9001',
        '--port',
        '9000',
        '--no-offline',
        '--allowPrivate',
        '--gossip.seed',
        'false',
        '--plugin.list',
        'a',
        '--plugin.list',
        'b',
        '--',
        '--not-a-flag',
      ],
    })
    assert.equal(config.logging.level, 'info')
    assert.equal(config.ws.port, 9001)
    assert.equal(config.port, 9000)
    assert.equal(config.offline, false)
    assert.equal(config.allowPrivate, true)
    assert.equal(config.gossip.seed, false, 'the string "false" becomes false here')
    assert.deepEqual(config.plugin, { list: ['a', 'b'] })
    assert.deepEqual(config._, ['start', '--not-a-flag'])
  })

  test('an already parsed args object can replace argv', () => {
    const s = sandbox()
    const config = s.load({ argv: ['--port', '1'], args: { port: 9100, _: [] } })
    assert.equal(config.port, 9100)
  })

  test('unknown keys pass through for plugins', () => {
    const s = sandbox()
    s.write('home/.ssb/config', '{"ssb-conn": {"autostart": false}, "plugins": {"x": true}}')
    const config = s.load()
    assert.deepEqual(config['ssb-conn'], { autostart: false })
    assert.deepEqual(config.plugins, { x: true })
  })
})

describe('defaults and connections', () => {
  const interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = {
    lo: [iface('127.0.0.1', true), iface('::1', true, 0)],
    eth0: [iface('10.1.2.3', false), iface('fe80::1234', false, 2), iface('203.0.113.9', false)],
    wlan: [iface('fd00::5', false, 0)],
  }

  test('defaults as ssb-config 3.4.6 sets them', () => {
    const s = sandbox()
    const config = s.load({ networkInterfaces: interfaces })
    assert.equal(config.path, join(s.home, '.ssb'))
    assert.deepEqual(config.caps, { ...MAIN_NET_CAPS })
    assert.equal(config.timeout, 0)
    assert.deepEqual(config.timers, {
      connection: 0,
      reconnect: 5000,
      ping: 300000,
      handshake: 5000,
    })
    assert.deepEqual(config.friends, { dunbar: 150, hops: 2 })
    assert.deepEqual(config.gossip, { connections: 3 })
    assert.deepEqual(config.logging, { level: 'notice' })
    assert.deepEqual(config.master, [])
    assert.equal(config.party && config.pub && config.local, true)
    assert.deepEqual(config.connections.outgoing, {
      net: [{ transform: 'shs' }],
      onion: [{ transform: 'shs' }],
    })
    assert.equal(config.blobs, undefined, 'plugin defaults are not written into the config')
  })

  test('one net and one ws entry per interface address, scoped, link-local skipped', () => {
    const s = sandbox()
    const config = s.load({ networkInterfaces: interfaces })
    const expected = (port: number) => [
      { host: '127.0.0.1', port, scope: ['device'], transform: 'shs' },
      { host: '::1', port, scope: ['device'], transform: 'shs' },
      { host: '10.1.2.3', port, scope: ['local'], transform: 'shs' },
      { host: '203.0.113.9', port, scope: ['public'], transform: 'shs' },
      { host: 'fd00::5', port, scope: ['local'], transform: 'shs' },
    ]
    assert.deepEqual(config.connections.incoming, {
      net: expected(8008),
      ws: expected(8989),
      unix: [{ scope: 'device', transform: 'noauth' }],
    })
    assert.equal(config.host, '203.0.113.9', 'the first public address')
    assert.equal(config.port, 8008)
    assert.deepEqual(config.ws, {
      host: '203.0.113.9',
      port: 8989,
      scope: ['public'],
      transform: 'shs',
    })
    const local = s.load({ networkInterfaces: { lo: interfaces.lo!, wlan: interfaces.wlan! } })
    assert.equal(local.host, 'fd00::5', 'else the first local one')
    const device = s.load({ networkInterfaces: { lo: interfaces.lo! } })
    assert.equal(device.host, '127.0.0.1', 'else the first device one')
  })

  test('host set: one net and one ws entry on it, all scopes', () => {
    const s = sandbox()
    const config = s.load({ argv: ['--host', 'example.com', '--ws.port', '9001'] })
    assert.deepEqual(config.connections.incoming, {
      net: [
        { host: 'example.com', port: 8008, scope: ['device', 'local', 'public'], transform: 'shs' },
      ],
      ws: [
        { host: 'example.com', port: 9001, scope: ['device', 'local', 'public'], transform: 'shs' },
      ],
      unix: [{ scope: 'device', transform: 'noauth' }],
    })
    assert.equal(config.host, 'example.com')
    assert.equal(config.ws.port, 9001)
  })

  test('explicit connections.incoming drives host/port/ws; missing ports are filled', () => {
    const s = sandbox()
    s.write(
      'home/.ssb/config',
      JSON.stringify({
        connections: {
          incoming: {
            net: [
              { host: '10.0.0.1', scope: 'local' },
              { host: 'pub.example', port: 8010, scope: ['public'] },
            ],
            ws: [{ host: 'pub.example', scope: 'public' }],
          },
        },
      }),
    )
    const config = s.load()
    assert.equal(config.host, 'pub.example')
    assert.equal(config.port, 8010)
    assert.equal(config.ws.port, 8989)
    assert.equal(config.connections.incoming.unix, undefined, 'no unix socket unless configured')
    assert.equal(config.connections.incoming.net?.[0]?.port, undefined, 'only the picked entry')
    // the reference fills a port-less ws entry with the *net* `port` when one is set
    const odd = s.load({ argv: ['--port', '8010'] })
    assert.equal(odd.ws.port, 8010)
  })

  test('port 0 only from overrides, kept as an ephemeral port', () => {
    const s = sandbox()
    const config = s.load({ overrides: { port: 0, host: '127.0.0.1' } })
    assert.equal(config.port, 0)
    assert.equal(config.connections.incoming.net?.[0]?.port, 0)
    const err = captureError(() => s.load({ argv: ['--port', '0'] }))
    assert.ok(err instanceof ConfigError)
    assert.equal(err.field, 'port')
    assert.equal(err.source, 'flag --port')
  })

  for (const [name, options, file, field, source, conflicts] of [
    ['net port', { argv: ['--port', '9000'] }, true, 'port', 'flag --port', ['net port']],
    [
      'net host',
      { env: { ssb_host: 'other.example' } },
      true,
      'host',
      'environment variable ssb_host',
      ['net host'],
    ],
    [
      'ws port',
      { overrides: { ws: { port: 9002 }, port: 9000 } },
      true,
      'port',
      'overrides',
      ['net port', 'ws port'],
    ],
  ] as const) {
    test(`conflicting connection settings: ${name}`, () => {
      const s = sandbox()
      const path = file
        ? s.write(
            'home/.ssb/config',
            JSON.stringify({
              connections: {
                incoming: {
                  net: [{ host: 'pub.example', port: 8008, scope: 'public' }],
                  ws: [{ host: 'pub.example', port: 8989, scope: 'public' }],
                },
              },
            }),
          )
        : ''
      const err = captureError(() => s.load(options))
      assert.ok(err instanceof ConflictingConnectionsError)
      assert.ok(err instanceof ConfigError)
      assert.deepEqual(err.conflicts, conflicts)
      assert.equal(err.field, field)
      assert.equal(err.source, source)
      assert.ok(
        err.message.startsWith(
          `ssb-config: conflicting connection settings for: ${conflicts.join(', ')}`,
        ),
        err.message,
      )
      assert.ok(err.message.includes(path), 'names the file of the other side')
    })
  }
})

describe('validation names the field and the source', () => {
  const bad: [string, unknown, string][] = [
    ['port', 70000, 'port'],
    ['port', 1.5, 'port'],
    ['port', 'abc', 'port'],
    ['ws', { port: -1 }, 'ws.port'],
    ['host', 42, 'host'],
    ['path', 42, 'path'],
    ['caps', { shs: 'abc' }, 'caps.shs'],
    ['caps', { shs: Buffer.alloc(31).toString('base64') }, 'caps.shs'],
    ['caps', { sign: 'nope' }, 'caps.sign'],
    ['appKey', Buffer.alloc(33).toString('base64'), 'appKey'],
    ['logging', { level: 'verbose' }, 'logging.level'],
    ['master', 'bob', 'master'],
    ['master', [alice.id, '@short.ed25519'], 'master[1]'],
    ['master', [`%${alice.id.slice(1, -8)}.sha256`], 'master[0]'],
    ['friends', { hops: -1 }, 'friends.hops'],
    ['friends', { hops: 'two' }, 'friends.hops'],
    ['timers', { ping: 'soon' }, 'timers.ping'],
    ['timers', { inactivity: -5 }, 'timers.inactivity'],
    ['timeout', -1, 'timeout'],
    [
      'connections',
      { incoming: { net: [{ host: 'x', port: 8008 }] } },
      'connections.incoming.net[0].scope',
    ],
    [
      'connections',
      { incoming: { net: [{ host: 'x', port: 99999, scope: 'public' }] } },
      'connections.incoming.net[0].port',
    ],
    ['connections', { incoming: { net: { host: 'x' } } }, 'connections.incoming.net'],
    ['keys', { curve: 'ed25519', public: bob.public, private: alice.private, id: bob.id }, 'keys'],
  ]
  for (const [key, value, field] of bad) {
    test(`${field} = ${JSON.stringify(value)}`, () => {
      const s = sandbox()
      const file = s.write('home/.ssb/config', JSON.stringify({ [key]: value }, null, 2))
      const err = captureError(() => s.load())
      assert.ok(err instanceof ConfigError, String(err))
      assert.equal(err.name, 'ConfigError')
      assert.equal(err.field, field)
      assert.equal(err.source, file)
      assert.ok(err.message.includes(field), err.message)
      assert.ok(err.message.includes(file), err.message)
    })
  }

  test('an INI value is named with its file too', () => {
    const s = sandbox()
    const file = s.write('etc/ssbrc', '[friends]\nhops = lots\n')
    const err = captureError(() => s.load())
    assert.ok(err instanceof ConfigError)
    assert.equal(err.field, 'friends.hops')
    assert.equal(err.source, file)
  })

  test('values from env, flags and overrides name the variable, the flag or overrides', () => {
    const s = sandbox()
    s.write('home/.ssb/config', '{"port": 8010}')
    const fromEnv = captureError(() => s.load({ env: { ssb_timers__ping: '-3' } }))
    assert.ok(fromEnv instanceof ConfigError)
    assert.equal(fromEnv.field, 'timers.ping')
    assert.equal(fromEnv.source, 'environment variable ssb_timers__ping')
    const fromFlag = captureError(() => s.load({ argv: ['--port', '123456'] }))
    assert.ok(fromFlag instanceof ConfigError)
    assert.equal(fromFlag.source, 'flag --port')
    assert.match(
      fromFlag.message,
      /^invalid config port \(from flag --port\): must be an integer from 1 to 65535, got 123456$/,
    )
    const fromOverrides = captureError(() => s.load({ overrides: { logging: { level: 'loud' } } }))
    assert.ok(fromOverrides instanceof ConfigError)
    assert.equal(fromOverrides.source, 'overrides')
    const replaced = captureError(() => s.load({ argv: ['--timers', '5'] }))
    assert.ok(replaced instanceof ConfigError)
    assert.equal(replaced.field, 'timers')
    assert.equal(replaced.source, 'flag --timers')
  })

  test('master accepts one id or a list; caps accept bytes; appKey fills a null caps.shs', () => {
    const s = sandbox()
    assert.deepEqual(s.load({ env: { ssb_master: alice.id } }).master, [alice.id])
    const config = s.load({
      overrides: { caps: { shs: null, sign: Buffer.alloc(32, 3) }, appKey: key32 },
    })
    assert.equal(config.caps.shs, key32)
    assert.equal(config.caps.sign, Buffer.alloc(32, 3).toString('base64'))
    assert.deepEqual(shsAppKey(config), Buffer.alloc(32, 7))
    const missing = captureError(() => s.load({ overrides: { caps: { shs: null } } }))
    assert.ok(missing instanceof ConfigError)
    assert.equal(missing.field, 'caps.shs')
  })
})

describe('the secret file', () => {
  test('created when missing, mode 0400, and loaded again unchanged', () => {
    const s = sandbox()
    const first = loadConfig({ homeDir: s.home, cwd: s.cwd, etcDir: s.etc, env: {}, argv: [] })
    const file = secretPath(first)
    assert.equal(file, join(s.home, '.ssb', 'secret'))
    assert.equal(statSync(file).mode & 0o777, 0o400)
    assert.equal(statSync(join(s.home, '.ssb')).mode & 0o077, 0, 'folder not open to others')
    assert.match(first.keys.id, /^@[A-Za-z0-9+/]{43}=\.ed25519$/)
    assert.deepEqual(first.warnings, [])
    const again = loadConfig({ homeDir: s.home, cwd: s.cwd, etcDir: s.etc, env: {}, argv: [] })
    assert.deepEqual(again.keys, first.keys)
  })

  test('the secret follows path; createSecret false only loads', () => {
    const s = sandbox()
    const dir = join(s.root, 'data')
    const none = s.load({ argv: ['--path', dir] })
    assert.equal(none.keys, undefined)
    assert.equal(existsSync(join(dir, 'secret')), false)
    const made = s.load({ argv: ['--path', dir], createSecret: true })
    assert.ok(made.keys)
    assert.deepEqual(s.load({ argv: ['--path', dir] }).keys, made.keys)
    assert.equal(manifestPath(made), join(dir, 'manifest.json'))
    assert.equal(socketPath(made), join(dir, 'socket'))
  })

  test('a corrupt or mismatched secret is an ssb-keys error and is never replaced', () => {
    const s = sandbox()
    const file = s.write('home/.ssb/secret', '# only comments\n#\n')
    assert.throws(() => s.load({ createSecret: true }), CorruptSecretFileError)
    assert.equal(readFileSync(file, 'utf8'), '# only comments\n#\n')
    writeFileSync(file, JSON.stringify({ ...bob, private: alice.private }))
    assert.throws(() => s.load({ createSecret: true }), SecretKeyMismatchError)
    assert.throws(() => s.load({ createSecret: false }), SecretKeyMismatchError)
  })

  test('a readable-by-others secret loads with a warning', () => {
    const s = sandbox()
    const file = s.write('home/.ssb/secret', JSON.stringify(alice))
    chmodSync(file, 0o644)
    const config = s.load({ createSecret: true })
    assert.equal(config.keys?.id, alice.id)
    assert.equal(config.warnings.length, 1)
    assert.match(config.warnings[0] ?? '', /can be read by other users/)
  })

  test('keys given in the config are checked and used instead of the file', () => {
    const s = sandbox()
    const config = s.load({
      overrides: { keys: { ...alice, id: alice.id.slice(1) } },
      createSecret: true,
    })
    assert.deepEqual(config.keys, alice)
    assert.equal(existsSync(join(s.home, '.ssb', 'secret')), false)
    const err = captureError(() => s.load({ argv: ['--keys', 'false'] }))
    assert.ok(err instanceof ConfigError)
    assert.equal(err.field, 'keys')
    assert.equal(err.source, 'flag --keys')
  })
})

function iface(address: string, internal: boolean, scopeid?: number): NetworkInterfaceInfo {
  const v6 = address.includes(':')
  return {
    address,
    netmask: v6 ? 'ffff:ffff:ffff:ffff::' : '255.0.0.0',
    family: v6 ? 'IPv6' : 'IPv4',
    mac: '00:00:00:00:00:00',
    internal,
    cidr: null,
    ...(v6 ? { scopeid: scopeid ?? 0 } : {}),
  } as NetworkInterfaceInfo
}

function captureError(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof Error)
    return err
  }
  assert.fail('expected an error')
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
