import { describe, expect, it } from 'vitest'
import { cacheableApiRead, NAVIGATE_DENYLIST } from './swrules'

const origin = 'http://127.0.0.1:8080'
const u = (p: string, o = origin) => new URL(p, o)

describe('service worker cache rules', () => {
  it.each([
    ['campaign list', 'GET', '/v1/campaigns?limit=25', true],
    ['campaign detail', 'GET', '/v1/campaigns/1', true],
    ['contacts', 'GET', '/v1/contacts', true],
    ['me', 'GET', '/v1/me', true],
    ['a write', 'POST', '/v1/campaigns', false],
    ['instances: never', 'GET', '/v1/instances', false],
    ['instance qr: never', 'GET', '/v1/instances/1/qr', false],
    ['admin tenants: never', 'GET', '/v1/tenants/1', false],
    ['api keys: never', 'GET', '/v1/api-keys/1', false],
    ['webhooks: never', 'GET', '/v1/webhooks/wuzapi/1', false],
    ['not the API', 'GET', '/health', false],
    ['a name that only starts alike', 'GET', '/v1/instancesx', true],
  ])('%s', (_n, method, path, want) => {
    expect(cacheableApiRead(method, u(path), origin)).toBe(want)
  })

  it('never caches another origin', () => {
    expect(cacheableApiRead('GET', u('/v1/campaigns', 'https://evil.example'), origin)).toBe(false)
  })

  it('leaves API and ops paths out of the SPA fallback', () => {
    for (const p of ['/v1/me', '/health', '/metrics', '/openapi.json']) expect(NAVIGATE_DENYLIST.some((r) => r.test(p)), p).toBe(true)
    for (const p of ['/campaigns', '/admin', '/']) expect(NAVIGATE_DENYLIST.some((r) => r.test(p)), p).toBe(false)
  })
})
