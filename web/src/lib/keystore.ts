// The API key lives in memory and in sessionStorage (so a reload keeps the
// session of this tab), never in localStorage: a key must not outlive the tab
// nor be readable by another tab of a shared device.

/** Who signed in: a tenant (tenant key) or the operator (ADMIN_API_KEY). */
export type Role = 'tenant' | 'admin'

/** A signed-in key with its role. */
export interface Session {
  key: string
  role: Role
}

const STORAGE_KEY = 'wuzapi.session'

let current: Session | null | undefined // undefined: not read from sessionStorage yet
const listeners = new Set<(s: Session | null) => void>()

function storage(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null
  } catch {
    return null // storage disabled (privacy mode): memory only
  }
}

/** The current session, read once from sessionStorage. */
export function getSession(): Session | null {
  if (current === undefined) {
    current = null
    const raw = storage()?.getItem(STORAGE_KEY)
    if (raw) {
      try {
        const v = JSON.parse(raw) as Partial<Session>
        if (typeof v.key === 'string' && v.key !== '' && (v.role === 'tenant' || v.role === 'admin')) {
          current = { key: v.key, role: v.role }
        }
      } catch {
        storage()?.removeItem(STORAGE_KEY)
      }
    }
  }
  return current
}

/** Stores s (null signs out) and tells the subscribers. */
export function setSession(s: Session | null): void {
  current = s
  const st = storage()
  if (s) st?.setItem(STORAGE_KEY, JSON.stringify(s))
  else st?.removeItem(STORAGE_KEY)
  for (const l of listeners) l(s)
}

/** Calls fn on every change; returns the unsubscribe function. */
export function subscribeSession(fn: (s: Session | null) => void): () => void {
  listeners.add(fn)
  return () => {
    listeners.delete(fn)
  }
}

/** Forgets the in-memory copy (tests: simulates a fresh page load). */
export function resetSessionMemory(): void {
  current = undefined
}
