/** Test helpers: a connected TCP socket pair on 127.0.0.1 and sessions over it. */

import { once } from 'node:events'
import net from 'node:net'
import type { FeedId } from '@scuttlekit/ssb-ref'
import { RpcSession, type RpcSessionOptions } from '../../src/rpc-session.js'
import type { CallHandler, RpcLimits } from '../../src/types.js'

export const ALICE = '@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519' as FeedId
export const BOB = '@BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=.ed25519' as FeedId

/** Two ends of one TCP connection over loopback; the listening server is closed already. */
export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const client = net.connect(port, '127.0.0.1')
  await once(client, 'connect')
  const [serverSide] = await accepted
  server.close()
  client.setNoDelay(true)
  serverSide.setNoDelay(true)
  return [client, serverSide]
}

export interface SessionPairOptions {
  readonly clientHandler?: CallHandler
  readonly serverHandler?: CallHandler
  readonly clientLimits?: Partial<RpcLimits>
  readonly serverLimits?: Partial<RpcLimits>
  readonly logger?: RpcSessionOptions['logger']
}

/** Two of our sessions talking over a real TCP connection. */
export async function sessionPair(
  opts: SessionPairOptions = {},
): Promise<{ client: RpcSession; server: RpcSession; close(): Promise<void> }> {
  const [a, b] = await socketPair()
  const client = new RpcSession({
    stream: a,
    info: { remoteId: BOB },
    ...(opts.clientHandler ? { handler: opts.clientHandler } : {}),
    ...(opts.clientLimits ? { limits: opts.clientLimits } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  })
  const server = new RpcSession({
    stream: b,
    info: { remoteId: ALICE },
    ...(opts.serverHandler ? { handler: opts.serverHandler } : {}),
    ...(opts.serverLimits ? { limits: opts.serverLimits } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  })
  return {
    client,
    server,
    async close() {
      await Promise.all([client.close(), server.close()])
      a.destroy()
      b.destroy()
    },
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Collects an async iterable into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const v of it) out.push(v)
  return out
}

/** Waits until `check()` is true, polling every few ms; throws after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time')
    await delay(2)
  }
}
