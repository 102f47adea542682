// The windowed log reader against plain reads, at every alignment of records to the window:
// a record whose header ends exactly at the window's end was once reported as damaged, which
// made index-driven streams skip it.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
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
        const { payload, next } = reader.readWithNext(offset)
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
