/**
 * The packed form in which signature checks travel to verify workers: one transferable buffer
 * per chunk, so a chunk costs one message and no per-item cloning. The worker
 * (verify-worker.cts) reads it.
 *
 * Layout, repeated per item: u32 LE length of the signed bytes, 32-byte public key, 64-byte
 * signature, the signed bytes.
 */

/** One signature check. */
export interface VerifyItem {
  publicKey: Uint8Array
  signature: Uint8Array
  message: Uint8Array
}

const ITEM_HEADER = 4 + 32 + 64

/** Packs `items[start, end)` into one buffer. */
export function packItems(items: readonly VerifyItem[], start: number, end: number): Uint8Array {
  let size = 0
  for (let i = start; i < end; i++) size += ITEM_HEADER + items[i]!.message.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  for (let i = start; i < end; i++) {
    const item = items[i]!
    view.setUint32(at, item.message.length, true)
    out.set(item.publicKey, at + 4)
    out.set(item.signature, at + 36)
    out.set(item.message, at + ITEM_HEADER)
    at += ITEM_HEADER + item.message.length
  }
  return out
}
