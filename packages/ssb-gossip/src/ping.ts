/**
 * `gossip.ping` (`ssb-protocol.md` §4.9), npm pull-ping's exchange: a duplex stream of
 * `Date.now()` numbers. The side that opens it sends a timestamp at once; the other answers
 * with its own `Date.now()` (not an echo) and, `timeout` later, pings back. A side that sent a
 * ping takes the next value as the answer and measures the round trip; any other value is a
 * ping to answer. The pings keep the connection busy, so the idle timeout never fires on a
 * healthy peer.
 */

import { performance } from 'node:perf_hooks'
import type { RpcSession } from '@scuttlekit/ssb-rpc'
import { Channel } from './internal/channel.js'
import type { PeerPing } from './peer-table.js'
import { addSample, emptyStats } from './stats.js'

/** pull-ping's and ssb-gossip's default interval: 5 minutes. */
export const DEFAULT_PING_TIMEOUT = 5 * 60_000

/**
 * The server's ping interval: `timers.ping` clamped to 10 s – 30 min, 5 min when unset
 * (ssb-gossip's rule; the caller's `{timeout}` argument is not used).
 */
export function pingTimeoutOf(configured: unknown): number {
  const t = typeof configured === 'number' && configured > 0 ? configured : DEFAULT_PING_TIMEOUT
  return Math.max(10_000, Math.min(t, 30 * 60_000))
}

/**
 * Serves one `gossip.ping` call: answers each ping in `input` with `Date.now()` and, `timeout`
 * after answering, pings back. The returned stream ends when `input` ends or `signal` aborts.
 */
export function servePing(
  input: AsyncIterable<unknown> | undefined,
  timeout: number,
  signal?: AbortSignal,
): AsyncIterable<number> {
  let timer: NodeJS.Timeout | undefined
  let serving = false
  const stop = () => {
    if (timer) clearTimeout(timer)
    timer = undefined
  }
  const out = new Channel<number>({ max: 16, onClose: stop })
  if (!input) {
    out.end()
    return out
  }
  const onAbort = () => out.end()
  signal?.addEventListener('abort', onAbort, { once: true })
  void (async () => {
    try {
      for await (const value of input) {
        if (out.done) break
        if (typeof value !== 'number') continue
        if (serving) {
          // the answer to our own ping; pull-ping measures it, the serving side needs nothing
          serving = false
          continue
        }
        out.push(Date.now())
        stop()
        timer = setTimeout(() => {
          timer = undefined
          serving = true
          out.push(Date.now())
        }, timeout)
        timer.unref()
      }
    } catch {
      // the connection went away; nothing to report
    } finally {
      signal?.removeEventListener('abort', onAbort)
      out.end()
    }
  })()
  return out
}

/**
 * Opens `gossip.ping` on a connection we dialled and keeps `ping` up to date: `rtt` gets a
 * sample for every answer to our pings (timed with the monotonic clock, so a loopback peer
 * measures a fraction of a millisecond rather than 0), `skew` the difference between the
 * peer's clock and the middle of the round trip. `fail` is set when the peer answers the call
 * with an error. Returns a function that stops pinging.
 */
export function measurePing(session: RpcSession, ping: PeerPing, timeout: number): () => void {
  let sentAt: number | undefined
  let sentDate = 0
  let timer: NodeJS.Timeout | undefined
  const out = new Channel<number>({ max: 16 })
  const send = () => {
    timer = undefined
    sentAt = performance.now()
    sentDate = Date.now()
    out.push(sentDate)
  }
  send()
  void (async () => {
    try {
      const replies = session.duplex(['gossip', 'ping'], [{ timeout }], out)
      for await (const value of replies) {
        if (typeof value !== 'number' || !Number.isFinite(value)) continue
        if (sentAt !== undefined) {
          const rtt = performance.now() - sentAt
          ping.rtt = addSample(ping.rtt, rtt)
          ping.skew = addSample(ping.skew, value - (sentDate + rtt / 2))
          sentAt = undefined
          delete ping.fail
        } else {
          out.push(Date.now())
          if (timer) clearTimeout(timer)
          timer = setTimeout(send, timeout)
          timer.unref()
        }
      }
    } catch {
      if (!session.isClosed) ping.fail = true
    } finally {
      if (timer) clearTimeout(timer)
      out.end()
    }
  })()
  return () => out.end()
}

/** A fresh {@link PeerPing} for a new connection. */
export function newPing(): PeerPing {
  return { rtt: emptyStats(), skew: emptyStats() }
}
