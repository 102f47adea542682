// The windowed log reader against plain reads, at every alignment of records to the window:
// a record whose header ends exactly at the window's end was once reported as damaged, which
// made index-driven streams skip it.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { crc32 } from 'node:zlib'
import { LOG_START, Log, type Logger } from '@scuttlekit/ssb-db'

const silent: Logger = { warn() {}, info() {}, debug() {}, error() {} }

test('windowed reads equal plain reads for every window size and record alignment', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'log-reader-'))
  const log = await Log.open(join(dir, 'log'), silent)
  try {
    // payloads of many sizes, so that record boundaries fall everywhere in small windows
    const payloads = Array.from({ length: 300 }, (_, i) =>
      Buffer.from(JSON.stringify({ i, pad: 'x'.repeat((i * 7) % 53) })),
    )
    const offsets = await log.write(payloads)
    await log.sync(LOG_START)
    let checked = 0
    for (let window = 24; window <= 160; window++) {
      // sequential, as the log-scan path reads
      const reader = log.reader(window)
      let offset = offsets[0]!
      for (let i = 0; i < payloads.length; i++) {
        const payload = reader.read(offset)
        const next = reader.next
        assert.deepEqual(payload, payloads[i], `window ${window}, record ${i}`)
        offset = next
        checked++
      }
      // jumping, as index-driven streams read (every third record, then backwards)
      const jumper = log.reader(window)
      for (let i = 0; i < payloads.length; i += 3) {
        assert.deepEqual(jumper.read(offsets[i]!), payloads[i], `window ${window}, jump ${i}`)
      }
      for (let i = payloads.length - 1; i >= 0; i -= 5) {
        assert.deepEqual(jumper.read(offsets[i]!), payloads[i], `window ${window}, back ${i}`)
      }
    }
    assert.ok(checked > 40_000)
  } finally {
    await log.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('records follow the documented format: zlib CRC-32 of the length field, then the payload', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'log-format-'))
  const file = join(dir, 'log')
  try {
    // a log written by hand, from the format in decision 0003 and zlib alone
    const payloads = [Buffer.from('{"a":1}'), Buffer.alloc(0), Buffer.from('é'.repeat(300))]
    const parts = [Buffer.from('SCUTTLOG\x01\x00\x00\x00\x00\x00\x00\x00', 'latin1')]
    for (const p of payloads) {
      const head = Buffer.alloc(12)
      head.write('SKR1', 0, 'latin1')
      head.writeUInt32LE(p.length, 4)
      head.writeUInt32LE(crc32(Buffer.concat([head.subarray(4, 8), p])), 8)
      parts.push(head, p)
    }
    await writeFile(file, Buffer.concat(parts))
    const log = await Log.open(file, silent)
    try {
      const read: Buffer[] = []
      for await (const rec of log.scan()) read.push(rec.payload!)
      assert.deepEqual(read, payloads)
      const reader = log.reader(64)
      let offset = LOG_START
      for (const p of payloads) {
        assert.deepEqual(reader.read(offset), p)
        assert.deepEqual(await log.read(offset), p)
        offset = reader.next
      }
      // and what the log writes is the same bytes
      const before = (await readFile(file)).length
      await log.write(payloads)
      await log.sync(before)
      const all = await readFile(file)
      assert.deepEqual(all.subarray(before), Buffer.concat(parts.slice(1)))
    } finally {
      await log.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
