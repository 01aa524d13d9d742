// Which requests the service worker may cache. Kept
// apart from sw.ts so unit tests check the rules themselves.

/** Cache names. */
export const API_CACHE = 'api-cache'
export const STATIC_CACHE = 'static-assets'
export const IMAGE_CACHE = 'images'

/** Routes never cached: keys, admin, instances (they carry webhook secrets
 * and WuzAPI state) and the webhook receiver; plus anything not under /v1/. */
const NEVER = /^\/v1\/(api-keys|tenants|instances|webhooks)(\/|$)/

/** Whether a same-origin request may be answered NetworkFirst from the API cache. */
export function cacheableApiRead(method: string, url: URL, origin: string): boolean {
  return method === 'GET' && url.origin === origin && url.pathname.startsWith('/v1/') && !NEVER.test(url.pathname)
}

/** Paths the SPA navigation fallback must leave to the server. */
export const NAVIGATE_DENYLIST = [/^\/v1\//, /^\/health$/, /^\/metrics$/, /^\/openapi\.json$/]
