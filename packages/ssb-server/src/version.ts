/** The version of this package, reported by the `version` method (the reference reports ssb-db's). */

import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** `@scuttlekit/ssb-server`'s version, from its package.json. */
export const VERSION: string = (require('../package.json') as { version: string }).version
