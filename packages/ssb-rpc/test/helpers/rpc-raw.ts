/** Test helpers: a raw peer that writes arbitrary bytes to one of our sessions and reads frames. */

import type net from 'node:net'
import { decodeBody, encodeValue, type Frame, FrameDecoder } from '../../src/packet-codec.js'
import { RpcSession } from '../../src/rpc-session.js'
import type { CallHandler, RpcLimits } from '../../src/types.js'
import { ALICE, socketPair, until } from './rpc-pair.js'

/** A frame as the raw peer received it, with its decoded value. */
export interface RawFrame extends Frame {
  readonly value: unknown
}

export interface RawPeer {
  /** Our session, serving on the other end. */
  readonly session: RpcSession
  readonly socket: net.Socket
  /** Every frame received so far. */
  readonly frames: RawFrame[]
  /** Whether a goodbye was received, and whether the socket ended or closed. */
  readonly state: { goodbye: boolean; ended: boolean }
  send(bytes: Uint8Array): void
  /** Sends one frame with a JSON / string / binary body chosen as muxrpc does. */
  sendValue(req: number, stream: boolean, end: boolean, value: unknown): void
  /** Waits for a frame with this request number (and returns it). */
  reply(req: number, timeoutMs?: number): Promise<RawFrame>
  destroy(): void
}

/** Connects a raw socket to a new session serving `handler` with `limits`. */
export async function rawPeer(
  handler?: CallHandler,
  limits?: Partial<RpcLimits>,
): Promise<RawPeer> {
  const [socket, serverSide] = await socketPair()
  const session = new RpcSession({
    stream: serverSide,
    info: { remoteId: ALICE },
    ...(handler ? { handler } : {}),
    ...(limits ? { limits } : {}),
  })
  const frames: RawFrame[] = []
  const state = { goodbye: false, ended: false }
  const decoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 * 1024 })
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk)
    for (let f = decoder.read(); f !== null; f = decoder.read())
      frames.push({ ...f, value: decodeBody(f) })
    if (decoder.goodbye) state.goodbye = true
  })
  socket.on('end', () => {
    state.ended = true
  })
  socket.on('close', () => {
    state.ended = true
  })
  socket.on('error', () => {})
  return {
    session,
    socket,
    frames,
    state,
    send: (bytes) => {
      socket.write(bytes)
    },
    sendValue: (req, stream, end, value) => {
      socket.write(encodeValue(req, stream, end, value))
    },
    async reply(req, timeoutMs = 5000) {
      await until(() => frames.some((f) => f.req === req), timeoutMs)
      return frames.find((f) => f.req === req)!
    },
    destroy: () => {
      socket.destroy()
      serverSide.destroy()
    },
  }
}

/** A 9-byte header with arbitrary fields. */
export function header(flags: number, length: number, req: number): Buffer {
  const head = Buffer.alloc(9)
  head[0] = flags
  head.writeUInt32BE(length >>> 0, 1)
  head.writeInt32BE(req, 5)
  return head
}
