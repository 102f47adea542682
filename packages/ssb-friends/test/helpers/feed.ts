/** Another author's feed: signs its next messages for `db.add`, as a remote peer would. */
import { generateKeys, type Keys, messageId, signObject } from '@scuttlekit/ssb-keys'
import type { FeedId } from '@scuttlekit/ssb-ref'

export class Feed {
  readonly keys: Keys = generateKeys()
  private previous: string | null = null
  private sequence = 0

  get id(): FeedId {
    return this.keys.id as FeedId
  }

  /** The next signed message value of this feed. */
  next(content: Record<string, unknown>): Record<string, unknown> {
    const value = signObject(this.keys, {
      previous: this.previous,
      sequence: this.sequence + 1,
      author: this.keys.id,
      timestamp: Date.now(),
      hash: 'sha256',
      content,
    })
    this.previous = messageId(value)
    this.sequence++
    return value
  }

  /** The next message: a contact about `contact`. */
  contact(contact: string, rest: Record<string, unknown>): Record<string, unknown> {
    return this.next({ type: 'contact', contact, ...rest })
  }
}
