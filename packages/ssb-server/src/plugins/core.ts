/**
 * secret-stack's own methods (`reference-features.md` §1.1): `auth`, `address`, `manifest`,
 * `multiserver.parse` and `multiserver.address`. Anyone may ask for the manifest.
 */

import { parseMultiserverAddress } from '@scuttlekit/ssb-ref'
import type { Manifest } from '@scuttlekit/ssb-rpc'
import type { Plugin, PluginInstance } from '../plugin.js'
import { validateArgs } from '../validators.js'

/** What the core plugin needs from the server that composes it. */
export interface CoreSources {
  manifest(): Manifest
  authorize(remoteId: string): Promise<unknown>
}

/** The core plugin. */
export function corePlugin(sources: CoreSources): Plugin {
  return {
    name: '',
    anonymous: ['manifest'],
    init({ server }): PluginInstance {
      const address = (args: readonly unknown[]) =>
        server.address(typeof args[0] === 'string' ? args[0] : undefined)
      return {
        methods: {
          manifest: { type: 'sync', fn: () => sources.manifest() },
          auth: {
            type: 'async',
            fn: async (args) => {
              validateArgs(args, ['feedId'])
              const auth = await sources.authorize(args[0] as string)
              // secret-stack calls back with nothing when a peer gets the anonymous rights
              return auth ?? undefined
            },
          },
          address: { type: 'sync', fn: address },
          multiserver: {
            parse: {
              type: 'sync',
              fn: (args) => {
                validateArgs(args, ['string'])
                return parseMultiserverAddress(args[0] as string)
              },
            },
            address: { type: 'sync', fn: address },
          },
        },
      }
    },
  }
}
