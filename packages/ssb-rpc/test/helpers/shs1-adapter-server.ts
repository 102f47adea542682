/**
 * The server-role program that `shs1testserver` (npm shs1-test 1.1.1) drives: argv holds the
 * network key, our long-term secret key and public key in hex; the client's messages arrive on
 * stdin and ours go to stdout. A misbehaving client makes us exit non-zero without writing
 * another byte; a good one gets msg4 followed by our outcome
 * (encryptKey ‖ encryptNonce ‖ decryptKey ‖ decryptNonce, 112 bytes).
 */
import { HandshakeError } from '../../src/errors-shs.js'
import { MSG1_BYTES, MSG3_BYTES, ServerHandshakeCore } from '../../src/handshake.js'

/** Exactly `length` bytes from stdin; exits non-zero if stdin ends first. */
function readExactly(length: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const onReadable = (): void => {
      const bytes = process.stdin.read(length) as Buffer | null
      if (bytes === null) return
      process.stdin.off('readable', onReadable)
      process.stdin.off('end', onEnd)
      resolve(bytes)
    }
    const onEnd = (): void => process.exit(1)
    process.stdin.on('readable', onReadable)
    process.stdin.on('end', onEnd)
    onReadable()
  })
}

/** Writes the last bytes, then exits cleanly once they are flushed. */
function exitWith(bytes: Buffer): void {
  process.stdout.write(bytes, () => process.exit(0))
}

const [appHex, secretHex, publicHex] = process.argv.slice(2)
const core = new ServerHandshakeCore({
  keys: { publicKey: Buffer.from(publicHex!, 'hex'), secretKey: Buffer.from(secretHex!, 'hex') },
  appKey: Buffer.from(appHex!, 'hex'),
})

try {
  core.verifyMsg1(await readExactly(MSG1_BYTES))
  process.stdout.write(core.createMsg2())
  core.verifyMsg3(await readExactly(MSG3_BYTES))
  const msg4 = core.createMsg4()
  const k = core.sessionKeys()
  exitWith(Buffer.concat([msg4, k.encryptKey, k.encryptNonce, k.decryptKey, k.decryptNonce]))
} catch (error) {
  process.stderr.write(error instanceof HandshakeError ? '' : `${String(error)}\n`)
  process.exit(1)
}
