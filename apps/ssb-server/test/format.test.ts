import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import { dbHelp } from '@scuttlekit/ssb-server'
import { formatItem, formatResult } from '../src/output.js'
import { CLEAR_LINE, progressLine, progressRatio, watchProgress } from '../src/progress.js'
import { deepUsage, helpAt, quickUsage } from '../src/usage.js'

const require = createRequire(import.meta.url)
// muxrpc-usage is what muxrpcli prints help with; resolve it the way muxrpcli does.
const usageOracle = createRequire(require.resolve('muxrpcli'))('muxrpc-usage') as {
  quick(api: unknown, path?: string[]): string
  deep(api: unknown, path?: string[], prefix?: string[]): string
}

describe('output', () => {
  it('async/sync results: pretty JSON and a newline, as muxrpcli', () => {
    assert.equal(formatResult({ id: '@a.ed25519' }), '{\n  "id": "@a.ed25519"\n}\n')
    assert.equal(formatResult('20.4.1'), '"20.4.1"\n')
    assert.equal(formatResult(7), '7\n')
    assert.equal(formatResult(false), 'false\n')
    assert.equal(formatResult(null), 'null\n')
    assert.equal(formatResult([1, 2]), '[\n  1,\n  2\n]\n')
    assert.equal(formatResult(undefined), undefined)
  })

  it('stream items: pretty JSON and a blank line; bytes raw', () => {
    assert.equal(formatItem({ a: 1 }), '{\n  "a": 1\n}\n\n')
    assert.equal(formatItem('x'), '"x"\n\n')
    const bytes = Buffer.from([0, 1, 2, 255])
    assert.equal(formatItem(bytes), bytes)
  })

  it('--ndjson: one compact JSON value per line', () => {
    const mode = { ndjson: true }
    assert.equal(formatResult({ a: { b: [1, 2] } }, mode), '{"a":{"b":[1,2]}}\n')
    assert.equal(formatResult(undefined, mode), undefined)
    assert.equal(formatItem({ a: 'x\ny' }, mode), '{"a":"x\\ny"}\n')
    const bytes = Buffer.from('raw')
    assert.equal(formatItem(bytes, mode), bytes)
  })
})

const sample = {
  description: 'sample group',
  commands: {
    add: {
      type: 'async',
      description: 'add a peer',
      single: 'address',
      args: {
        host: { type: 'string', description: 'the host', optional: false },
        port: { type: 'number', description: 'the port', default: 8008, optional: true },
        key: { type: 'FeedId', description: 'their key' },
      },
    },
    peers: { type: 'sync', description: 'list peers', args: {} },
  },
}

describe('usage text, against muxrpc-usage 2.1.0', () => {
  it('quick usage of a group and of a command', () => {
    for (const help of [dbHelp, sample]) {
      assert.equal(quickUsage(help, []), usageOracle.quick(help, []))
      for (const name of Object.keys(help.commands)) {
        const cmd = (help.commands as Record<string, { args?: object }>)[name]
        if (!cmd?.args) continue // muxrpc-usage crashes on commands without args
        assert.equal(quickUsage(help, [name]), usageOracle.quick(help, [name]), name)
      }
    }
  })

  it('deep usage of every command, and of whole groups with a prefix', () => {
    for (const help of [dbHelp, sample]) {
      for (const name of Object.keys(help.commands)) {
        const cmd = (help.commands as Record<string, { args?: object }>)[name]
        if (!cmd?.args) continue
        assert.equal(deepUsage(help, [name]), usageOracle.deep(help, [name]), name)
        assert.equal(
          deepUsage(help, [name], ['gossip']),
          usageOracle.deep(help, [name], ['gossip']),
          name,
        )
      }
    }
    assert.equal(deepUsage(sample, [], ['gossip']), usageOracle.deep(sample, [], ['gossip']))
    assert.match(deepUsage(sample, ['add'], ['gossip']), /^gossip\.add \{address\} # add a peer\n/)
    assert.match(deepUsage(sample, ['add']), /--port \[number=8008\]\? # the port/)
  })

  it('handles what muxrpc-usage cannot: commands without args, unknown paths', () => {
    const help = { description: 'd', commands: { whoami: { type: 'sync', description: 'who' } } }
    assert.equal(quickUsage(help, ['whoami']), '')
    assert.equal(deepUsage(help, ['whoami']), 'whoami # who\n')
    assert.equal(helpAt(help, ['nope']), undefined)
    assert.equal(deepUsage(help, ['nope']), '')
    assert.equal(quickUsage(undefined, []), '')
  })
})

describe('progress bar', () => {
  it('ratio and line', () => {
    assert.equal(progressRatio({ start: 0, current: 5, target: 10 }), 0.5)
    assert.equal(progressRatio({ start: 10, current: 10, target: 10 }), 1)
    assert.equal(progressLine({ indexes: { start: 0, current: 10, target: 10 } }), undefined)
    assert.equal(progressLine({}), undefined)
    const line = progressLine({
      indexes: { start: 0, current: 25, target: 100 },
      other: 'not progress',
    })
    assert.equal(line, `\r${'*'.repeat(12)}${'.'.repeat(38)} (indexes:25.0%)\x1b[K\r`)
  })

  it('draws while behind, then clears the line and stops', async () => {
    const states = [
      { indexes: { start: 0, current: 0, target: 4 } },
      { indexes: { start: 0, current: 2, target: 4 } },
      { indexes: { start: 0, current: 2, target: 4 } },
      { indexes: { start: 0, current: 4, target: 4 } },
    ]
    let calls = 0
    const written: string[] = []
    const keepAlive = setInterval(() => {}, 1000) // the watcher's own timer is unref'd
    await new Promise<void>((resolve) => {
      watchProgress(
        () => {
          const state = states[Math.min(calls, states.length - 1)] as Record<string, unknown>
          calls += 1
          if (calls === states.length) setImmediate(resolve)
          return state
        },
        (text) => written.push(text),
        1,
      )
    })
    assert.equal(written.length, 3) // two distinct bars, then the clear
    assert.match(written[0] as string, /\(indexes:0\.0%\)/)
    assert.match(written[1] as string, /\(indexes:50\.0%\)/)
    assert.equal(written[2], CLEAR_LINE)
    const after = calls
    await new Promise((r) => setTimeout(r, 10))
    clearInterval(keepAlive)
    assert.equal(calls, after, 'stopped polling')
  })

  it('writes nothing when there is nothing to wait for', () => {
    const written: string[] = []
    const stop = watchProgress(
      () => ({ indexes: { start: 0, current: 1, target: 1 } }),
      (t) => written.push(t),
    )
    stop()
    assert.deepEqual(written, [])
  })
})
