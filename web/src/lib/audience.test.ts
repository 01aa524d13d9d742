import { describe, expect, it } from 'vitest'
import { audienceBody, audienceProblem, EMPTY_AUDIENCE, EMPTY_WHERE, latestOnly, splitTags, whereApiErrors, whereCondition, type WhereRow } from './audience'
import { formAudience } from '../tenant/CampaignNew'

describe('audience builder → request body', () => {
  it('is every contact when nothing is chosen', () => {
    expect(audienceBody(EMPTY_AUDIENCE)).toEqual({ all: true })
  })
  it('maps tags any/all/none (trimmed, empties dropped, repeats collapsed), the import and the exclusion', () => {
    expect(audienceBody({ tagsAny: ' vip, sp ,vip,, ', tagsAll: '2024', tagsNone: 'churned', importId: 'imp-1', excludeDays: '7', where: [] })).toEqual({
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

describe('where conditions', () => {
  const row = (r: Partial<WhereRow>): WhereRow => ({ ...EMPTY_WHERE, ...r })
  it('maps each op to the API condition: text for eq/neq, a list for in, no value for exists, numbers for gt/lt when numeric', () => {
    expect(whereCondition(row({ attribute: ' city ', op: 'eq', value: ' SP ' }))).toEqual({ attribute: 'city', op: 'eq', value: 'SP' })
    expect(whereCondition(row({ attribute: 'plan', op: 'neq', value: '10' }))).toEqual({ attribute: 'plan', op: 'neq', value: '10' })
    expect(whereCondition(row({ attribute: 'city', op: 'in', value: 'SP, RJ,,SP' }))).toEqual({ attribute: 'city', op: 'in', value: ['SP', 'RJ'] })
    expect(whereCondition(row({ attribute: 'email', op: 'exists', value: 'ignored' }))).toEqual({ attribute: 'email', op: 'exists' })
    expect(whereCondition(row({ attribute: 'score', op: 'gt', value: '500' }))).toEqual({ attribute: 'score', op: 'gt', value: 500 })
    expect(whereCondition(row({ attribute: 'score', op: 'lt', value: '-1.5e2' }))).toEqual({ attribute: 'score', op: 'lt', value: -150 })
    expect(whereCondition(row({ attribute: 'since', op: 'gt', value: '2026-01-01' }))).toEqual({ attribute: 'since', op: 'gt', value: '2026-01-01' })
    // Not JSON numbers, or not finite: compared as text, never sent as null.
    for (const v of ['007', '1e999', '0x10', '1.']) expect(typeof whereCondition(row({ attribute: 'a', op: 'gt', value: v })).value).toBe('string')
  })
  it('where alone narrows (no all), and combines with tags and the exclusion', () => {
    const where = [row({ attribute: 'city', value: 'SP' })]
    expect(audienceBody({ ...EMPTY_AUDIENCE, where })).toEqual({ where: [{ attribute: 'city', op: 'eq', value: 'SP' }] })
    expect(audienceBody({ ...EMPTY_AUDIENCE, tagsAny: 'vip', excludeDays: '3', where })).toEqual({
      tags: { any: ['vip'] }, where: [{ attribute: 'city', op: 'eq', value: 'SP' }], excludeMessagedWithinDays: 3,
    })
  })
  it('finds what the API would refuse, at the row and field', () => {
    const bad: [Partial<WhereRow>, string, string][] = [
      [{ attribute: ' ' }, 'where.0.attribute', 'audience.where.attributeRequired'],
      [{ attribute: 'x'.repeat(65), value: 'a' }, 'where.0.attribute', 'audience.where.badAttribute'],
      [{ attribute: 'a\u0000', value: 'a' }, 'where.0.attribute', 'audience.where.badAttribute'],
      [{ attribute: 'a', value: '  ' }, 'where.0.value', 'audience.where.valueRequired'],
      [{ attribute: 'a', op: 'in', value: ' , ' }, 'where.0.value', 'audience.where.valueRequired'],
      [{ attribute: 'a', op: 'in', value: Array.from({ length: 101 }, (_, i) => `v${i}`).join(',') }, 'where.0.value', 'audience.where.tooManyValues'],
      [{ attribute: 'a', op: 'gt', value: 'é'.repeat(257) }, 'where.0.value', 'audience.where.badValue'],
      [{ attribute: 'a', op: 'in', value: `ok,${'x'.repeat(257)}` }, 'where.0.value', 'audience.where.badValue'],
    ]
    for (const [r, field, key] of bad) expect(audienceProblem({ ...EMPTY_AUDIENCE, where: [row(r)] }), JSON.stringify(r)).toEqual([field, key])
    const good: Partial<WhereRow>[] = [
      { attribute: 'x'.repeat(64), value: 'é'.repeat(256) }, { attribute: 'a', op: 'exists' },
      { attribute: 'a', op: 'in', value: Array.from({ length: 100 }, (_, i) => `v${i}`).join(',') },
    ]
    for (const r of good) expect(audienceProblem({ ...EMPTY_AUDIENCE, where: [row(r)] }), JSON.stringify(r)).toBeNull()
    // The row's index is in the path; at most 20 conditions.
    expect(audienceProblem({ ...EMPTY_AUDIENCE, where: [row({ attribute: 'a', value: '1' }), row({ attribute: 'b' })] })).toEqual(['where.1.value', 'audience.where.valueRequired'])
    expect(audienceProblem({ ...EMPTY_AUDIENCE, where: Array.from({ length: 21 }, () => row({ attribute: 'a', value: '1' })) })).toEqual(['where', 'audience.where.tooMany'])
    expect(audienceProblem({ ...EMPTY_AUDIENCE, where: Array.from({ length: 20 }, () => row({ attribute: 'a', value: '1' })) })).toBeNull()
  })
  it("reads the API's refusals of conditions by row", () => {
    const err = { details: [
      { field: 'audience.where[2]', code: 'unknown_op', message: 'op must be eq, neq, in, exists, gt or lt' },
      { field: 'audience.tags.any', code: 'invalid_tag', message: 'x' },
      { field: 'audience.where[0]', code: 'invalid_type', message: 'value must be a string, number or boolean' },
    ] }
    expect(whereApiErrors(err)).toEqual({
      2: { code: 'unknown_op', message: 'op must be eq, neq, in, exists, gt or lt' },
      0: { code: 'invalid_type', message: 'value must be a string, number or boolean' },
    })
    expect(whereApiErrors(new Error('boom'))).toEqual({})
    expect(whereApiErrors(undefined)).toEqual({})
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
