'use strict'
/**
 * Child process of db.bench.ts: one scenario against npm ssb-db 20.4.1. Prints one
 * `RESULT {json}` line.
 *
 *   node db-ref.cjs <scenario> <json options>
 *
 * `opts.setup` picks how the database is set up:
 * - 'server' (default): as ssb-server 16's `ssb-server start` does — ssb-server's index
 *   (secret-stack + ssb-caps, ssb-db) with the plugins of its bin.js that keep indexes of their
 *   own or hook the database (ssb-private1, ssb-master, ssb-gossip, ssb-replicate, ssb-friends,
 *   ssb-query, ssb-links, ssb-ebt, ssb-ooo). The ones that only listen on the network or serve
 *   files (onion, unix-socket, no-auth, plugins, blobs, invite, local, logging, ws) are left out,
 *   and no incoming or outgoing connections are configured.
 * - 'bare': secret-stack + ssb-caps, ssb-db and ssb-private1 only.
 */
const fs = require('node:fs')
const { performance } = require('node:perf_hooks')
const caps = require('ssb-caps')
const ssbKeys = require('ssb-keys')
const pull = require('pull-stream')

const [scenario, optsJson] = process.argv.slice(2)
const opts = JSON.parse(optsJson || '{}')

const setup = opts.setup || 'server'

function open(dir, keys) {
  if (setup === 'bare') {
    const SecretStack = require('secret-stack')
    return SecretStack({ caps }).use(require('ssb-db')).use(require('ssb-private1'))({
      path: dir,
      keys,
    })
  }
  if (setup !== 'server') throw new Error(`unknown setup ${setup}`)
  const create = require('ssb-server')
    .use(require('ssb-private1'))
    .use(require('ssb-master'))
    .use(require('ssb-gossip'))
    .use(require('ssb-replicate'))
    .use(require('ssb-friends'))
    .use(require('ssb-query'))
    .use(require('ssb-links'))
    .use(require('ssb-ebt'))
    .use(require('ssb-ooo'))
  return create({ path: dir, keys, caps, connections: { incoming: {}, outgoing: {} } })
}

const call = (fn) =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))))
const close = (sbot) => call((cb) => sbot.close(cb))

/** Runs `task(i)` for i in [0, n) with at most `width` outstanding. */
async function windowed(n, width, task) {
  let next = 0
  async function lane() {
    while (next < n) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane))
}

const readFixture = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))

/** Waits until every flume view has caught up with the log. */
async function untilSynced(sbot) {
  await call((cb) => sbot.getVectorClock(cb))
  while (!sbot.status().sync.sync) await new Promise((r) => setTimeout(r, 5))
}

function count(source) {
  return new Promise((resolve, reject) => {
    let n = 0
    pull(
      source,
      pull.drain(
        () => {
          n++
        },
        (err) => (err ? reject(err) : resolve(n)),
      ),
    )
  })
}

function first(source) {
  return call((cb) => pull(source, pull.take(1), pull.collect(cb))).then((xs) => xs[0])
}

async function addAll(sbot, msgs, width) {
  await windowed(msgs.length, width, (i) => call((cb) => sbot.add(msgs[i], cb)))
}

const scenarios = {
  async publish() {
    const keys = ssbKeys.generate('ed25519', Buffer.alloc(32, 7))
    const sbot = open(opts.dir, keys)
    await untilSynced(sbot)
    await windowed(opts.warmup || 0, opts.window, (i) =>
      call((cb) => sbot.publish({ type: 'post', text: `warm-up ${i} ${opts.textPad}` }, cb)),
    )
    const t0 = performance.now()
    await windowed(opts.count, opts.window, (i) =>
      call((cb) => sbot.publish({ type: 'post', text: postText(i) }, cb)),
    )
    const ms = performance.now() - t0
    await close(sbot)
    return { ms, count: opts.count }
  },

  async add() {
    const msgs = readFixture(opts.fixture)
    const sbot = open(opts.dir, ssbKeys.generate('ed25519', Buffer.alloc(32, 7)))
    await untilSynced(sbot)
    if (opts.warmupFixture) await addAll(sbot, readFixture(opts.warmupFixture), opts.window)
    const t0 = performance.now()
    await addAll(sbot, msgs, opts.window)
    const ms = performance.now() - t0
    await close(sbot)
    return { ms, count: msgs.length }
  },

  async read() {
    const msgs = readFixture(opts.fixture)
    const sbot = open(opts.dir, ssbKeys.generate('ed25519', Buffer.alloc(32, 7)))
    await addAll(sbot, msgs, opts.window)
    await untilSynced(sbot)
    const authors = [...new Set(msgs.map((m) => m.author))]
    // Steady-state read rate: the best of three passes (the first pays for JIT warm-up).
    let historyMs = Number.POSITIVE_INFINITY
    let logMs = Number.POSITIVE_INFINITY
    let history = 0
    let log = 0
    for (let pass = 0; pass < 3; pass++) {
      let t0 = performance.now()
      history = 0
      for (const id of authors) history += await count(sbot.createHistoryStream({ id }))
      historyMs = Math.min(historyMs, performance.now() - t0)
      t0 = performance.now()
      log = await count(sbot.createLogStream())
      logMs = Math.min(logMs, performance.now() - t0)
    }
    await close(sbot)
    if (history !== msgs.length || log !== msgs.length) {
      throw new Error(`read back ${history} / ${log} of ${msgs.length}`)
    }
    return { historyMs, logMs, count: msgs.length }
  },

  /** Setup for reopen: load the big fixture, let the views catch up, close. Not timed. */
  async build() {
    const msgs = readFixture(opts.fixture)
    const sbot = open(opts.dir, ssbKeys.generate('ed25519', Buffer.alloc(32, 7)))
    const t0 = performance.now()
    await addAll(sbot, msgs, opts.window)
    await untilSynced(sbot)
    const ms = performance.now() - t0
    await close(sbot)
    return { ms, count: msgs.length }
  },

  /**
   * Opened store answers: getLatest and createHistoryStream({id, limit: 1}) have answered and
   * every flume view reports itself in sync (until then other queries may see stale indexes).
   */
  async reopen() {
    const t0 = performance.now()
    const sbot = open(opts.dir, ssbKeys.generate('ed25519', Buffer.alloc(32, 7)))
    let queriesMs = 0
    const queries = Promise.all([
      call((cb) => sbot.getLatest(opts.author, cb)),
      first(sbot.createHistoryStream({ id: opts.author, limit: 1 })),
    ]).then((answers) => {
      queriesMs = performance.now() - t0
      return answers
    })
    const [[latest, item]] = await Promise.all([queries, untilSynced(sbot)])
    const ms = performance.now() - t0
    const sinceStart = performance.now()
    if (!latest || latest.value.sequence !== opts.expectSequence || !item) {
      throw new Error('reopened store did not answer as expected')
    }
    await close(sbot)
    return { ms, sinceStart, queriesMs }
  },
}

/** The same text both sides publish: `message N` and padding chosen by the parent. */
function postText(i) {
  return `message ${i} ${opts.textPad}`
}

const run = scenarios[scenario]
if (!run) throw new Error(`unknown scenario ${scenario}`)
run().then(
  (result) => {
    process.stdout.write(
      `RESULT ${JSON.stringify({ ...result, maxRSS: process.resourceUsage().maxRSS })}\n`,
    )
    // secret-stack can leave timers behind
    process.exit(0)
  },
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
