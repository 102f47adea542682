/**
 * Disk-full writer, run under `ulimit -f` so that the log cannot grow past a size (writes past it
 * fail with EFBIG, as they would with ENOSPC). Publishes large messages until one fails, checks
 * that every acknowledged one can still be read, then tries a few small ones (which may fit in
 * what is left). Prints `A <key>` per acknowledged write, `E <error name>` per failed one and
 * `R ok` (or `R <what failed>`) for the read check.
 *
 * Run: node --import tsx test/helpers/fill-disk.ts <dir> <seed>
 */
import { openDb } from '@scuttlekit/ssb-db'
import { generateKeys } from '@scuttlekit/ssb-keys'

const [dir, seed] = process.argv.slice(2)
if (!dir || !seed) throw new Error('usage: fill-disk.ts <dir> <seed>')
const silent = { warn() {}, info() {}, debug() {}, error() {} }
const db = await openDb({ path: dir, keys: generateKeys(seed), logger: silent })
const acked: string[] = []
const out = (line: string) => process.stdout.write(`${line}\n`)

const publish = async (content: Record<string, unknown>): Promise<boolean> => {
  try {
    const kvt = await db.publish(content)
    acked.push(kvt.key)
    out(`A ${kvt.key}`)
    return true
  } catch (err) {
    out(`E ${(err as Error).name}`)
    return false
  }
}

for (let i = 0; i < 10_000; i++) {
  if (!(await publish({ type: 'post', text: `${i} ${'z'.repeat(6000)}` }))) break
}
let read = 'ok'
try {
  for (const key of acked) await db.get(key)
  let n = 0
  for await (const _ of db.createLogStream()) n++
  if (n !== acked.length) read = `log stream has ${n} of ${acked.length}`
} catch (err) {
  read = (err as Error).name
}
out(`R ${read}`)
for (let i = 0; i < 3; i++) await publish({ type: 'post', text: `small ${i}` })
await db.close()
