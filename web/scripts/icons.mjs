// Writes the PNG icons of the manifest (public/icons/*.png) without any image
// library: a flat rounded square with a speech bubble, encoded by hand (zlib
// from node). Run `node scripts/icons.mjs` after changing the drawing; the
// output is committed (a few KiB).
import { deflateSync } from 'node:zlib'
import { writeFileSync } from 'node:fs'

const TEAL = [0x0f, 0x76, 0x6e, 255]
const WHITE = [255, 255, 255, 255]
const CLEAR = [0, 0, 0, 0]

function draw(size, maskable) {
  const px = new Uint8Array(size * size * 4)
  const r = maskable ? 0 : size * 0.22 // maskable: full bleed, the OS cuts the shape
  const scale = maskable ? 0.7 : 1 // keep the bubble inside the maskable safe zone
  const c = size / 2
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let col = TEAL
      const dx = Math.max(r - x, x - (size - 1 - r), 0)
      const dy = Math.max(r - y, y - (size - 1 - r), 0)
      if (dx * dx + dy * dy > r * r) col = CLEAR
      else {
        const bx = (x - c) / (size * 0.3 * scale)
        const by = (y - c) / (size * 0.3 * scale)
        const inBubble = bx * bx + by * by <= 1
        const inTail = bx > -1.05 && bx < -0.45 && by > 0.55 && by < 1.25 && by - 0.55 > (bx + 1.05) * 0.2
        if (inBubble || inTail) {
          col = WHITE
          const line1 = Math.abs(by + 0.25) < 0.11 && Math.abs(bx) < 0.5
          const line2 = Math.abs(by - 0.15) < 0.11 && bx > -0.5 && bx < 0.2
          if (line1 || line2) col = TEAL
        }
      }
      px.set(col, (y * size + x) * 4)
    }
  }
  return png(size, px)
}

function png(size, rgba) {
  const raw = Buffer.alloc((size * 4 + 1) * size)
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0
    Buffer.from(rgba.buffer, y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1)
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(td))
  return Buffer.concat([len, td, crc])
}

const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const dir = new URL('../public/icons/', import.meta.url)
writeFileSync(new URL('icon-192.png', dir), draw(192, false))
writeFileSync(new URL('icon-512.png', dir), draw(512, false))
writeFileSync(new URL('maskable-512.png', dir), draw(512, true))
console.log('icons written')
