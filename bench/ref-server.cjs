// Starts ssb-server 16 from npm with the plugins of its bin.js, for the replication bench.
//   node ref-server.cjs <ebt|legacy> --path <dir> --host 127.0.0.1 --port <p> [...ssb-config flags]
// `ebt` is exactly `ssb-server start`. `legacy` leaves ssb-ebt out, so ssb-replicate runs its
// createHistoryStream replication at once (ssb-ebt forces `replicate.fallback`, which makes legacy
// wait for a failed EBT call); ssb-ooo is left out with it, as it only serves EBT setups.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const mode = process.argv[2]
const Config = require('ssb-config/inject')
const minimist = require('minimist')
const argv = minimist(process.argv.slice(3))
const config = Config(process.env.ssb_appname, argv)

let create = require('ssb-server')
  .use(require('ssb-private1'))
  .use(require('ssb-unix-socket'))
  .use(require('ssb-no-auth'))
  .use(require('ssb-master'))
  .use(require('ssb-gossip'))
  .use(require('ssb-replicate'))
  .use(require('ssb-friends'))
  .use(require('ssb-blobs'))
  .use(require('ssb-invite'))
  .use(require('ssb-query'))
  .use(require('ssb-links'))
if (mode === 'ebt') create = create.use(require('ssb-ebt')).use(require('ssb-ooo'))
const server = create(config)
fs.writeFileSync(
  path.join(config.path, 'manifest.json'),
  JSON.stringify(server.getManifest(), null, 2),
)
console.log('my key ID:', config.keys.public)
process.on('SIGINT', () => server.close(() => process.exit(0)))
