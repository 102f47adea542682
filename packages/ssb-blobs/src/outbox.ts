/**
 * The stream of want/have frames we send a peer on the `createWants` it opened on us
 * (`ssb-protocol.md` §6.3). Updates that the peer has not read yet are merged per blob id, so a
 * peer that never reads costs at most one entry per distinct id, and a large backlog goes out in
 * frames of bounded size.
 */

/** The most ids one frame carries; more wait for the next frame. */
export const MAX_IDS_PER_FRAME = 1000

/** One peer's outgoing want/have frames. */
export class WantOutbox {
  private pending = new Map<string, number>()
  private wake: (() => void) | undefined
  private ended = false

  /** `initial` is the first frame (our whole want map); it goes out even when empty (`{}`). */
  constructor(private initial: Map<string, number> | null) {}

  /** Queues `{id: value}` entries; a later value for the same id replaces an unsent one. */
  push(entries: Iterable<readonly [string, number]>): void {
    if (this.ended) return
    for (const [id, value] of entries) this.pending.set(id, value)
    if (this.pending.size > 0) this.wakeUp()
  }

  /** Queues one entry. */
  set(id: string, value: number): void {
    if (this.ended) return
    this.pending.set(id, value)
    this.wakeUp()
  }

  /** Ends the stream after what was already taken. */
  end(): void {
    this.ended = true
    this.pending.clear()
    this.wakeUp()
  }

  get isEnded(): boolean {
    return this.ended
  }

  /** Entries queued and not yet sent. */
  get backlog(): number {
    return this.pending.size
  }

  private wakeUp(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /** The frames, each a plain object of id → integer. Ends when {@link end} is called. */
  async *frames(signal?: AbortSignal): AsyncGenerator<Record<string, number>> {
    const onAbort = () => this.end()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      if (this.initial) {
        const first = this.initial
        this.initial = null
        const ids = [...first]
        let i = 0
        do {
          yield Object.fromEntries(ids.slice(i, i + MAX_IDS_PER_FRAME))
          i += MAX_IDS_PER_FRAME
        } while (i < ids.length && !this.ended)
      }
      while (!this.ended) {
        if (this.pending.size === 0) {
          await new Promise<void>((resolve) => {
            this.wake = resolve
          })
          continue
        }
        const frame: Record<string, number> = {}
        let n = 0
        for (const [id, value] of this.pending) {
          frame[id] = value
          this.pending.delete(id)
          if (++n >= MAX_IDS_PER_FRAME) break
        }
        yield frame
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      this.end()
    }
  }
}
