/**
 * The language-independent SHS test suite (npm shs1-test 1.1.1) in both roles. It spawns our
 * adapter programs (test/helpers/shs1-adapter-*.ts) once per case, 45 cases per role, and
 * drives them over stdin/stdout, well-behaved and misbehaving.
 *
 * Starting 90 processes under tsx costs ~25 s of CPU, so the adapters are first bundled into
 * plain ESM files with the esbuild that tsx itself runs on (about 10x faster to start). If
 * esbuild cannot be found, we fall back to `node --import tsx`.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const helpers = fileURLToPath(new URL('./helpers/', import.meta.url))
const dir = await mkdtemp(join(tmpdir(), 'ssb-rpc-shs1-'))
after(() => rm(dir, { recursive: true, force: true }))

interface EsbuildPlugin {
  name: string
  setup(build: {
    onResolve(
      options: { filter: RegExp },
      callback: () => { path: string; external: boolean },
    ): void
  }): void
}
type Esbuild = { build(options: Record<string, unknown>): Promise<unknown> }

function findEsbuild(): Esbuild | undefined {
  try {
    return createRequire(require.resolve('tsx'))('esbuild') as Esbuild
  } catch {
    return undefined
  }
}

/** An executable file that runs the adapter for `role`. */
async function makeAdapter(role: 'client' | 'server'): Promise<string> {
  const entry = join(helpers, `shs1-adapter-${role}.ts`)
  const esbuild = findEsbuild()
  let path: string
  if (esbuild) {
    path = join(dir, `${role}.mjs`)
    const sodiumPath = require.resolve('sodium-native')
    const keepSodiumExternal: EsbuildPlugin = {
      name: 'sodium-native-external',
      setup(build) {
        // the native addon stays where it is installed; everything else is inlined
        build.onResolve({ filter: /^sodium-native$/ }, () => ({ path: sodiumPath, external: true }))
      },
    }
    await esbuild.build({
      entryPoints: [entry],
      outfile: path,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      banner: { js: `#!${process.execPath}` },
      plugins: [keepSodiumExternal],
    })
  } else {
    path = join(dir, role)
    const tsx = require.resolve('tsx')
    await writeFile(
      path,
      `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${entry}" "$@"\n`,
    )
  }
  await chmod(path, 0o755)
  return path
}

/** Runs one shs1-test script against `adapter`; its exit code and output. */
function runSuite(
  script: 'test-server.js' | 'test-client.js',
  adapter: string,
  seed: string,
): Promise<{ code: number | null; output: string }> {
  const harness = require.resolve(`shs1-test/${script}`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [harness, adapter, seed], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

test('shs1-test passes in both roles', { timeout: 50_000 }, async () => {
  const [server, client] = await Promise.all([makeAdapter('server'), makeAdapter('client')])
  const seed = String(Math.floor(Math.random() * 2 ** 31))
  const [s, c] = await Promise.all([
    runSuite('test-server.js', server, seed),
    runSuite('test-client.js', client, seed),
  ])
  assert.equal(s.code, 0, `server role, seed ${seed}:\n${s.output}`)
  assert.match(s.output, /Passed the server test suite/)
  assert.equal(c.code, 0, `client role, seed ${seed}:\n${c.output}`)
  assert.match(c.output, /Passed the client test suite/)
})
