/** Test helpers: npm muxrpc 6.7.3 (the reference) on a net.Socket, with callback helpers. */

import { createRequire } from 'node:module'
import type net from 'node:net'
import type { Manifest } from '../../src/types.js'

const require = createRequire(import.meta.url)

/** A pull-stream source, sink, through or duplex, as far as these tests need to know. */
export type PullStream = unknown
type Callback = (err: unknown, value?: unknown) => void

interface PullApi {
  (...streams: PullStream[]): PullStream
  values(values: unknown[]): PullStream
  error(err: unknown): PullStream
  collect(cb: Callback): PullStream
  drain(op?: (value: unknown) => unknown, done?: (err: unknown) => void): PullStream
  map(fn: (value: unknown) => unknown): PullStream
  asyncMap(fn: (value: unknown, cb: Callback) => void): PullStream
  infinite(generate?: () => unknown): PullStream
  take(n: number): PullStream
}

export const pull = require('pull-stream') as PullApi
const MRPC = require('muxrpc') as (
  remoteManifest: Manifest,
  localManifest: Manifest,
  localApi: object,
  id: string,
  perms: unknown,
) => JsRpc
const toPull = require('stream-to-pull-stream') as {
  duplex(socket: net.Socket): { source: PullStream; sink: PullStream }
}

/** The muxrpc object: its manifest methods plus `close`, `closed` and events. */
export interface JsRpc {
  readonly stream: PullStream
  closed: boolean
  close(cb: (err?: unknown) => void): JsRpc
  on(event: 'closed', fn: () => void): void
  [method: string]: unknown
}

/** Runs npm muxrpc on `socket` serving `api` as `localManifest`, calling `remoteManifest`. */
export function jsMuxrpc(
  socket: net.Socket,
  remoteManifest: Manifest,
  localManifest: Manifest,
  api: object,
): JsRpc {
  const rpc = MRPC(remoteManifest, localManifest, api, '@remote', null)
  const duplex = toPull.duplex(socket)
  pull(duplex, rpc.stream, duplex)
  return rpc
}

/** Calls a callback-style function and resolves with `[err, value]`. */
export function callback(start: (cb: Callback) => void): Promise<[unknown, unknown]> {
  return new Promise((resolve) => start((err, value) => resolve([err, value])))
}

/** A method of the JS rpc object, typed loosely. */
export function method(rpc: JsRpc, name: string): (...args: unknown[]) => unknown {
  const fn = rpc[name]
  if (typeof fn !== 'function') throw new Error(`no method ${name}`)
  return fn as (...args: unknown[]) => unknown
}
