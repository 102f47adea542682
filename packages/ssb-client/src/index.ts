/**
 * @packageDocumentation
 * Connects to a running SSB server the way npm `ssb-client` users expect: the configuration and
 * secret of `~/.ssb` (or `~/.${ssb_appname}`), the unix socket when the server has one, else
 * TCP with secret-handshake as our own key (so the connection has full rights), and the
 * server's manifest fetched with `manifest` unless one is given.
 *
 * ```ts
 * import { connectClient } from '@scuttlekit/ssb-client'
 *
 * const sbot = await connectClient()
 * console.log(await sbot.whoami())
 * await sbot.publish({ type: 'post', text: 'hello' })
 * for await (const msg of sbot.createLogStream({ limit: 10 })) console.log(msg)
 * await sbot.close()
 * ```
 */
export * from './client.js'
export * from './errors.js'
