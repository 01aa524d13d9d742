import { describe, expect, it } from 'vitest'
import { audienceBody, audienceProblem, EMPTY_AUDIENCE, latestOnly, splitTags } from './audience'
import { formAudience } from '../tenant/CampaignNew'

describe('audience builder → request body', () => {
  it('is every contact when nothing is chosen', () => {
    expect(audienceBody(EMPTY_AUDIENCE)).toEqual({ all: true })
  })
  it('maps tags any/all/none (trimmed, empties dropped, repeats collapsed), the import and the exclusion', () => {
    expect(audienceBody({ tagsAny: ' vip, sp ,vip,, ', tagsAll: '2024', tagsNone: 'churned', importId: 'imp-1', excludeDays: '7' })).toEqual({
      importId: 'imp-1', tags: { any: ['vip', 'sp'], all: ['2024'], none: ['churned'] }, excludeMessagedWithinDays: 7,
    })
    expect(audienceBody({ ...EMPTY_AUDIENCE, tagsNone: 'x' })).toEqual({ tags: { none: ['x'] } })
    expect(audienceBody({ ...EMPTY_AUDIENCE, excludeDays: '0' })).toEqual({ all: true, excludeMessagedWithinDays: 0 })
  })
  it('keeps case: VIP and vip are two tags', () => {
    expect(splitTags('VIP,vip')).toEqual(['VIP', 'vip'])
  })
  it('finds what the API would refuse', () => {
    expect(audienceProblem(EMPTY_AUDIENCE)).toBeNull()
    expect(audienceProblem({ ...EMPTY_AUDIENCE, tagsAll: 'a|b' })).toEqual(['tagsAll', 'audience.badTag'])
    expect(audienceProblem({ ...EMPTY_AUDIENCE, tagsAny: 'x'.repeat(65) })).toEqual(['tagsAny', 'audience.badTag'])
    expect(audienceProblem({ ...EMPTY_AUDIENCE, tagsNone: Array.from({ length: 51 }, (_, i) => `t${i}`).join(',') })).toEqual(['tagsNone', 'audience.tooManyTags'])
    for (const d of ['366', '-1', '2.5', 'x']) expect(audienceProblem({ ...EMPTY_AUDIENCE, excludeDays: d })).toEqual(['excludeDays', 'audience.badDays'])
    expect(audienceProblem({ ...EMPTY_AUDIENCE, excludeDays: '365' })).toBeNull()
  })
  it('the campaign form sends the same audience it previews; pasted phones and invalid filters preview nothing', () => {
    expect(formAudience({ audience: 'all', importId: '', seg: EMPTY_AUDIENCE })).toEqual({ all: true })
    expect(formAudience({ audience: 'import', importId: '', seg: EMPTY_AUDIENCE })).toBeNull()
    expect(formAudience({ audience: 'import', importId: 'i', seg: EMPTY_AUDIENCE })).toEqual({ importId: 'i' })
    expect(formAudience({ audience: 'segment', importId: 'ignored', seg: { ...EMPTY_AUDIENCE, tagsAny: 'vip' } })).toEqual({ tags: { any: ['vip'] } })
    expect(formAudience({ audience: 'segment', importId: '', seg: { ...EMPTY_AUDIENCE, excludeDays: '999' } })).toBeNull()
    expect(formAudience({ audience: 'pasted', importId: '', seg: EMPTY_AUDIENCE })).toBeNull()
  })
})

describe('latestOnly', () => {
  it('marks every earlier request stale once a later one starts, and all of them on cancel', () => {
    const g = latestOnly()
    const a = g.start()
    expect(a()).toBe(true)
    const b = g.start()
    expect(a()).toBe(false)
    expect(b()).toBe(true)
    g.cancel()
    expect(b()).toBe(false)
  })
})
