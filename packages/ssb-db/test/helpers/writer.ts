/**
 * Crash-test writer: opens the database at argv[2] and writes forever until it is killed, printing
 * one line per acknowledged write to stdout (`A <key>`) only after its promise resolved. Several
 * publishes of our own feed are in flight at once, and a second loop adds chained messages of a
 * foreign feed (argv[4] is its seed), one at a time and in batches. Prints `ready` once open.
 *
 * Run: node --import tsx test/helpers/writer.ts <dir> <own seed> <foreign seed>
 */
import { openDb } from '@scuttlekit/ssb-db'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { createMessage, type FeedState } from '@scuttlekit/ssb-validate'

const [dir, ownSeed, foreignSeed] = process.argv.slice(2)
if (!dir || !ownSeed || !foreignSeed) throw new Error('usage: writer.ts <dir> <own> <foreign>')
const own = generateKeys(ownSeed)
const foreign = generateKeys(foreignSeed)
const silent = { warn() {}, info() {}, debug() {}, error() {} }

/** Lines go out synchronously (stdout is a pipe: synchronous on Linux), so none is lost at kill. */
function ack(key: string): void {
  process.stdout.write(`A ${key}\n`)
}

const db = await openDb({ path: dir, keys: own, logger: silent })
process.stdout.write('ready\n')

const IN_FLIGHT = 6
let n = 0

async function publisher(lane: number): Promise<void> {
  for (;;) {
    const i = n++
    const content =
      i % 11 === 0
        ? { type: 'post', text: `secret ${i}`, recps: [own.id] }
        : i % 5 === 0
          ? {
              type: 'vote',
              vote: { link: `%${Buffer.alloc(32, i % 256).toString('base64')}.sha256` },
            }
          : { type: 'post', text: `lane ${lane} #${i} ${'x'.repeat((i * 97) % 3000)}` }
    const kvt = await db.publish(content)
    ack(kvt.key)
  }
}

async function foreigner(): Promise<void> {
  for (let round = 0; ; round++) {
    const s = await db.getFeedState(foreign.id)
    let state: FeedState | null = s.id ? { id: s.id, sequence: s.sequence, timestamp: 0 } : null
    const count = round % 2 === 0 ? 1 : 4
    const msgs = []
    for (let j = 0; j < count; j++) {
      const m = createMessage(
        state,
        foreign,
        { type: 'contact', contact: own.id, following: j % 2 === 0, round },
        Date.now(),
      )
      msgs.push(m.value)
      state = { id: m.id, sequence: m.value.sequence, timestamp: 0 }
    }
    if (count === 1) {
      ack((await db.add(msgs[0])).key)
    } else {
      for (const r of await db.addBatch(msgs)) {
        if (!r.ok) throw r.error
        ack(r.kvt.key)
      }
    }
  }
}

const loops = [foreigner()]
for (let lane = 0; lane < IN_FLIGHT; lane++) loops.push(publisher(lane))
await Promise.all(loops)
