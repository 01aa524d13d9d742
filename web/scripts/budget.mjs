#!/usr/bin/env node
// Bundle budget: the initial JavaScript, that is the entry chunk
// and every chunk it imports statically (followed through
// dist/.vite/manifest.json, not guessed from names), must stay within
// 160 KiB gzip, and no chunk may pass 500 KiB (raw). Exits 1 when over.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const INITIAL_GZIP_LIMIT = 160 * 1024
export const CHUNK_LIMIT = 500 * 1024

/** The files loaded before first paint: the entry's static import closure. */
export function initialFiles(manifest) {
  const entries = Object.entries(manifest).filter(([, c]) => c.isEntry)
  if (entries.length === 0) throw new Error('manifest has no entry chunk')
  const seen = new Set()
  const files = []
  const visit = (key) => {
    if (seen.has(key)) return
    seen.add(key)
    const c = manifest[key]
    if (!c) throw new Error(`manifest names a missing chunk ${key}`)
    files.push(c.file)
    for (const imp of c.imports ?? []) visit(imp) // static imports only; dynamicImports are lazy
  }
  for (const [key] of entries) visit(key)
  return files.filter((f) => f.endsWith('.js'))
}

/** Checks sizes: size(file) → {raw, gzip}. Returns the figures and the violations. */
export function check(manifest, size) {
  const initial = initialFiles(manifest)
  const initialGzip = initial.reduce((s, f) => s + size(f).gzip, 0)
  const violations = []
  if (initialGzip > INITIAL_GZIP_LIMIT) {
    violations.push(`initial JS is ${kib(initialGzip)} gzip, over ${kib(INITIAL_GZIP_LIMIT)}`)
  }
  const chunks = [...new Set(Object.values(manifest).map((c) => c.file))].filter((f) => f.endsWith('.js'))
  for (const f of chunks) {
    const s = size(f)
    if (s.raw > CHUNK_LIMIT) violations.push(`${f} is ${kib(s.raw)}, over ${kib(CHUNK_LIMIT)}`)
  }
  return { initial, initialGzip, chunks, violations }
}

export const kib = (n) => `${(n / 1024).toFixed(1)} KiB`

function main() {
  const dist = fileURLToPath(new URL('../dist/', import.meta.url))
  let manifest
  try {
    manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'))
  } catch {
    console.error('budget: dist/.vite/manifest.json missing: run `npm run build` first')
    process.exit(2)
  }
  const size = (f) => {
    const buf = readFileSync(join(dist, f))
    return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length }
  }
  const r = check(manifest, size)
  const lazy = r.chunks.filter((f) => !r.initial.includes(f))
  console.log(`budget: initial JS ${kib(r.initialGzip)} gzip (limit ${kib(INITIAL_GZIP_LIMIT)}) in ${r.initial.length} files:`)
  for (const f of r.initial) console.log(`  ${f}  ${kib(size(f).raw)} raw, ${kib(size(f).gzip)} gzip`)
  console.log(`budget: ${lazy.length} lazy chunks:`)
  for (const f of lazy) console.log(`  ${f}  ${kib(size(f).raw)} raw, ${kib(size(f).gzip)} gzip`)
  const all = readdirSync(join(dist, 'assets')).reduce((s, f) => s + statSync(join(dist, 'assets', f)).size, 0)
  console.log(`budget: all assets ${kib(all)} raw`)
  if (r.violations.length) {
    for (const v of r.violations) console.error(`budget: FAIL ${v}`)
    process.exit(1)
  }
  console.log('budget: ok')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()
