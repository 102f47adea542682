/** `blobs.help`: the usage the CLI prints for the blobs methods. */

import type { Help } from '@scuttlekit/ssb-server'

const BLOB_ID = {
  type: 'BlobId',
  description: 'a blob id: & + base64 of the sha256 of the bytes + .sha256',
}

const SIZE = { type: 'number', description: 'fail unless the blob is this size', optional: true }
const MAX = { type: 'number', description: 'fail if the blob is larger', optional: true }

/** The help object of the blobs plugin (the commands of ssb-blobs 1.2.2, in our words). */
export const BLOBS_HELP: Help = {
  description: 'store, fetch and share blobs (files named by their sha256)',
  commands: {
    add: {
      type: 'sink',
      description: 'store the bytes streamed in; `ssb-server blobs.add FILE` prints the id',
      args: { id: { ...BLOB_ID, description: 'the id the bytes must hash to', optional: true } },
    },
    get: {
      type: 'source',
      description: 'stream a blob; `ssb-server blobs.get ID > FILE` saves it',
      args: {
        id: BLOB_ID,
        size: SIZE,
        max: MAX,
      },
    },
    getSlice: {
      type: 'source',
      description: 'stream bytes [start, end) of a blob',
      args: {
        id: BLOB_ID,
        start: { type: 'number', description: 'first byte' },
        end: { type: 'number', description: 'byte after the last one' },
        size: SIZE,
        max: MAX,
      },
    },
    has: {
      type: 'async',
      description: 'whether blobs are stored here (an id or an array of ids)',
      args: { id: BLOB_ID },
    },
    size: {
      type: 'async',
      description: 'the size of a stored blob, or null (an id or an array of ids)',
      args: { id: BLOB_ID },
    },
    meta: {
      type: 'async',
      description: 'id, size and time stored of a blob, or null',
      args: { id: BLOB_ID },
    },
    ls: {
      type: 'source',
      description: 'list the stored blobs',
      args: {
        meta: {
          type: 'boolean',
          description: 'give {id, size, ts} instead of ids',
          optional: true,
        },
        old: {
          type: 'boolean',
          description: 'list blobs stored before the call',
          optional: true,
          default: true,
        },
        live: {
          type: 'boolean',
          description: 'keep listing blobs as they arrive',
          optional: true,
          default: false,
        },
      },
    },
    want: {
      type: 'async',
      description: 'ask the network for a blob; answers true once it is stored',
      args: { id: BLOB_ID },
    },
    push: {
      type: 'async',
      description: 'keep offering a blob until enough peers (blobs.pushy) have it',
      args: { id: BLOB_ID },
    },
    rm: {
      type: 'async',
      description: 'delete a blob from this store',
      args: { id: BLOB_ID },
    },
    changes: {
      type: 'source',
      description: 'the ids of blobs as they are stored',
      args: {},
    },
    createWants: {
      type: 'source',
      description: 'the want/have exchange between peers (wants as -hops, haves as sizes)',
      args: {},
    },
  },
}
