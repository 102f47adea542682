/**
 * Decrypting private messages on the read path (§5 of ssb-protocol.md), as ssb-db 20 with
 * ssb-private1 presents them, with a cache so that a message is opened at most once per
 * `cacheSize` reads. Content that does not open (not for us, malformed, poison) is "not for me":
 * the message is returned unchanged; nothing here throws on message content.
 */
import { type Keys, unboxBodyWithKey, unboxKeyOf } from '@scuttlekit/ssb-keys'
import type { KVT, MsgValue } from '@scuttlekit/ssb-validate'

/** The decrypted form of a message value, as ssb-db 20 decorates it. */
export interface UnboxedValue extends Omit<MsgValue, 'content'> {
  content: unknown
  meta: { original: { content: string }; private: true; unbox: string }
  cyphertext: string
  private: true
  unbox: string
}

/** Tells boxed content by its suffix, as ssb-private1 does (only strings ending in `.box`). */
export function isBoxed(content: unknown): content is string {
  return typeof content === 'string' && content.endsWith('.box')
}

/** A small LRU of message id → unbox key (or `false`: not for us). */
export class Unboxer {
  private cache = new Map<string, Buffer | false>()

  constructor(
    private readonly keys: Keys,
    private readonly cacheSize = 4096,
  ) {}

  /** The unbox key of `kvt` for our keys, cached; `undefined` when it is not for us. */
  keyOf(key: string, content: string): Buffer | undefined {
    const hit = this.cache.get(key)
    if (hit !== undefined) {
      this.cache.delete(key)
      this.cache.set(key, hit)
      return hit === false ? undefined : hit
    }
    let found: Buffer | undefined
    try {
      found = unboxKeyOf(content, this.keys)
    } catch {
      found = undefined
    }
    this.cache.set(key, found ?? false)
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    return found
  }

  /** The plaintext content of `kvt`, or `undefined`. */
  content(kvt: KVT, readKey?: Uint8Array | string): unknown {
    const c = kvt.value.content
    if (!isBoxed(c) && readKey === undefined) return undefined
    if (typeof c !== 'string') return undefined
    const key = readKey ?? this.keyOf(kvt.key, c)
    if (key === undefined) return undefined
    const plain = unboxBodyWithKey(c, key)
    return plain === null || typeof plain !== 'object' ? undefined : plain
  }

  /**
   * `kvt` decorated as ssb-db 20 returns a decrypted message (`meta.original`, `meta.private`,
   * `meta.unbox`, and the legacy `cyphertext`/`private`/`unbox` mirrors), or `kvt` itself.
   */
  decorate(kvt: KVT, readKey?: Uint8Array | string): KVT<MsgValue | UnboxedValue> {
    const c = kvt.value.content
    if (typeof c !== 'string') return kvt
    const key = readKey ?? (isBoxed(c) ? this.keyOf(kvt.key, c) : undefined)
    if (key === undefined) return kvt
    const plain = unboxBodyWithKey(c, key)
    if (plain === undefined || plain === null || typeof plain !== 'object') return kvt
    const unbox = typeof key === 'string' ? key : Buffer.from(key).toString('base64')
    const value = { ...kvt.value } as unknown as UnboxedValue
    value.content = plain
    value.meta = { original: { content: c }, private: true, unbox }
    value.cyphertext = c
    value.private = true
    value.unbox = unbox
    return { key: kvt.key, value: value as never, timestamp: kvt.timestamp }
  }
}
