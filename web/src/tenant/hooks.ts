import { useEffect, useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { api, withQuery, type Page } from '../lib/api'
import type { Instance, Me } from '../lib/types'

/** The tenant and its settings (time zone, quiet hours). */
export function useMe() {
  return useQuery({ queryKey: ['me'], queryFn: () => api<Me>('GET', '/v1/me'), staleTime: 60_000 })
}

/** The tenant's time zone (the browser's until /v1/me answered). */
export function useZone(): string {
  const me = useMe()
  return me.data?.tenant.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone
}

/** Every instance (tenants have a handful). */
export function useInstances() {
  return useQuery({
    queryKey: ['instances'],
    queryFn: () => api<Page<Instance>>('GET', withQuery('/v1/instances', { limit: 1000 })),
  })
}

/** The current time, renewed every everyMs while on (for countdowns); a
 * stopped clock (on false) costs nothing. */
export function useNow(everyMs: number, on = true): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!on) return
    setNow(Date.now())
    const timer = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(timer)
  }, [everyMs, on])
  return now
}
