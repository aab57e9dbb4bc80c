// The client ceiling for bench/upload: a tus server that keeps nothing. It
// answers POST with 201 and PATCH with 204 once the body has been read and
// thrown away, so a client's rate against it is the most that client can send
// on this machine, whatever the server.
import http from 'node:http'

const offsets = new Map()
let next = 0
const base = { 'Tus-Resumable': '1.0.0' }

http
  .createServer((req, res) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...base, 'Tus-Version': '1.0.0' }).end()
    } else if (req.method === 'POST') {
      const id = String(++next)
      offsets.set(id, 0)
      req.resume()
      req.on('end', () => res.writeHead(201, { ...base, Location: `/files/${id}` }).end())
    } else if (req.method === 'PATCH' || req.method === 'HEAD') {
      const id = req.url.split('/').pop()
      let offset = offsets.get(id) ?? 0
      req.on('data', (b) => { offset += b.length })
      req.on('end', () => {
        offsets.set(id, offset)
        res.writeHead(req.method === 'PATCH' ? 204 : 200, {
          ...base,
          'Upload-Offset': String(offset),
          'Cache-Control': 'no-store',
        }).end()
      })
    } else {
      res.writeHead(405, base).end()
    }
  })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'))
