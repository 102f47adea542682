#!/usr/bin/env node
/**
 * The `ssb-server` / `sbot` executable: runs {@link main} with the process's streams and exits
 * with its code. The first SIGINT or SIGTERM asks for a clean stop (the server closes its
 * database; a stream is cancelled); a second one exits at once.
 */

import { EXIT_INTERRUPTED, main } from './cli.js'

const controller = new AbortController()
let signals = 0
const onSignal = (name: NodeJS.Signals): void => {
  signals += 1
  if (signals > 1) process.exit(EXIT_INTERRUPTED)
  controller.abort(name)
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

// `ssb-server log | head`: the reader went away; that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

const code = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
})
process.exit(code)
