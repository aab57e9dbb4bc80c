// Drives tus-js-client 4.3.1 (from test/node_modules) against a tus server.
// Usage: node tus_upload.mjs '<json options>'
//   endpoint, file, chunkSize, parallelUploads, token, abortAtBytes,
//   retryDelays, metadata
// Prints "PROGRESS <bytes>" lines (at most every 4 MiB), "ABORTED <url>"
// and "RESUMED", and finally "DONE <upload url>"; exits 1 with "ERROR …".
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../package.json'))
const tus = require('tus-js-client')

const opts = JSON.parse(process.argv[2])
const log = (line) => process.stdout.write(line + '\n')

function start(uploadUrl) {
  return new Promise((resolve, reject) => {
    let lastReported = 0
    let aborted = false
    const headers = opts.token ? { Authorization: `Bearer ${opts.token}` } : {}
    const upload = new tus.Upload(fs.createReadStream(opts.file), {
      endpoint: opts.endpoint,
      uploadUrl: uploadUrl ?? null,
      chunkSize: opts.chunkSize ?? Infinity,
      parallelUploads: opts.parallelUploads ?? 1,
      retryDelays: opts.retryDelays ?? [0, 500, 1000, 2000],
      headers,
      metadata: opts.metadata ?? { filename: path.basename(opts.file), filetype: 'video/mp4' },
      removeFingerprintOnSuccess: true,
      onProgress(sent) {
        if (sent - lastReported >= 4 << 20) {
          lastReported = sent
          log(`PROGRESS ${sent}`)
        }
        if (!aborted && opts.abortAtBytes && !uploadUrl && sent >= opts.abortAtBytes) {
          aborted = true
          upload.abort().then(() => resolve({ aborted: true, url: upload.url }))
        }
      },
      onError(err) {
        reject(err)
      },
      onSuccess() {
        resolve({ aborted: false, url: upload.url })
      },
    })
    upload.start()
  })
}

try {
  let r = await start(opts.uploadUrl)
  if (r.aborted) {
    log(`ABORTED ${r.url}`)
    // Resume the same upload from a fresh client object: it HEADs the URL
    // and continues from the server's offset.
    log('RESUMED')
    r = await start(r.url)
  }
  log(`DONE ${r.url}`)
} catch (err) {
  log(`ERROR ${err && err.message ? err.message.replace(/\n/g, ' ') : err}`)
  process.exit(1)
}
