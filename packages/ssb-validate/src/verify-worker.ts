/**
 * Worker thread body: verifies packed chunks of ed25519 signatures (see verify-codec.ts) and
 * posts back one result byte per item.
 */
import { parentPort } from 'node:worker_threads'
import { verifyDetached } from '@scuttlekit/ssb-keys'
import { verifyPacked } from './verify-codec.js'

interface Job {
  id: number
  packed: Uint8Array
  count: number
}

parentPort?.on('message', (job: Job) => {
  const results = new Uint8Array(job.count)
  verifyPacked(job.packed, results, 0, verifyDetached)
  parentPort!.postMessage({ id: job.id, results }, [results.buffer])
})
