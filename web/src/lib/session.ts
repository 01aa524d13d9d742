// Signing in and out. A key is checked against the API before it is kept;
// any change of key clears the service worker's API cache and the in-memory
// query cache, so nothing fetched with one key is ever shown to another.
import type { QueryClient } from '@tanstack/react-query'
import { api, ApiError } from './api'
import { getSession, setSession, type Role } from './keystore'
import { clearApiCache } from './swcache'
import type { Me } from './types'

/** A UUID no tenant has: the admin key is checked by patching it (404 = key accepted). */
const NO_TENANT = '00000000-0000-0000-0000-000000000000'

/** Checks key for role; throws the API's error (UNAUTHORIZED for a wrong key). */
export async function checkKey(key: string, role: Role): Promise<void> {
  if (role === 'tenant') {
    await api<Me>('GET', '/v1/me', { key })
    return
  }
  try {
    await api('PATCH', `/v1/tenants/${NO_TENANT}`, { key, body: {} })
  } catch (e) {
    if (e instanceof ApiError && (e.code === 'NOT_FOUND' || e.code === 'VALIDATION_FAILED')) return
    throw e
  }
}

/** Signs in with key after checking it. */
export async function signIn(qc: QueryClient, key: string, role: Role): Promise<void> {
  const before = getSession()
  if (!before || before.key !== key) {
    await clearApiCache() // before the check: the check itself must not be answered from another key's cache
    qc.clear()
  }
  await checkKey(key, role)
  setSession({ key, role })
}

/** Signs out: forgets the key and every cached answer. */
export async function signOut(qc: QueryClient): Promise<void> {
  setSession(null)
  qc.clear()
  await clearApiCache()
}
