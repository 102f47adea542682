/** Test helpers: in-memory stdio for `main`, temp dirs, free ports. */

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable, Writable } from 'node:stream'
import type { CliIo } from '../src/cli.js'

/** A writable that keeps what it is given, and can wait for some text to appear. */
export class Collector extends Writable {
  private chunks: Buffer[] = []
  private waiters: Array<{ re: RegExp; resolve: () => void }> = []
  isTTY = false

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk))
    const text = this.text()
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(text)) return true
      w.resolve()
      return false
    })
    cb()
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks)
  }

  /** Resolves once the collected text matches `re`. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<void> {
    if (re.test(this.text())) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${re} in: ${this.text()}`)),
        timeoutMs,
      )
      this.waiters.push({
        re,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      })
    })
  }
}

/** Stdio for one `main` call: stdin is `input` (or an idle terminal), stdout/stderr collected. */
export function makeIo(
  options: {
    input?: string | Buffer
    signal?: AbortSignal
    env?: NodeJS.ProcessEnv
    cwd?: string
  } = {},
): CliIo & { stdout: Collector; stderr: Collector } {
  const stdin =
    options.input === undefined
      ? Object.assign(new PassThrough(), { isTTY: true })
      : Object.assign(Readable.from([Buffer.from(options.input)]), { isTTY: false })
  return {
    stdin,
    stdout: new Collector(),
    stderr: new Collector(),
    env: options.env ?? {},
    cwd: options.cwd,
    signal: options.signal,
  }
}

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ssb-cli-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** A TCP port nobody listens on right now. */
export { freePort } from '@scuttlekit/test-support'
