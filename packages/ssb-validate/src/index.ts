/**
 * @packageDocumentation
 * Creation and validation of classic SSB messages, byte for byte as the network does it
 * (`ssb-validate` 4.1.4's verdicts, quirks included), with a batch path that verifies signatures
 * on every core.
 *
 * ```ts
 * import { generateKeys } from '@scuttlekit/ssb-keys'
 * import { createMessage, validateMessage, validateBatch } from '@scuttlekit/ssb-validate'
 *
 * const keys = generateKeys()
 * const first = createMessage(null, keys, { type: 'post', text: 'hello' }, Date.now())
 * const verdict = validateMessage(null, first.value)
 * if (verdict.ok) console.log(verdict.id === first.id) // true
 *
 * const { verdicts, states } = await validateBatch(messagesFromAPeer, { state: (feed) => db.latest(feed) })
 * ```
 *
 * Drop-in names for npm `ssb-validate` users (`initial`, `append`, `appendOOO`, `queue`,
 * `validate`, `create`, `id`, `checkInvalidCheap`, …) are exported alongside.
 */
export * from './batch.js'
export {
  contentError,
  encode as encodeMessage,
  isEncrypted,
  isInvalidHmacKey,
  isSignatureOfAuthorCurve,
  isValidOrder,
  MAX_MESSAGE_LENGTH,
  shapeError,
} from './checks.js'
export * from './compat.js'
export * from './create.js'
export * from './errors.js'
export { monotonicTimestamp } from './timestamp.js'
export type * from './types.js'
export {
  type Accepted,
  checkState,
  nextState,
  type Prepared,
  prepare,
  type Rejected,
  resolveHmacKey,
  type ValidateOptions,
  type Verdict,
  validateMessage,
  validateMessageOOO,
  verdictOf,
  verifyPrepared,
} from './validate.js'
export * from './verify-pool.js'
