/**
 * The sequence index (`c`): where each message of a feed is in the log, by sequence. One level
 * entry holds a block of {@link BLOCK} consecutive sequences of one feed, `[author, block]` →
 * their 6-byte log offsets side by side (0 for none: no record starts inside the log's header).
 *
 * An entry per message would cost a level entry per history item read back (about 1.4 µs each
 * through `nextv`, as much as parsing the message); a block costs that per 64 items. On the
 * write side a commit group puts each block it touched once.
 */
import { indexKey } from './keys.js'

/** Sequences per block. */
export const BLOCK = 64
const SLOT = 6

/** The block that holds `seq` (sequences start at 1). */
export function blockOf(seq: number): number {
  return Math.floor((seq - 1) / BLOCK)
}

/** The level key of block `block` of `feed`. */
export function blockKey(feed: string, block: number): Buffer {
  return indexKey('c', [feed, block])
}

/** How many slots the stored block `value` holds. */
export function slotsIn(value: Uint8Array): number {
  return Math.floor(value.length / SLOT)
}

/** The offset in slot `slot` of the stored block `value`; 0 when empty. */
export function slotAt(value: Uint8Array, slot: number): number {
  const at = slot * SLOT
  if (at + SLOT > value.length) return 0
  // 6 bytes big-endian, as the other indexes store offsets
  return (
    (value[at]! * 0x10000 + value[at + 1]! * 0x100 + value[at + 2]!) * 0x1000000 +
    (value[at + 3]! * 0x10000 + value[at + 4]! * 0x100 + value[at + 5]!)
  )
}

/** The offset of `seq` in `value`, the stored block that holds it. */
export function offsetIn(value: Uint8Array, seq: number): number {
  return slotAt(value, seq - 1 - blockOf(seq) * BLOCK)
}

interface Cached {
  feed: string
  block: number
  key: Buffer
  /** BLOCK slots; `used` of them are meaningful, the rest zero */
  buf: Buffer
  used: number
  dirty: boolean
}

/** What {@link SeqIndex} needs of level. */
interface Store {
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>
}

/** What {@link SeqIndex.flush} writes into. */
interface Batch {
  put(key: Buffer, value: Buffer): unknown
  del(key: Buffer): unknown
}

/**
 * The writer's side: the blocks being written, kept between groups (a feed's next message
 * usually lands in the block its last one did), so that appending to a block rarely reads it
 * back from level first. Every change goes through {@link SeqIndex.set}, then
 * {@link SeqIndex.flush} into the group's batch; callers serialise their writes.
 */
export class SeqIndex {
  /** feed → block number → block */
  private readonly feeds = new Map<string, Map<number, Cached>>()
  /** every block held, least recently used first */
  private readonly recent = new Set<Cached>()
  /** the block used last: a run of one feed's messages skips the lookups */
  private last: Cached | undefined
  private readonly dirty: Cached[] = []

  constructor(
    private readonly store: Store,
    /** blocks kept once written (the least recently used go first) */
    private readonly keep = 4096,
  ) {}

  private get(feed: string, block: number): Cached | undefined {
    const last = this.last
    if (last !== undefined && last.block === block && last.feed === feed) return last
    return this.feeds.get(feed)?.get(block)
  }

  private add(c: Cached): void {
    let blocks = this.feeds.get(c.feed)
    if (blocks === undefined) {
      blocks = new Map()
      this.feeds.set(c.feed, blocks)
    }
    blocks.set(c.block, c)
    this.recent.add(c)
  }

  /**
   * Reads from level the blocks that `set` will need for these messages (`author`, `sequence`)
   * and that are not held: one round trip for all of them. For appends (`removing` false) a
   * block whose first slot is being written is not read: nothing can be stored after it yet.
   * Returns undefined, at once, when there is nothing to read.
   */
  load(
    msgs: Iterable<{ author: string; sequence: number }>,
    removing = false,
  ): Promise<void> | undefined {
    // blocks not held, by name: to read, or (undefined) begun by an earlier message of `msgs`
    let missing: Map<string, [string, number] | undefined> | undefined
    for (const { author, sequence } of msgs) {
      const block = blockOf(sequence)
      if (this.get(author, block) !== undefined) continue
      const name = nameOf(author, block)
      missing ??= new Map()
      if (missing.has(name)) continue
      const begun = !removing && sequence - 1 - block * BLOCK === 0
      missing.set(name, begun ? undefined : [author, block])
    }
    const want = missing ? [...missing.values()].filter((w) => w !== undefined) : []
    if (want.length === 0) return undefined
    return this.store.getMany(want.map(([feed, block]) => blockKey(feed, block))).then((values) => {
      for (let i = 0; i < want.length; i++) {
        const [feed, block] = want[i]!
        // set() may have made it meanwhile; what it holds is newer
        if (this.get(feed, block) === undefined) this.add(fromStored(feed, block, values[i]))
      }
    })
  }

  /**
   * Puts `offset` (0: removes) in the slot of `[feed, seq]`. The block must have been
   * {@link SeqIndex.load}ed, unless an offset goes into the first slot of its block.
   */
  set(feed: string, seq: number, offset: number): void {
    const block = blockOf(seq)
    const slot = seq - 1 - block * BLOCK
    let c = this.get(feed, block)
    if (c === undefined) {
      if (slot !== 0 || offset === 0) {
        throw new Error(
          `sequence block ${nameOf(feed, block)} was not loaded before its slot ${slot} was set`,
        )
      }
      c = {
        feed,
        block,
        key: blockKey(feed, block),
        buf: Buffer.alloc(BLOCK * SLOT),
        used: 0,
        dirty: false,
      }
      this.add(c)
    } else if (c !== this.last) {
      // most recently used last
      this.recent.delete(c)
      this.recent.add(c)
    }
    this.last = c
    c.buf.writeUIntBE(offset, slot * SLOT, SLOT)
    if (offset !== 0 && slot >= c.used) c.used = slot + 1
    else if (offset === 0 && slot === c.used - 1) {
      while (c.used > 0 && slotAt(c.buf, c.used - 1) === 0) c.used--
    }
    if (!c.dirty) {
      c.dirty = true
      this.dirty.push(c)
    }
  }

  /** Writes every changed block into `batch` (an emptied block is deleted). */
  flush(batch: Batch): void {
    for (const c of this.dirty) {
      c.dirty = false
      if (c.used === 0) batch.del(c.key)
      // level copies the bytes at put: the buffer can go on changing
      else batch.put(c.key, c.buf.subarray(0, c.used * SLOT))
    }
    this.dirty.length = 0
  }

  /** After a batch was written: forgets the least recently used blocks beyond `keep`. */
  trim(): void {
    let over = this.recent.size - this.keep
    if (over <= 0) return
    for (const c of this.recent) {
      if (over <= 0) break
      if (c.dirty) continue
      this.recent.delete(c)
      const blocks = this.feeds.get(c.feed)!
      blocks.delete(c.block)
      if (blocks.size === 0) this.feeds.delete(c.feed)
      if (this.last === c) this.last = undefined
      over--
    }
  }

  /** Forgets everything (the index was cleared, or a batch failed and level never got it). */
  clear(): void {
    this.feeds.clear()
    this.recent.clear()
    this.last = undefined
    this.dirty.length = 0
  }
}

/** A block's name, to tell blocks apart in a load and in errors (a feed id has no space). */
function nameOf(feed: string, block: number): string {
  return `${block} ${feed}`
}

function fromStored(feed: string, block: number, value: Buffer | undefined): Cached {
  const buf = Buffer.alloc(BLOCK * SLOT)
  let used = 0
  if (value !== undefined) {
    value.copy(buf, 0, 0, Math.min(value.length, buf.length))
    used = Math.min(slotsIn(value), BLOCK)
    while (used > 0 && slotAt(buf, used - 1) === 0) used--
  }
  return { feed, block, key: blockKey(feed, block), buf, used, dirty: false }
}
