import { openDb } from '@scuttlekit/ssb-db'
import { generateKeys } from '@scuttlekit/ssb-keys'
import { readFileSync, rmSync, existsSync } from 'node:fs'
const dir = '/tmp/rdb'
const msgs = JSON.parse(readFileSync('/tmp/fix/foreign-10k.json', 'utf8'))
const fresh = !existsSync(dir)
const db = await openDb({ path: dir, keys: generateKeys(Buffer.alloc(32, 7)) })
if (fresh) await db.addBatch(msgs)
const authors = [...new Set(msgs.map((m) => m.author))]
const mode = process.argv[2] ?? 'both'
for (let pass = 0; pass < Number(process.argv[3] ?? 20); pass++) {
  let t = performance.now(); let n = 0
  if (mode !== 'log') { for (const id of authors) for await (const _ of db.createHistoryStream({ id })) n++
  const h = performance.now() - t; if (pass % 5 === 0) console.log('history', Math.round(n / h * 1000)) }
  t = performance.now(); n = 0
  if (mode !== 'history') { for await (const _ of db.createLogStream()) n++
  const l = performance.now() - t; if (pass % 5 === 0) console.log('log', Math.round(n / l * 1000)) }
}
await db.close()
