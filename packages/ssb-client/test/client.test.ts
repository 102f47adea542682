import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { connectClient, defaultRemote, ServerNotRunningError } from '@scuttlekit/ssb-client'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { type ServerConfig, type SsbServer, startServer } from '@scuttlekit/ssb-server'
import { freePort } from '@scuttlekit/test-support'
import { pino } from 'pino'

const SHS = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('connectClient against a running server', () => {
  let config: ServerConfig
  let server: SsbServer
  before(async () => {
    const path = await mkdtemp(join(tmpdir(), 'ssb-client-test-'))
    config = {
      path,
      keys: generateKeys(),
      caps: { shs: SHS },
      host: '127.0.0.1',
      port: await freePort(),
    }
    server = await startServer({ config, logger: pino({ level: 'silent' }) })
  })
  after(async () => {
    await server.close()
    await rm(config.path, { recursive: true, force: true })
  })

  test('prefers the unix socket, and falls back to TCP as our own key', async () => {
    const remote = defaultRemote(config, config.keys)
    assert.ok(remote.startsWith(`unix:${join(config.path, 'socket')}~noauth;net:127.0.0.1:`))
    const client = await connectClient({ config })
    try {
      assert.equal(client.address, remote)
      assert.deepEqual(await client.whoami(), { id: server.id })
    } finally {
      await client.close()
    }
  })

  for (const via of ['unix', 'net'] as const) {
    test(`typed calls over ${via}`, async () => {
      const remote =
        via === 'unix'
          ? `unix:${join(config.path, 'socket')}~noauth`
          : `net:127.0.0.1:${config.port}~shs:${config.keys.public.replace('.ed25519', '')}`
      const client = await connectClient({ config, remote })
      try {
        assert.equal(client.remoteId, server.id)
        assert.equal(client.typeOf('createHistoryStream'), 'source')
        assert.equal(client.typeOf('multiserver.parse'), 'sync')
        assert.equal(client.typeOf('multiserver'), undefined)
        assert.equal(client.typeOf('nope.nothing'), undefined)
        const msg = await client.publish({ type: 'post', text: via })
        assert.equal(msg.value.author, server.id)
        assert.deepEqual(await client.get(msg.key), msg.value)
        assert.equal(await client.latestSequence(server.id), msg.value.sequence)
        const hist = await toArray(client.createHistoryStream({ id: server.id }))
        assert.equal(hist.length, msg.value.sequence)
        const who = (await (client.invoke('whoami', []) as Promise<{ id: string }>)).id
        assert.equal(who, server.id)
        assert.throws(() => client.invoke('nope', []), { name: 'UnknownMethodError' })
        await assert.rejects(client.call('latestSequence', '@x'), { name: 'ParamTypeError' })
      } finally {
        await client.close()
      }
    })
  }

  test('a given manifest skips the manifest call', async () => {
    const client = await connectClient({ config, manifest: { whoami: 'sync' } })
    try {
      assert.deepEqual(client.manifest, { whoami: 'sync' })
      assert.equal(client.typeOf('publish'), undefined)
    } finally {
      await client.close()
    }
  })
})

test('no server: ServerNotRunningError naming host and port', async () => {
  const path = await mkdtemp(join(tmpdir(), 'ssb-client-none-'))
  const port = await freePort()
  try {
    await assert.rejects(
      connectClient({ config: { path, keys: generateKeys(), host: '127.0.0.1', port } }),
      (err: Error) => {
        assert.ok(err instanceof ServerNotRunningError)
        assert.equal(err.message, `Could not connect to ssb-server 127.0.0.1:${port}`)
        return true
      },
    )
  } finally {
    await rm(path, { recursive: true, force: true })
  }
})
