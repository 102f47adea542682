// The small parsers rc relies on, against the very packages rc 1.2.8 and ssb-config 3.4.6 use
// (minimist 1.2.8, ini 1.3.8, strip-json-comments 2.0.1, deep-extend 0.6.0, ip 1.1.9, rc's
// env scan), reached through ssb-config's own dependency chain.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { parseArgv } from '../src/argv.js'
import { parseIni } from '../src/internal/ini.js'
import { isPrivateAddress } from '../src/internal/ip.js'
import { findJsonSyntaxError, stripJsonComments } from '../src/internal/json.js'
import { deepExtend } from '../src/internal/merge.js'
import { envLayer, parseConfigText } from '../src/sources.js'

const fromSsbConfig = createRequire(
  createRequire(import.meta.url).resolve('ssb-config/package.json'),
)
const fromRc = createRequire(fromSsbConfig.resolve('rc'))
const minimist = fromRc('minimist') as (argv: string[]) => Record<string, unknown>
const ini = fromRc('ini') as { parse(text: string): Record<string, unknown> }
const strip = fromRc('strip-json-comments') as (text: string) => string
const deepExtendRef = fromRc('deep-extend') as (...objects: unknown[]) => unknown
const rcUtils = fromRc('./lib/utils.js') as {
  env(prefix: string, env: Record<string, string>): Record<string, unknown>
}
const ip = fromSsbConfig('ip') as { isPrivate(address: string): boolean }

test('parseArgv matches minimist 1.2.8 without options', () => {
  const vectors: string[][] = [
    [],
    ['start'],
    ['--port', '9000', '--host', 'localhost'],
    ['--port=9000', '--logging.level=info', '--ws.port', '8990'],
    ['--no-offline', '--allowPrivate', '--gossip.seed', 'false', '--x', 'true'],
    ['--a', '1', '--a', '2', '--a', '3'],
    ['--flag', '--next', 'value'],
    ['--hex', '0x10', '--float', '1.5e3', '--neg', '-5', '--dot', '.5'],
    ['-abc', '-n5', '-x=y', '-p', '8008', '-q', 'false', '-', 'pos'],
    ['-a-', '-ab.c'],
    ['publish', '--type', 'post', '--text', 'hi', '--mentions.0.link', '@x'],
    ['a', '12', '--', '--port', '1', '7'],
    ['--eq=', '--eq2=a=b', '--empty', ''],
    ['--__proto__.polluted', 'yes', '--constructor.prototype.bad', '1', '--ok', '1'],
    ['--a.b', '1', '--a.c', '2', '--a', 'x'],
  ]
  for (const argv of vectors) {
    assert.deepEqual(parseArgv(argv).args, minimist(argv), JSON.stringify(argv))
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})

test('parseArgv names the flag behind every key', () => {
  const { origins } = parseArgv(['--port=1', '--ws.port', '2', '-v', '--no-x'])
  assert.deepEqual(Object.fromEntries(origins), {
    port: '--port',
    'ws.port': '--ws.port',
    v: '-v',
    x: '--no-x',
  })
})

test('parseIni matches ini 1.3.8', () => {
  const texts = [
    'a = 1\nb=two\nc\n',
    '; comment\n# comment\n  ; indented comment\n[s]\nk = v\n',
    '[a.b.c]\nx = 1\n[a]\ny = 2\n[a\\.b]\nz = 3\n',
    'list[] = 1\nlist[] = 2\nsolo = 1\nsolo[] = 2\nkeep[] = a\nkeep = b\n',
    't = true\nf = false\nn = null\nq = "true"\nsq = \'123\'\ndq = "123"\nraw = 123\n',
    'v = a ; c\nw = a \\; b \\# c\nx = "quoted ; not comment"\ny = \\q\nz = end\\\n',
    'x = "\nx2 = \'\nempty =\n = nokey\n',
    '  [not a section]\n[ok]\n[ok]\nagain = 1\n',
    '__proto__ = x\n[__proto__]\nbad = 1\n[good]\nfine = 1\n',
    'scalar = s\n[scalar]\nlost = 1\n[scalar.child]\nc = 1\n',
    '\uFEFFport = 8008\r\nhost = h\r\n',
    'a = 1\n[a.b]\nc = 2\n',
  ]
  for (const text of texts) assert.deepEqual(parseIni(text), ini.parse(text), JSON.stringify(text))
})

test('stripJsonComments matches strip-json-comments 2.0.1', () => {
  const texts = [
    '{"a": 1} // end',
    '{\n// line\n"a": "//not", /* block\n */ "b": "/*not*/"\n}',
    '{"a": "esc \\" // still string", "b": 2} /* unterminated',
    '{"a": "x\\\\"} // after escaped backslash',
    '{\r\n// crlf\r\n"a": 1\r\n}',
  ]
  for (const text of texts) assert.equal(stripJsonComments(text), strip(text), JSON.stringify(text))
})

test('JSON errors point at the line and column of the original file', () => {
  const text = '{\n  /* c */ "a": 1,\n  "b": tru\n}'
  assert.deepEqual(findJsonSyntaxError(stripJsonComments(text)), {
    offset: 30,
    line: 3,
    column: 11,
    detail: 'unexpected "\\n"',
  })
  assert.throws(() => parseConfigText(text, '/x/config'), {
    name: 'ConfigSyntaxError',
    line: 3,
    column: 11,
  })
  assert.deepEqual(parseConfigText('\uFEFF{"bom": true}', '/x'), { bom: true })
})

test('findJsonSyntaxError agrees with JSON.parse on what is valid', () => {
  const texts = [
    '{}',
    '{"a": [1, -2.5e3, true, false, null, "s\\u00e9\\n"], "b": {"c": {}}}',
    '{"a": 1,}',
    '{"a": [1,]}',
    '{"a" 1}',
    "{'a': 1}",
    '{"a": 01}',
    '{"a": "\\x"}',
    '{"a": "tab\there"}',
    '{"a": 1} x',
    '{"a": .5}',
    '{"a": "\\u12G4"}',
    '{"a": -}',
    '{"a": nul}',
    '{"a": 1',
  ]
  for (const text of texts) {
    let valid = true
    try {
      JSON.parse(text)
    } catch {
      valid = false
    }
    assert.equal(findJsonSyntaxError(text) === undefined, valid, text)
  }
})

test('envLayer matches rc 1.2.8 env scan', () => {
  const envs: Record<string, string>[] = [
    { ssb_port: '1', SSB_Host: 'h', other: 'x', ssbx: 'no' },
    { ssb_a__b__c: '1', ssb_a__d: '2', ssb_e__: '3', ssb___f__g__: '4' },
    { ssb_x: 'flat', ssb_x__y: 'ignored' },
    { ssb_x__y: 'deep', ssb_x: 'flat wins' },
    { ssb_: 'nothing', ssb____: 'nothing' },
  ]
  for (const env of envs) {
    assert.deepEqual(envLayer('ssb_', env).data, rcUtils.env('ssb_', env), JSON.stringify(env))
  }
  assert.equal(envLayer('ssb_', { ssb_a__b: '1' }).origins.get('a.b'), 'ssb_a__b')
})

test('deepExtend matches deep-extend 0.6.0', () => {
  const layers = () => [
    { a: { b: 1, c: [1, { d: 2 }] }, e: 'x', f: { g: 1 }, buf: Buffer.from('ab') },
    { a: { b: 2, c: [3] }, e: { now: 'object' }, f: null, h: [{ i: 1 }] },
    { a: 'flat', e: { more: 1 }, j: undefined },
    JSON.parse('{"__proto__": {"polluted": true}, "k": 1}'),
    [1, 2],
    null,
  ]
  const ours = deepExtend({ z: 1 }, ...layers())
  const theirs = deepExtendRef({ z: 1 }, ...layers())
  assert.deepEqual(ours, theirs)
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  // copies, not shared references
  const source = { arr: [{ x: 1 }], obj: { y: 1 } }
  const merged = deepExtend({}, source) as typeof source
  assert.notEqual(merged.arr, source.arr)
  assert.notEqual(merged.arr[0], source.arr[0])
  assert.notEqual(merged.obj, source.obj)
})

test('isPrivateAddress matches ip 1.1.9 isPrivate for interface addresses', () => {
  const addresses = [
    '127.0.0.1',
    '10.0.0.1',
    '172.16.0.1',
    '172.32.0.1',
    '192.168.1.1',
    '169.254.1.1',
    '192.0.2.2',
    '8.8.8.8',
    '::1',
    '::',
    'fd00::2',
    'fc12::1',
    'fe80::1',
    'fe80::fc:ff:fe00:1',
    '2001:db8::1',
    '::ffff:10.0.0.1',
  ]
  for (const address of addresses) {
    assert.equal(isPrivateAddress(address), ip.isPrivate(address), address)
  }
})
