// The peer for bench/upload: @tus/server 2.x with @tus/file-store on
// 127.0.0.1:$PORT/files/, storing into $DIR. Node stays single-threaded, as
// vodd's HTTP thread is.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../test/package.json'))
const { Server } = await import(require.resolve('@tus/server'))
const { FileStore } = await import(require.resolve('@tus/file-store'))

const server = new Server({
  path: '/files',
  datastore: new FileStore({ directory: process.env.DIR }),
})
server.listen({ host: '127.0.0.1', port: Number(process.env.PORT) }, () => {
  process.stdout.write('listening\n')
})
