// The secret file: layout byte-for-byte as npm ssb-keys writes it, both directions of reading,
// permissions, never overwriting, and a named error for every broken file (bad-inputs.md §1).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  CorruptSecretFileError,
  createSecretFile,
  createSecretFileSync,
  formatSecretFile,
  generateKeys,
  InvalidKeysError,
  isExposedMode,
  type Keys,
  loadOrCreateSecretFile,
  loadOrCreateSecretFileSync,
  parseSecretFile,
  readSecretFile,
  readSecretFileSync,
  SecretFileExistsError,
  SecretFileNotFoundError,
  SecretFileUnreadableError,
  SecretKeyMismatchError,
  signObject,
  verifyObject,
  writeSecretFile,
  writeSecretFileSync,
} from '@scuttlekit/ssb-keys'

const require = createRequire(import.meta.url)
const ref = require('ssb-keys') as {
  createSync(path: string, curve?: string, legacy?: boolean): Keys
  loadSync(path: string): Keys | undefined
}

interface SecretFixture {
  json: { text: string; keys: Keys; mode: string; loaded: Keys }
  legacy: { text: string; keys: Keys; loaded: null }
}
const fixtureUrl = (name: string) => new URL(`fixtures/${name}`, import.meta.url)
const fixture = JSON.parse(fs.readFileSync(fixtureUrl('secret-file.json'), 'utf8')) as SecretFixture

const root = fs.mkdtempSync(join(tmpdir(), 'ssb-keys-secret-'))
let counter = 0
const fresh = (name = 'secret') => join(root, `case-${++counter}`, name)
after(() => fs.rmSync(root, { recursive: true, force: true }))

/** Writes `text` as a secret file the way a user or a crash might leave one. */
function plant(text: string | Buffer): string {
  const path = fresh()
  fs.mkdirSync(join(path, '..'), { recursive: true })
  fs.writeFileSync(path, text)
  return path
}

/** Runs the async and sync readers and the loadOrCreate pair; all must throw `expected`. */
async function assertRefused(path: string, expected: new (...args: never[]) => Error) {
  const before = fs.existsSync(path) ? fs.lstatSync(path) : undefined
  const content = before?.isFile() ? fs.readFileSync(path) : undefined
  await assert.rejects(readSecretFile(path), expected)
  assert.throws(() => readSecretFileSync(path), expected)
  await assert.rejects(loadOrCreateSecretFile(path), expected)
  assert.throws(() => loadOrCreateSecretFileSync(path), expected)
  if (content) assert.deepEqual(fs.readFileSync(path), content, 'the file was not touched')
}

const keysA = generateKeys(Buffer.alloc(32, 0xa))
const keysB = generateKeys(Buffer.alloc(32, 0xb))
const privateBytes = (keys: Keys) => Buffer.from(keys.private.replace('.ed25519', ''), 'base64')

test('formatSecretFile reproduces the reference file byte for byte (JSON and legacy)', () => {
  assert.equal(formatSecretFile(fixture.json.keys), fixture.json.text)
  assert.equal(formatSecretFile(fixture.legacy.keys, { legacy: true }), fixture.legacy.text)
  assert.equal(fs.readFileSync(fixtureUrl('secret'), 'utf8'), fixture.json.text)
  assert.ok(!fixture.json.text.endsWith('\n'))
  assert.ok(fixture.json.text.endsWith(`#   ${fixture.json.keys.id}`))
})

test('a file the installed reference writes now matches ours for the same keys', () => {
  const path = fresh()
  const keys = ref.createSync(path)
  assert.equal(formatSecretFile(keys), fs.readFileSync(path, 'utf8'))
  assert.equal(fs.statSync(path).mode & 0o777, 0o400)
})

test('we read the secret file the reference wrote (fixture file and JSON text)', async () => {
  assert.deepEqual(await readSecretFile(fileURLToPath(fixtureUrl('secret'))), fixture.json.keys)
  assert.deepEqual(parseSecretFile(fixture.json.text), fixture.json.loaded)
})

test('we read the legacy bare-private file the reference writes (the reference cannot)', async () => {
  assert.equal(fixture.legacy.loaded, null)
  assert.deepEqual(parseSecretFile(fixture.legacy.text), fixture.legacy.keys)
  assert.deepEqual(await readSecretFile(plant(fixture.legacy.text)), fixture.legacy.keys)
})

test('the reference reads the file we write; mode 0400, parents 0700', async () => {
  const path = fresh('deeper/secret')
  await writeSecretFile(path, keysA)
  assert.deepEqual(ref.loadSync(path), keysA)
  assert.equal(fs.statSync(path).mode & 0o777, 0o400)
  assert.equal(fs.statSync(join(path, '..')).mode & 0o777, 0o700)
  const syncPath = fresh('deeper/secret')
  writeSecretFileSync(syncPath, keysB)
  assert.deepEqual(ref.loadSync(syncPath), keysB)
  assert.equal(fs.statSync(syncPath).mode & 0o777, 0o400)
})

test('createSecretFile makes a usable identity, seeded or random', async () => {
  const seeded = await createSecretFile(fresh(), { seed: 'my seed' })
  assert.deepEqual(seeded, generateKeys('my seed'))
  const path = fresh()
  const random = createSecretFileSync(path)
  assert.deepEqual(readSecretFileSync(path), random)
  assert.ok(verifyObject(random.id, signObject(random, { type: 'test' })))
})

test('writing never overwrites an existing file (wx): SecretFileExistsError', async () => {
  const path = fresh()
  await writeSecretFile(path, keysA)
  const before = fs.readFileSync(path)
  await assert.rejects(writeSecretFile(path, keysB), SecretFileExistsError)
  assert.throws(() => writeSecretFileSync(path, keysB), SecretFileExistsError)
  await assert.rejects(createSecretFile(path), SecretFileExistsError)
  assert.deepEqual(fs.readFileSync(path), before)
  // nor through a dangling symlink
  const link = fresh()
  fs.mkdirSync(join(link, '..'), { recursive: true })
  const target = join(link, '..', 'nowhere')
  fs.symlinkSync(target, link)
  await assert.rejects(writeSecretFile(link, keysA), SecretFileExistsError)
  assert.equal(fs.existsSync(target), false)
})

test('writing refuses a key object that is not a pair', async () => {
  const mixed = { ...keysA, public: keysB.public, id: keysB.id }
  await assert.rejects(writeSecretFile(fresh(), mixed), SecretKeyMismatchError)
  assert.throws(() => formatSecretFile({ ...keysA, private: 'AAAA.ed25519' }), InvalidKeysError)
})

test('loadOrCreate creates only when missing, then loads; reports exposure', async () => {
  const path = fresh('a/b/secret')
  const first = await loadOrCreateSecretFile(path)
  assert.equal(first.created, true)
  assert.equal(first.mode, 0o400)
  assert.equal(first.exposed, false)
  assert.equal(first.warning, undefined)
  const second = await loadOrCreateSecretFile(path)
  assert.deepEqual(second, { ...first, created: false })
  assert.deepEqual(loadOrCreateSecretFileSync(path).keys, first.keys)
  fs.chmodSync(path, 0o644)
  const exposed = loadOrCreateSecretFileSync(path)
  assert.equal(exposed.exposed, true)
  assert.match(exposed.warning ?? '', /mode 0644.*chmod 400/)
  assert.equal(isExposedMode(0o400), false)
  assert.equal(isExposedMode(0o440), process.platform !== 'win32')
})

test('two loadOrCreate calls racing on a new path end with one identity', async () => {
  // many times, eight at once: a call that found the file missing, and then found it there when
  // it looked again (another had created it meanwhile), once took it for a broken symbolic link
  // (in CI under load; this loop has not caught that interleaving here, the check is by reading)
  for (let i = 0; i < 200; i++) {
    const path = fresh()
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecretFile(path)))
    for (const r of results) assert.equal(r.keys.id, results[0]!.keys.id)
    assert.equal(results.filter((r) => r.created).length, 1)
  }
})

test('loadOrCreateSync on a missing file creates it', () => {
  const path = fresh()
  const { keys, created } = loadOrCreateSecretFileSync(path)
  assert.equal(created, true)
  assert.deepEqual(ref.loadSync(path), keys)
})

test('a missing file is SecretFileNotFoundError from the readers', async () => {
  const path = fresh()
  await assert.rejects(readSecretFile(path), SecretFileNotFoundError)
  assert.throws(() => readSecretFileSync(path), SecretFileNotFoundError)
})

const header = fixture.json.text.slice(0, fixture.json.text.indexOf('{'))
const footer = fixture.json.text.slice(fixture.json.text.indexOf('}') + 1)
const wrap = (body: string) => `${header}${body}${footer}`
const jsonOf = (value: unknown) => JSON.stringify(value, null, 2)

const corrupt: [string, string][] = [
  ['empty', ''],
  ['only whitespace', ' \n\n\t'],
  ['only comments', `${header}${footer}`],
  ['not JSON', wrap('hello there')],
  ['truncated in the JSON', fixture.json.text.slice(0, header.length + 60)],
  ['truncated JSON without comments', jsonOf(keysA).slice(0, -2)],
  ['JSON null', wrap('null')],
  ['JSON array', wrap('[]')],
  ['JSON number', wrap('42')],
  ['no private key', wrap(jsonOf({ curve: 'ed25519', public: keysA.public, id: keysA.id }))],
  ['private key not a string', wrap(jsonOf({ ...keysA, private: 5 }))],
  ['private key of 32 bytes', wrap(jsonOf({ ...keysA, private: keysA.public }))],
  ['private key not base64', wrap(jsonOf({ ...keysA, private: `!${keysA.private}` }))],
  [
    'private key tagged otherwise',
    wrap(jsonOf({ ...keysA, private: keysA.private.replace('ed25519', 'k256') })),
  ],
  ['public key of 64 bytes', wrap(jsonOf({ ...keysA, public: keysA.private }))],
  ['curve k256', wrap(jsonOf({ ...keysA, curve: 'k256' }))],
  ['legacy string of wrong length', wrap('AAAA.ed25519')],
]

for (const [name, text] of corrupt) {
  test(`corrupt secret (${name}) gives CorruptSecretFileError, never new keys`, async () => {
    const path = plant(text)
    await assertRefused(path, CorruptSecretFileError)
    assert.throws(() => parseSecretFile(text), CorruptSecretFileError)
  })
}

test('a corrupt file error names the reason and never quotes the key', async () => {
  const text = `${fixture.json.text.slice(0, header.length + 120)}`
  const err = await readSecretFile(plant(text)).catch((e: unknown) => e)
  assert.ok(err instanceof CorruptSecretFileError)
  assert.equal(err.name, 'CorruptSecretFileError')
  assert.match(err.message, /truncated JSON/)
  const secretPart = fixture.json.keys.private.slice(0, 20)
  assert.ok(!err.message.includes(secretPart))
  assert.ok(!String(err.stack).includes(secretPart))
  assert.equal(err.cause, undefined)
})

test('a file larger than 64 KiB is refused unread', async () => {
  await assertRefused(plant(`${fixture.json.text}\n#${'x'.repeat(70_000)}`), CorruptSecretFileError)
})

const tail = (keys: Keys) => privateBytes(keys).subarray(32)
const mismatched: [string, string][] = [
  ['public of another key', wrap(jsonOf({ ...keysA, public: keysB.public }))],
  ['public and id of another key', wrap(jsonOf({ ...keysA, public: keysB.public, id: keysB.id }))],
  [
    'private whose public half is not derived from its seed',
    wrap(
      jsonOf({
        ...keysA,
        private: `${Buffer.concat([privateBytes(keysA).subarray(0, 32), tail(keysB)]).toString('base64')}.ed25519`,
        public: keysB.public,
        id: keysB.id,
      }),
    ),
  ],
  ['id of another key', wrap(jsonOf({ ...keysA, id: keysB.id }))],
  ['id with another sigil', wrap(jsonOf({ ...keysA, id: `%${keysA.public}` }))],
]

for (const [name, text] of mismatched) {
  test(`mismatched secret (${name}) gives SecretKeyMismatchError`, async () => {
    await assertRefused(plant(text), SecretKeyMismatchError)
  })
}

test('the mismatch message says "secret key does not match public key"', async () => {
  const err = await readSecretFile(plant(mismatched[0]![1])).catch((e: unknown) => e)
  assert.ok(err instanceof SecretKeyMismatchError)
  assert.match(err.message, /secret key does not match public key/)
})

test('legacy id without sigil, missing id, extra fields, CRLF: loaded like the reference', async () => {
  const cases = [
    wrap(jsonOf({ ...keysA, id: keysA.public })),
    wrap(jsonOf({ curve: 'ed25519', public: keysA.public, private: keysA.private })),
    wrap(jsonOf({ ...keysA, extra: 'field', nested: { x: 1 } })),
    wrap(jsonOf(keysA)).replaceAll('\n', '\r\n'),
  ]
  for (const text of cases) {
    const path = plant(text)
    assert.deepEqual(await readSecretFile(path), keysA)
    assert.equal(ref.loadSync(path)?.id, keysA.id)
  }
  // no public at all: derived from the private key (the reference would make id "@undefined")
  assert.deepEqual(parseSecretFile(wrap(jsonOf({ private: keysA.private }))), keysA)
})

test('a directory gives SecretFileUnreadableError with the EISDIR cause', async () => {
  const path = fresh()
  fs.mkdirSync(path, { recursive: true })
  await assertRefused(path, SecretFileUnreadableError)
  const err = await readSecretFile(path).catch((e: unknown) => e)
  assert.ok(err instanceof SecretFileUnreadableError)
  assert.equal((err.cause as NodeJS.ErrnoException).code, 'EISDIR')
})

test('a broken symlink gives SecretFileUnreadableError and nothing is created', async () => {
  const path = fresh()
  fs.mkdirSync(join(path, '..'), { recursive: true })
  const target = join(path, '..', 'gone')
  fs.symlinkSync(target, path)
  await assertRefused(path, SecretFileUnreadableError)
  const err = readSecretFileSync.bind(null, path)
  assert.throws(err, /broken symbolic link/)
  assert.equal(fs.existsSync(target), false)
})

test('a path through a regular file gives SecretFileUnreadableError (ENOTDIR)', async () => {
  const file = plant('not a folder')
  await assertRefused(join(file, 'secret'), SecretFileUnreadableError)
})

test('a FIFO is refused as not a regular file', {
  skip: process.platform === 'win32',
}, async (t) => {
  const path = fresh()
  fs.mkdirSync(join(path, '..'), { recursive: true })
  if (spawnSync('mkfifo', [path]).status !== 0) return t.skip('mkfifo is not available')
  await assertRefused(path, SecretFileUnreadableError)
})

test('an unreadable file (EACCES) gives SecretFileUnreadableError, not new keys', {
  skip: process.platform === 'win32',
}, async () => {
  const path = fresh()
  fs.mkdirSync(join(path, '..'), { recursive: true, mode: 0o755 })
  fs.chmodSync(join(path, '..'), 0o755)
  writeSecretFileSync(path, keysA)
  const before = fs.readFileSync(path)
  fs.chmodSync(path, 0o000)
  if (process.getuid?.() !== 0) {
    await assertRefused(path, SecretFileUnreadableError)
    return
  }
  // root reads anything: run the check as user "nobody" in a child process, so the EACCES
  // comes from the file itself, the folders on the way being traversable
  fs.chmodSync(root, 0o711)
  const dist = new URL('../dist/index.js', import.meta.url).href
  const script = `
    const { readSecretFile, readSecretFileSync, loadOrCreateSecretFile } = await import(${JSON.stringify(dist)})
    const path = ${JSON.stringify(path)}
    const seen = []
    for (const run of [() => readSecretFile(path), async () => readSecretFileSync(path), () => loadOrCreateSecretFile(path)]) {
      try { await run(); seen.push('loaded') } catch (err) { seen.push(err.name + ':' + err.cause?.code) }
    }
    console.log(JSON.stringify(seen))`
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    uid: 65534,
    gid: 65534,
    encoding: 'utf8',
  })
  assert.equal(child.status, 0, child.stderr)
  assert.deepEqual(JSON.parse(child.stdout), Array(3).fill('SecretFileUnreadableError:EACCES'))
  assert.deepEqual(fs.readFileSync(path), before)
})
