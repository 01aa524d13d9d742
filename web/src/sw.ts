/// <reference lib="webworker" />
// The service worker: precache the shell; CacheFirst for
// scripts, styles and fonts (30 days, 100 entries); NetworkFirst for GET /v1/
// reads (5 minutes, 50 entries); StaleWhileRevalidate for images (7 days).
// API answers carry Vary: Authorization, so a cached answer only matches the
// key that fetched it; expiration must then ignore Vary or it never deletes.
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching'
import { NavigationRoute, registerRoute } from 'workbox-routing'
import { CacheFirst, NetworkFirst, StaleWhileRevalidate } from 'workbox-strategies'
import { ExpirationPlugin } from 'workbox-expiration'
import { CacheableResponsePlugin } from 'workbox-cacheable-response'
import { clientsClaim } from 'workbox-core'
import { API_CACHE, IMAGE_CACHE, NAVIGATE_DENYLIST, STATIC_CACHE, cacheableApiRead } from './swrules'

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null }> }

// autoUpdate: a new worker takes over at once; the page shows a "new version" prompt.
self.skipWaiting()
clientsClaim()

precacheAndRoute(self.__WB_MANIFEST)
cleanupOutdatedCaches()
registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), { denylist: NAVIGATE_DENYLIST }))

registerRoute(
  ({ request }) => request.destination === 'script' || request.destination === 'style' || request.destination === 'font',
  new CacheFirst({
    cacheName: STATIC_CACHE,
    plugins: [
      new CacheableResponsePlugin({ statuses: [200] }),
      new ExpirationPlugin({ maxEntries: 100, maxAgeSeconds: 30 * 24 * 60 * 60 }),
    ],
  }),
)

registerRoute(
  ({ request, url }) => cacheableApiRead(request.method, url, self.location.origin),
  new NetworkFirst({
    cacheName: API_CACHE,
    plugins: [
      new CacheableResponsePlugin({ statuses: [200] }), // never a 401 or a 5xx
      new ExpirationPlugin({ maxEntries: 50, maxAgeSeconds: 5 * 60, matchOptions: { ignoreVary: true } }),
    ],
  }),
  'GET',
)

registerRoute(
  ({ request }) => request.destination === 'image',
  new StaleWhileRevalidate({
    cacheName: IMAGE_CACHE,
    plugins: [
      new CacheableResponsePlugin({ statuses: [0, 200] }),
      new ExpirationPlugin({ maxEntries: 50, maxAgeSeconds: 7 * 24 * 60 * 60 }),
    ],
  }),
)
