/**
 * Validate-and-id throughput on one 10,000-message feed: ours (single thread, and the batch path
 * on every core) against npm ssb-validate 4.1.4 in the same run, with the single-core
 * sodium-native verify rate as the ceiling. Prints figures; asserts nothing.
 *
 *   npm run build && npm run bench:validate --workspace bench
 */
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { generateKeys, signingInput } from '@scuttlekit/ssb-keys'
import {
  createMessage,
  defaultVerifyPool,
  type FeedState,
  type MsgValue,
  nextState,
  validateBatch,
  validateMessage,
} from '@scuttlekit/ssb-validate'
import sodium from 'sodium-native'
import { fmtRate, medianMs, printTable, rate } from './lib/measure.js'

const require = createRequire(import.meta.url)
const refValidate = require('ssb-validate') as {
  initial(): object
  append(state: object, hmac: null, msg: unknown): object
}

const N = Number(process.env.BENCH_MESSAGES ?? 10_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 5)

// A feed of realistic posts (about 450 bytes each, some non-ASCII), made once.
const keys = generateKeys(Buffer.alloc(32, 42))
const feed: MsgValue[] = []
let state: FeedState | null = null
for (let i = 0; i < N; i++) {
  const content = {
    type: 'post',
    text: `Message ${i}: a walk along the shore, ${'gr\u00fc\u00dfe '.repeat(i % 5)}the tide was out and the gulls were loud.`,
    root: i > 0 ? feed[Math.floor(i / 2)]!.previous : undefined,
    mentions: [],
    channel: 'beach',
  }
  const created = createMessage(state, keys, content, 1_700_000_000_000 + i)
  feed.push(created.value)
  state = { id: created.id, sequence: i + 1, timestamp: created.value.timestamp }
}
const avgBytes = Math.round(
  feed.reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m, null, 2)), 0) / N,
)

// Ceiling: sodium-native ed25519 verify alone, one core, over the same messages' signing inputs.
const pk = Buffer.from(keys.public.slice(0, 44), 'base64')
const inputs = feed.map((m) => {
  const { signature, ...rest } = m
  return {
    sig: Buffer.from(signature.slice(0, 88), 'base64'),
    bytes: signingInput(JSON.stringify(rest, null, 2)),
  }
})
const ceilingMs = await medianMs(RUNS, () => {
  for (const { sig, bytes } of inputs) {
    if (!sodium.crypto_sign_verify_detached(sig, bytes, pk)) throw new Error('bad fixture')
  }
})

const refMs = await medianMs(RUNS, () => {
  const s = refValidate.initial()
  for (const m of feed) refValidate.append(s, null, m)
})

const oursMs = await medianMs(RUNS, () => {
  let s: FeedState | null = null
  for (const m of feed) {
    const v = validateMessage(s, m)
    if (!v.ok) throw v.error
    s = nextState(v)
  }
})

// warm the pool's workers before timing the batch path
await validateBatch(feed.slice(0, 1000))
const batchMs = await medianMs(RUNS, async () => {
  const { verdicts } = await validateBatch(feed)
  if (!verdicts.every((v) => v.ok)) throw new Error('batch rejected a valid message')
})
await defaultVerifyPool().close()

const ceiling = rate(N, ceilingMs)
const ref = rate(N, refMs)
const ours = rate(N, oursMs)
const batch = rate(N, batchMs)
printTable(
  `validate + id, ${N.toLocaleString('en-US')} messages of one feed (~${avgBytes} B each), ` +
    `median of ${RUNS}, ${availableParallelism()} cores`,
  [
    ['sodium-native verify only (ceiling, 1 core)', fmtRate(ceiling)],
    ['npm ssb-validate 4.1.4 append', fmtRate(ref)],
    ['ours, validateMessage (1 thread)', fmtRate(ours)],
    ['ours, validateBatch (all cores)', fmtRate(batch)],
    ['ours / reference, single thread', `${(ours / ref).toFixed(2)}x  (target >= 1.5x)`],
    ['ours / reference, batch on all cores', `${(batch / ref).toFixed(2)}x`],
    ['reference / ceiling', `${((ref / ceiling) * 100).toFixed(1)}%`],
    ['ours / ceiling', `${((ours / ceiling) * 100).toFixed(1)}%  (target >= 80%)`],
    ['batch / ours single-thread', `${(batch / ours).toFixed(2)}x  (target >= 1.6x on 2 cores)`],
  ],
)
