// Serves web/dist the way infra/local serves it (and CloudFront + S3 on AWS):
// SPA fallback to index.html for extensionless paths, a real 404 for a missing
// file with an extension, immutable caching for hashed /assets/*, no-cache
// for everything else (sw.js included), the .webmanifest MIME type.
import { createReadStream, statSync } from 'node:fs'
import { extname, join, normalize } from 'node:path'

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.json': 'application/json', '.webmanifest': 'application/manifest+json', '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
}

export function serveStatic(dist, req, res) {
  const url = new URL(req.url, 'http://x')
  let rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '')
  if (rel === '/' || rel === '') rel = '/index.html'
  let file = join(dist, rel)
  let st = stat(file)
  if (!st || st.isDirectory()) {
    if (extname(rel) !== '') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' })
      res.end('not found\n')
      return
    }
    file = join(dist, 'index.html')
    st = stat(file)
    rel = '/index.html'
    if (!st) {
      res.writeHead(404).end('no dashboard build\n')
      return
    }
  }
  const etag = `"${st.size.toString(16)}-${st.mtimeMs.toString(16)}"`
  const headers = {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    ETag: etag,
    'X-Content-Type-Options': 'nosniff',
  }
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end()
    return
  }
  res.writeHead(200, { ...headers, 'Content-Length': st.size })
  if (req.method === 'HEAD') return res.end()
  createReadStream(file).pipe(res)
}

function stat(f) {
  try {
    return statSync(f)
  } catch {
    return null
  }
}
