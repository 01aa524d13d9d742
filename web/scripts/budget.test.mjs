import { describe, expect, it } from 'vitest'
import { check, initialFiles } from './budget.mjs'

const manifest = {
  'index.html': { file: 'assets/index.js', isEntry: true, imports: ['_react.js'], dynamicImports: ['src/Tenant.tsx'] },
  '_react.js': { file: 'assets/react.js', imports: ['_runtime.js'] },
  '_runtime.js': { file: 'assets/runtime.js' },
  'src/Tenant.tsx': { file: 'assets/Tenant.js', isDynamicEntry: true, imports: ['_react.js', '_charts.js'] },
  '_charts.js': { file: 'assets/charts.js' },
}

describe('bundle budget', () => {
  it('follows static imports from the entry, not dynamic ones', () => {
    expect(initialFiles(manifest).sort()).toEqual(['assets/index.js', 'assets/react.js', 'assets/runtime.js'])
  })

  it('passes within the limits', () => {
    const r = check(manifest, () => ({ raw: 100 * 1024, gzip: 50 * 1024 }))
    expect(r.initialGzip).toBe(150 * 1024)
    expect(r.violations).toEqual([])
  })

  it('fails when the initial JS passes 160 KiB gzip', () => {
    const r = check(manifest, (f) => ({ raw: 1000, gzip: f === 'assets/react.js' ? 159 * 1024 : 1024 }))
    expect(r.violations).toHaveLength(1)
    expect(r.violations[0]).toMatch(/initial JS/)
  })

  it('fails when any chunk, lazy ones too, passes 500 KiB', () => {
    const r = check(manifest, (f) => ({ raw: f === 'assets/charts.js' ? 501 * 1024 : 1024, gzip: 100 }))
    expect(r.violations).toEqual(['assets/charts.js is 501.0 KiB, over 500.0 KiB'])
  })
})
