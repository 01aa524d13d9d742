import { act, renderHook } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Audience, AudiencePreview } from '../lib/audience'

// Each preview request gets a promise the test settles, in any order.
const calls: { body: unknown; resolve: (p: AudiencePreview) => void; reject: (e: unknown) => void }[] = []
vi.mock('../lib/api', () => ({
  api: vi.fn((_m: string, _p: string, opts: { body: unknown }) => new Promise((resolve, reject) => calls.push({ body: opts.body, resolve, reject }))),
}))
const { useLiveCount, PREVIEW_DEBOUNCE_MS } = await import('./AudienceBuilder')
const { api } = await import('../lib/api')

const preview = (count: number): AudiencePreview => ({ count, optedOut: 0, countIsEstimate: false, sample: [] })

describe('useLiveCount', () => {
  beforeEach(() => { vi.useFakeTimers(); calls.length = 0; vi.mocked(api).mockClear() })
  afterEach(() => vi.useRealTimers())

  it('asks once per pause in typing, with the audience as the body', async () => {
    const { result, rerender } = renderHook((a: Audience | null) => useLiveCount(a), { initialProps: { tags: { any: ['v'] } } as Audience | null })
    expect(result.current.state).toBe('loading')
    rerender({ tags: { any: ['vi'] } })
    rerender({ tags: { any: ['vip'] } })
    await act(async () => { vi.advanceTimersByTime(PREVIEW_DEBOUNCE_MS - 1) })
    expect(calls).toHaveLength(0)
    await act(async () => { vi.advanceTimersByTime(1) })
    expect(calls.map((c) => c.body)).toEqual([{ audience: { tags: { any: ['vip'] } } }])
    expect(vi.mocked(api).mock.calls[0]?.slice(0, 2)).toEqual(['POST', '/v1/audiences/preview'])
    await act(async () => { calls[0]!.resolve(preview(3)) })
    expect(result.current).toEqual({ state: 'ready', preview: preview(3) })
  })

  it('ignores an older answer that arrives after the newer one', async () => {
    const { result, rerender } = renderHook((a: Audience | null) => useLiveCount(a), { initialProps: { tags: { any: ['a'] } } as Audience | null })
    await act(async () => { vi.advanceTimersByTime(PREVIEW_DEBOUNCE_MS) })
    rerender({ tags: { any: ['b'] } })
    await act(async () => { vi.advanceTimersByTime(PREVIEW_DEBOUNCE_MS) })
    expect(calls).toHaveLength(2)
    await act(async () => { calls[1]!.resolve(preview(2)) })
    expect(result.current).toEqual({ state: 'ready', preview: preview(2) })
    await act(async () => { calls[0]!.resolve(preview(100)) })
    expect(result.current).toEqual({ state: 'ready', preview: preview(2) })
    // A stale error is ignored too; the newest one is shown.
    rerender({ tags: { any: ['c'] } })
    await act(async () => { vi.advanceTimersByTime(PREVIEW_DEBOUNCE_MS) })
    expect(result.current).toEqual({ state: 'loading', last: preview(2) })
    await act(async () => { calls[2]!.reject(new Error('boom')) })
    expect(result.current.state).toBe('error')
  })

  it('asks nothing for no audience', async () => {
    const { result } = renderHook(() => useLiveCount(null))
    await act(async () => { vi.advanceTimersByTime(PREVIEW_DEBOUNCE_MS * 2) })
    expect(calls).toHaveLength(0)
    expect(result.current.state).toBe('idle')
  })
})
