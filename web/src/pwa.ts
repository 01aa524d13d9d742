// Registers the service worker (autoUpdate: the new worker activates at
// once) and tells the page when a new version took over, so it can offer a
// reload instead of swapping code under a half-filled form.
import { Workbox } from 'workbox-window'

let updateReady = false
const listeners = new Set<() => void>()

export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return
  const wb = new Workbox('/sw.js', { scope: '/' })
  wb.addEventListener('controlling', (e) => {
    if (e.isUpdate) {
      updateReady = true
      for (const fn of listeners) fn()
    }
  })
  void wb.register()
}

export function isUpdateReady(): boolean {
  return updateReady
}

export function subscribeUpdate(fn: () => void): () => void {
  listeners.add(fn)
  return () => {
    listeners.delete(fn)
  }
}
