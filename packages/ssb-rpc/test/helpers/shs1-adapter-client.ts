/**
 * The client-role program that `shs1testclient` (npm shs1-test 1.1.1) drives: argv holds the
 * network key and the server's long-term public key in hex; we pick our own keys, write our
 * messages to stdout and read the server's from stdin. A misbehaving server makes us exit
 * non-zero without writing another byte; after a good msg4 we write our outcome
 * (encryptKey ‖ encryptNonce ‖ decryptKey ‖ decryptNonce, 112 bytes).
 */
import sodium from 'sodium-native'
import { HandshakeError } from '../../src/errors-shs.js'
import { ClientHandshakeCore, MSG2_BYTES, MSG4_BYTES } from '../../src/handshake.js'

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

const [appHex, serverHex] = process.argv.slice(2)
const publicKey = Buffer.alloc(32)
const secretKey = Buffer.alloc(64)
sodium.crypto_sign_keypair(publicKey, secretKey)

try {
  const core = new ClientHandshakeCore({
    keys: { publicKey, secretKey },
    appKey: Buffer.from(appHex!, 'hex'),
    serverKey: Buffer.from(serverHex!, 'hex'),
  })
  process.stdout.write(core.createMsg1())
  core.verifyMsg2(await readExactly(MSG2_BYTES))
  process.stdout.write(core.createMsg3())
  const k = core.verifyMsg4(await readExactly(MSG4_BYTES))
  exitWith(Buffer.concat([k.encryptKey, k.encryptNonce, k.decryptKey, k.decryptNonce]))
} catch (error) {
  process.stderr.write(error instanceof HandshakeError ? '' : `${String(error)}\n`)
  process.exit(1)
}
