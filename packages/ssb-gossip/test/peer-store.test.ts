import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadPeerFile, savePeerFile } from '../src/index.js'
import { fakePeer, startNode, type TestNode, until } from './helpers/servers.js'

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssb-gossip-store-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('savePeerFile writes atomically and loadPeerFile reads it back', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'gossip.json')
  assert.deepEqual(await loadPeerFile(file), { records: [] }, 'missing file: empty')
  await savePeerFile(file, [{ a: 1 }])
  await savePeerFile(file, [{ a: 2 }, { b: 3 }])
  assert.deepEqual((await loadPeerFile(file)).records, [{ a: 2 }, { b: 3 }])
  assert.deepEqual(await readdir(dir), ['gossip.json'], 'no temporary files left')
})

test('a corrupt or wrongly shaped file is set aside and gives an empty table', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'gossip.json')
  for (const content of ['{"not": "an array"}', '[{"host": "trunc', '', '\u0000\u0001garbage']) {
    await writeFile(file, content)
    const loaded = await loadPeerFile(file)
    assert.deepEqual(loaded.records, [])
    assert.ok(loaded.problem, JSON.stringify(content))
    assert.equal(await readFile(`${file}.corrupt`, 'utf8'), content)
    await rm(`${file}.corrupt`)
  }
})

test('the plugin saves the table (LAN peers and state excluded) and loads it at start', async (t) => {
  const seed = fakePeer()
  const pub = fakePeer()
  const lan = fakePeer()
  const node = await startNode({
    config: { seeds: [`net:127.0.0.1:1~shs:${seed.key}`], gossip: { global: false, seed: false } },
  })
  let again: TestNode | undefined
  t.after(async () => {
    await again?.stop()
    await node.destroy()
  })
  node.gossip.add(`net:10.2.3.4:8008~shs:${pub.key}`, 'pub')
  node.gossip.add(`net:10.2.3.5:8008~shs:${lan.key}`, 'local')
  const file = join(node.path, 'gossip.json')
  const saved = await until(
    async () => {
      const text = await readFile(file, 'utf8').catch(() => '[]')
      const records = JSON.parse(text) as Record<string, unknown>[]
      return records.length === 2 ? records : undefined
    },
    3000,
    'gossip.json written',
  )
  assert.deepEqual(saved.map((r) => r.key).sort(), [seed.id, pub.id].sort())
  for (const r of saved) {
    assert.equal(r.state, undefined)
    assert.equal(typeof r.host, 'string')
    assert.equal(typeof r.port, 'number')
    assert.equal(typeof r.address, 'string')
  }
  await node.stop()

  // restart without the seed in the config: the stored peers come back as `stored`
  again = await startNode({
    path: node.path,
    keys: node.keys,
    config: { gossip: { global: false } },
  })
  const peers = again.gossip.peers()
  assert.deepEqual(peers.map((p) => p.key).sort(), [seed.id, pub.id].sort())
  assert.ok(peers.every((p) => p.source === 'stored'))
  assert.equal(again.gossip.get(lan.id), undefined)
})

test('a reference gossip.json (and the old host/port/key form) is read', async (t) => {
  const dir = await tempDir(t)
  const a = fakePeer()
  const b = fakePeer()
  const stats = { mean: 12000, stdev: 0, count: 1, sum: 12000, sqsum: 144000000 }
  // the shape ssb-gossip 1.1.1 writes (reference-features.md §4)
  const reference = [
    {
      host: '10.0.0.9',
      port: 8008,
      key: a.id,
      address: `net:10.0.0.9:8008~shs:${a.key}`,
      source: 'pub',
      announcers: 2,
      duration: stats,
      stateChange: 1_700_000_000_000,
      failure: 0,
      client: true,
      ping: { rtt: { mean: 3, stdev: 0, count: 1, sum: 3, sqsum: 9 }, skew: stats },
    },
    { host: '10.0.0.10', port: 8008, key: b.id },
    { host: 'bad' },
    'junk',
  ]
  await writeFile(join(dir, 'gossip.json'), JSON.stringify(reference))
  const node = await startNode({ path: dir, config: { gossip: { global: false } } })
  t.after(() => node.destroy())
  const pa = node.gossip.get(a.id)!
  assert.equal(pa.source, 'stored')
  assert.equal(pa.announcers, 2)
  assert.deepEqual(pa.duration, stats)
  assert.equal(pa.ping?.rtt.mean, 3)
  assert.equal(node.gossip.get(b.id)!.address, `net:10.0.0.10:8008~shs:${b.key}`)
  assert.equal(node.gossip.peers().length, 2)
})

test('a corrupt gossip.json at start: the server starts with an empty table and rewrites it', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'gossip.json'), '[{"host": "10.0.0.1", "port": 80')
  const node = await startNode({ path: dir, config: { gossip: { global: false } } })
  t.after(() => node.destroy())
  assert.deepEqual(node.gossip.peers(), [])
  assert.ok((await readdir(dir)).includes('gossip.json.corrupt'))
  const p = fakePeer()
  node.gossip.add(`net:10.0.0.1:8008~shs:${p.key}`, 'pub')
  await until(
    async () => {
      const text = await readFile(join(dir, 'gossip.json'), 'utf8').catch(() => '')
      return text.includes(p.id)
    },
    3000,
    'rewritten',
  )
})
