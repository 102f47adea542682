/**
 * Tries to open the database at argv[2] and prints `opened` (then closes it) or the error's name.
 *
 * Run: node --import tsx test/helpers/try-open.ts <dir>
 */
import { openDb } from '@scuttlekit/ssb-db'
import { generateKeys } from '@scuttlekit/ssb-keys'

const dir = process.argv[2]
if (!dir) throw new Error('usage: try-open.ts <dir>')
const silent = { warn() {}, info() {}, debug() {}, error() {} }
try {
  const db = await openDb({ path: dir, keys: generateKeys('try-open'), logger: silent })
  process.stdout.write('opened\n')
  await db.close()
} catch (err) {
  process.stdout.write(`${(err as Error).name}\n`)
}
