import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getSession, resetSessionMemory, setSession, subscribeSession } from './keystore'

describe('key storage', () => {
  const spies: ReturnType<typeof vi.spyOn>[] = []
  beforeEach(() => {
    sessionStorage.clear()
    localStorage.clear()
    resetSessionMemory()
    // Storage.prototype is shared by both storages: spy per instance by checking `this`.
    spies.push(vi.spyOn(Storage.prototype, 'setItem'), vi.spyOn(Storage.prototype, 'getItem'), vi.spyOn(Storage.prototype, 'removeItem'))
  })
  afterEach(() => {
    spies.splice(0).forEach((s) => s.mockRestore())
  })

  function touchedLocalStorage(): boolean {
    return spies.some((s) => s.mock.contexts.some((ctx: unknown) => ctx === localStorage))
  }

  it('keeps the key in memory and sessionStorage, never in localStorage', () => {
    setSession({ key: 'secret-key-1', role: 'tenant' })
    expect(getSession()).toEqual({ key: 'secret-key-1', role: 'tenant' })
    expect(sessionStorage.getItem('wuzapi.session')).toContain('secret-key-1')
    resetSessionMemory() // a reload of the tab
    expect(getSession()).toEqual({ key: 'secret-key-1', role: 'tenant' })
    setSession(null)
    expect(getSession()).toBeNull()
    expect(sessionStorage.length).toBe(0)
    expect(localStorage.length).toBe(0)
    expect(touchedLocalStorage()).toBe(false)
    for (let i = 0; i < localStorage.length; i++) expect(localStorage.getItem(localStorage.key(i)!)).not.toContain('secret')
  })

  it('ignores a corrupt or foreign sessionStorage entry', () => {
    sessionStorage.setItem('wuzapi.session', '{not json')
    expect(getSession()).toBeNull()
    resetSessionMemory()
    sessionStorage.setItem('wuzapi.session', JSON.stringify({ key: 'k', role: 'root' }))
    expect(getSession()).toBeNull()
  })

  it('tells subscribers about every change', () => {
    const seen: (string | null)[] = []
    const off = subscribeSession((s) => seen.push(s?.key ?? null))
    setSession({ key: 'a', role: 'tenant' })
    setSession({ key: 'b', role: 'admin' })
    setSession(null)
    off()
    setSession({ key: 'c', role: 'tenant' })
    expect(seen).toEqual(['a', 'b', null])
  })
})
