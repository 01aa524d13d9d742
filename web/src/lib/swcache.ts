// The service worker's API cache (src/sw.ts) must never outlive a key: it is
// deleted on sign-out and whenever a different key signs in.
import { API_CACHE } from '../swrules'

/** Deletes the API runtime cache; resolves when gone (or when there is no Cache API). */
export async function clearApiCache(): Promise<void> {
  try {
    if (typeof caches !== 'undefined') await caches.delete(API_CACHE)
  } catch {
    // no Cache API (http, old browser): nothing was cached
  }
}
