import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { validateArgs } from '../src/validators.js'

const require = createRequire(import.meta.url)
// ssb-db 20.4.1's own argument checks, the oracle
const valid = require('ssb-db/lib/validators') as {
  async(fn: unknown, ...spec: unknown[]): (...args: unknown[]) => unknown
  source(fn: unknown, ...spec: unknown[]): (...args: unknown[]) => unknown
}

type Verdict = { name: string; message: string } | 'ok'

function reference(kind: 'async' | 'source', specs: string[][], args: unknown[]): Verdict {
  let verdict: Verdict = 'ok'
  if (kind === 'async') {
    const spec = specs.length === 1 ? specs[0]! : specs
    const fn = valid.async((...a: unknown[]) => (a.at(-1) as (e: null) => void)(null), ...spec)
    fn(...args, (err: Error | null) => {
      if (err) verdict = { name: err.name, message: err.message }
    })
  } else {
    const fn = valid.source(() => () => {}, ...(specs.length === 1 ? specs[0]! : specs))
    const source = fn(...args) as (abort: null, cb: (end: unknown) => void) => void
    if (typeof source === 'function') {
      source(null, (end) => {
        if (end instanceof Error) verdict = { name: end.name, message: end.message }
      })
    }
  }
  return verdict
}

function ours(specs: string[][], args: unknown[]): Verdict {
  try {
    validateArgs(args, ...specs)
    return 'ok'
  } catch (err) {
    const e = err as Error
    // the reference calls a parameter type error `TypeError`; ours is ParamTypeError
    return { name: e.name === 'ParamTypeError' ? 'TypeError' : e.name, message: e.message }
  }
}

const feed = '@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519'
const msgId = '%MPB9vxHO0pvi2ve2wh6Do05ZrV7P6ZjUQ+IEYnzLfTs=.sha256'
const goodMsg = {
  previous: msgId,
  author: feed,
  sequence: 2,
  timestamp: 1,
  hash: 'sha256',
  content: { type: 'post' },
  signature: 'x.sig.ed25519',
}

const cases: Array<[string, 'async' | 'source', string[][], unknown[][]]> = [
  [
    'publish',
    'async',
    [['string|msgContent']],
    [[{ type: 'post' }], [{}], [{ type: 3 }], [], [null], ['hi'], [5], [[1]]],
  ],
  [
    'add',
    'async',
    [['msg']],
    [
      [goodMsg],
      [{ ...goodMsg, timestamp: 'x' }],
      [{ ...goodMsg, content: 5 }],
      [{ ...goodMsg, content: {} }],
      [{ ...goodMsg, author: 'x' }],
      [{ ...goodMsg, sequence: '2' }],
      [{ ...goodMsg, previous: null }],
      [{ ...goodMsg, sequence: 1 }],
      [{ ...goodMsg, sequence: 1, previous: null }],
      [{ ...goodMsg, hash: 'blake' }],
      [{ ...goodMsg, signature: 1 }],
      [{ ...goodMsg, content: 'abc.box' }],
      ['str'],
      [],
    ],
  ],
  [
    'get',
    'async',
    [['msgLink|number|object']],
    [[msgId], [`${msgId}?unbox=abc`], [3], [0], [{ id: 1 }], ['nope'], [true]],
  ],
  ['del', 'async', [['msgLink|feedId']], [[msgId], [feed], ['x'], []]],
  ['latestSequence', 'async', [['feedId']], [[feed], ['@x'], [], [12]]],
  [
    'createLogStream',
    'source',
    [['readStreamOpts?']],
    [[], [{}], [{ live: 'yes' }], [{ limit: '5' }], [{ keys: 1 }], ['str'], [{ reverse: {} }]],
  ],
  [
    'createHistoryStream',
    'source',
    [['createHistoryStreamOpts'], ['feedId', 'number?', 'boolean?']],
    [
      [{ id: feed }],
      [{ id: feed, seq: 'x' }],
      [{ id: 'bad' }],
      [feed, 3],
      [feed, 'x'],
      [],
      [{ id: feed, live: 'y' }],
      [{ id: feed, limit: '1' }],
      [{ id: feed, values: 's' }],
    ],
  ],
  [
    'createUserStream',
    'source',
    [['createUserStreamOpts']],
    [[{ id: feed }], [{}], [{ id: feed, live: 's' }], []],
  ],
  [
    'messagesByType',
    'source',
    [['string|messagesByTypeOpts']],
    [['post'], [{ type: 'post' }], [{}], [{ type: 3 }], [], [{ type: 'x', limit: 'a' }]],
  ],
  [
    'links',
    'source',
    [['linksOpts']],
    [
      [{}],
      [{ source: feed }],
      [{ source: '@' }],
      [{ source: 'nope' }],
      [{ dest: 'x' }],
      [{ rel: 3 }],
      [{ live: 'x' }],
      [],
      ['str'],
    ],
  ],
]

test('argument checks answer exactly as ssb-db 20 does', () => {
  let compared = 0
  for (const [method, kind, specs, argsList] of cases) {
    for (const args of argsList) {
      const expected = reference(kind, specs, args)
      assert.deepEqual(ours(specs, args), expected, `${method}(${JSON.stringify(args)})`)
      compared++
    }
  }
  assert.ok(compared > 60)
})
