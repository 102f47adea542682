// Temporary homes, working directories and /etc folders for loading configuration in tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import {
  type LoadConfigOptions,
  loadConfig,
  type SsbConfigWithoutKeys,
} from '@scuttlekit/ssb-config'

/** A throw-away file system layout: `root/home`, `root/etc`, `root/work/project/sub` (cwd). */
export interface Sandbox {
  root: string
  home: string
  etc: string
  cwd: string
  /** Writes `text` at `path` (relative to root), creating folders; returns the absolute path. */
  write(path: string, text: string): string
  /** `loadConfig` with nothing taken from the process: no env, no argv, no secret created. */
  load(options?: LoadConfigOptions): SsbConfigWithoutKeys
}

const sandboxes: string[] = []

export function sandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'ssb-config-test-'))
  sandboxes.push(root)
  const home = join(root, 'home')
  const etc = join(root, 'etc')
  const cwd = join(root, 'work', 'project', 'sub')
  for (const dir of [home, etc, cwd]) mkdirSync(dir, { recursive: true })
  return {
    root,
    home,
    etc,
    cwd,
    write(path, text) {
      const full = join(root, path)
      mkdirSync(dirname(full), { recursive: true })
      writeFileSync(full, text)
      return full
    },
    load(options = {}) {
      return loadConfig({
        homeDir: home,
        etcDir: etc,
        cwd,
        env: {},
        argv: [],
        createSecret: false,
        ...options,
      } as LoadConfigOptions & { createSecret: false })
    },
  }
}

/** Removes every sandbox made so far. */
export function cleanSandboxes(): void {
  for (const root of sandboxes.splice(0)) rmSync(root, { recursive: true, force: true })
}
