/**
 * Worker thread body: verifies packed chunks of ed25519 signatures (layout in verify-codec.ts)
 * and posts back one result byte per item. It says `{ready: true}` once it has booted; until
 * then the pool verifies on the calling thread.
 *
 * CommonJS that loads sodium-native alone: an ES module worker importing @scuttlekit/ssb-keys
 * took about 70 ms to boot and 14 MB of memory; this one about 40 ms and 9 MB.
 */
import sodium = require('sodium-native')
import workerThreads = require('node:worker_threads')

interface Job {
  id: number
  packed: Uint8Array
  count: number
}

const ITEM_HEADER = 4 + 32 + 64

/**
 * Verifies every item of `packed`, writing 1 (valid) or 0 into `results`. Malformed packing
 * stops early (the items left stay 0). Every key is 32 bytes and every signature 64, the sizes
 * libsodium requires.
 */
function verifyPacked(packed: Uint8Array, results: Uint8Array): void {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength)
  let at = 0
  for (let n = 0; n < results.length && at + ITEM_HEADER <= packed.length; n++) {
    const end = at + ITEM_HEADER + view.getUint32(at, true)
    if (end > packed.length) break
    const pk = packed.subarray(at + 4, at + 36)
    const sig = packed.subarray(at + 36, at + ITEM_HEADER)
    results[n] = sodium.crypto_sign_verify_detached(sig, packed.subarray(at + ITEM_HEADER, end), pk)
      ? 1
      : 0
    at = end
  }
}

const port = workerThreads.parentPort
port?.on('message', (job: Job) => {
  const results = new Uint8Array(job.count)
  verifyPacked(job.packed, results)
  port.postMessage({ id: job.id, results }, [results.buffer])
})
port?.postMessage({ ready: true })
