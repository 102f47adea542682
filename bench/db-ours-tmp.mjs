/**
 * Child process of db.bench.ts: one scenario against @scuttlekit/ssb-db. Prints one
 * `RESULT {json}` line.
 *
 * The parent strips the types and runs this with plain `node --input-type=module -e` (the tsx
 * loader alone adds about 50 MB of RSS, which would swamp the memory comparison), so it imports
 * nothing at run time but packages; the scenario and options come in BENCH_SCENARIO and
 * BENCH_OPTS. It can also be run by hand: `node --import tsx db-ours.ts <scenario> <json>`.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openDb } from '@scuttlekit/ssb-db';
import { generateKeys } from '@scuttlekit/ssb-keys';
const scenario = process.env.BENCH_SCENARIO ?? process.argv[2] ?? '';
const opts = JSON.parse(process.env.BENCH_OPTS ?? process.argv[3] ?? '{}');
/** The identity that owns the database: the same seed as the reference side uses. */
const ownKeys = generateKeys(Buffer.alloc(32, 7));
/** Runs `task(i)` for i in [0, n) keeping at most `width` calls outstanding. */
async function windowed(n, width, task) {
    let next = 0;
    async function lane() {
        while (next < n)
            await task(next++);
    }
    await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}
const readFixture = (file) => JSON.parse(readFileSync(file, 'utf8'));
async function addWindowed(db, msgs, width) {
    await windowed(msgs.length, width, (i) => db.add(msgs[i]));
}
async function addChunks(db, msgs, chunk) {
    for (let i = 0; i < msgs.length; i += chunk) {
        const results = await db.addBatch(msgs.slice(i, i + chunk));
        const bad = results.find((r) => !r.ok);
        if (bad && !bad.ok)
            throw bad.error;
    }
}
async function count(items) {
    let n = 0;
    for await (const _ of items)
        n++;
    return n;
}
async function first(items) {
    for await (const item of items)
        return item;
    return undefined;
}
const scenarios = {
    async publish() {
        const db = await openDb({ path: opts.dir, keys: ownKeys });
        await windowed(opts.warmup ?? 0, opts.window, (i) => db.publish({ type: 'post', text: `warm-up ${i} ${opts.textPad}` }));
        const t0 = performance.now();
        await windowed(opts.count, opts.window, (i) => db.publish({ type: 'post', text: `message ${i} ${opts.textPad}` }));
        const ms = performance.now() - t0;
        await db.close();
        return { ms, count: opts.count };
    },
    async add() {
        const msgs = readFixture(opts.fixture);
        const db = await openDb({ path: opts.dir, keys: ownKeys });
        if (opts.warmupFixture)
            await addWindowed(db, readFixture(opts.warmupFixture), opts.window);
        const t0 = performance.now();
        await addWindowed(db, msgs, opts.window);
        const ms = performance.now() - t0;
        await db.close();
        return { ms, count: msgs.length };
    },
    async addBatch() {
        const msgs = readFixture(opts.fixture);
        const db = await openDb({ path: opts.dir, keys: ownKeys });
        if (opts.warmupFixture)
            await addChunks(db, readFixture(opts.warmupFixture), opts.chunk);
        const t0 = performance.now();
        await addChunks(db, msgs, opts.chunk);
        const ms = performance.now() - t0;
        await db.close();
        return { ms, count: msgs.length };
    },
    async read() {
        const msgs = readFixture(opts.fixture);
        const db = await openDb({ path: opts.dir, keys: ownKeys });
        await addWindowed(db, msgs, opts.window);
        const authors = [...new Set(msgs.map((m) => m.author))];
        // Steady-state read rate: the best of three passes (the first pays for JIT warm-up).
        let historyMs = Number.POSITIVE_INFINITY;
        let logMs = Number.POSITIVE_INFINITY;
        let history = 0;
        let log = 0;
        for (let pass = 0; pass < 3; pass++) {
            let t0 = performance.now();
            history = 0;
            for (const id of authors)
                history += await count(db.createHistoryStream({ id }));
            historyMs = Math.min(historyMs, performance.now() - t0);
            t0 = performance.now();
            log = await count(db.createLogStream());
            logMs = Math.min(logMs, performance.now() - t0);
        }
        await db.close();
        if (history !== msgs.length || log !== msgs.length) {
            throw new Error(`read back ${history} / ${log} of ${msgs.length}`);
        }
        return { historyMs, logMs, count: msgs.length };
    },
    /** Setup for reopen: load the big fixture and close. Not timed. */
    async build() {
        const msgs = readFixture(opts.fixture);
        const db = await openDb({ path: opts.dir, keys: ownKeys });
        const t0 = performance.now();
        await addChunks(db, msgs, opts.chunk);
        const ms = performance.now() - t0;
        await db.close();
        return { ms, count: msgs.length };
    },
    async reopen() {
        const t0 = performance.now();
        const db = await openDb({ path: opts.dir, keys: ownKeys });
        const id = opts.author;
        const [latest, item] = await Promise.all([
            db.getLatest(id),
            first(db.createHistoryStream({ id, limit: 1 })),
        ]);
        const ms = performance.now() - t0;
        const sinceStart = performance.now();
        if (!latest || latest.value.sequence !== opts.expectSequence || !item) {
            throw new Error('reopened store did not answer as expected');
        }
        await db.close();
        return { ms, sinceStart };
    },
};
const run = scenarios[scenario];
if (!run)
    throw new Error(`unknown scenario ${scenario}`);
try {
    const result = await run();
    process.stdout.write(`RESULT ${JSON.stringify({ ...result, maxRSS: process.resourceUsage().maxRSS })}\n`);
    process.exit(0);
}
catch (err) {
    console.error(err);
    process.exit(1);
}
