import { describe, expect, it } from 'vitest'
import { SAFE_SAFETY, ROLLOUT_DEFAULTS } from '../lib/health'
import { campaignSchema } from './CampaignNew'
import { EMPTY_AUDIENCE } from '../lib/audience'
import { rolloutSchema, safetySchema } from './forms'

const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  Object.fromEntries((r.error?.issues ?? []).map((i) => [i.path.join('.'), i.message]))

describe('sending-safety fields of the instance form', () => {
  it('takes the safe defaults and the bounds of the API', () => {
    expect(safetySchema.safeParse(SAFE_SAFETY).success).toBe(true)
    expect(safetySchema.safeParse({ newContactsPerDay: 500, newContactsPerHour: 200, identicalPerHour: 1000, checkNumbers: false, typing: false }).success).toBe(true)
    expect(safetySchema.safeParse({ newContactsPerDay: 1, newContactsPerHour: 1, identicalPerHour: 1, checkNumbers: true, typing: true }).success).toBe(true)
  })
  it('refuses values out of range, fractions and empty fields, with catalogue keys', () => {
    expect(issues(safetySchema.safeParse({ ...SAFE_SAFETY, newContactsPerDay: 501, newContactsPerHour: 0, identicalPerHour: 1001 }))).toEqual({
      newContactsPerDay: 'form.range', newContactsPerHour: 'form.range', identicalPerHour: 'form.range',
    })
    expect(issues(safetySchema.safeParse({ ...SAFE_SAFETY, newContactsPerDay: 2.5, newContactsPerHour: Number.NaN }))).toEqual({
      newContactsPerDay: 'form.integer', newContactsPerHour: 'form.number',
    })
  })
})

describe('staged rollout fields of the campaign form', () => {
  it('takes the defaults and the edges the API takes', () => {
    expect(rolloutSchema.safeParse(ROLLOUT_DEFAULTS).success).toBe(true)
    expect(rolloutSchema.safeParse({ sharePct: 0.5, holdMinutes: 1, maxFailedPct: 0, maxOptOutPct: 100 }).success).toBe(true)
    expect(rolloutSchema.safeParse({ sharePct: 99.9, holdMinutes: 10080, maxFailedPct: 100, maxOptOutPct: 0 }).success).toBe(true)
  })
  it('refuses a first share of 0 or 100 %, a hold outside 1 minute–7 days, thresholds outside 0–100 %', () => {
    expect(issues(rolloutSchema.safeParse({ sharePct: 0, holdMinutes: 0, maxFailedPct: -1, maxOptOutPct: 101 }))).toEqual({
      sharePct: 'form.range', holdMinutes: 'form.range', maxFailedPct: 'form.range', maxOptOutPct: 'form.range',
    })
    expect(issues(rolloutSchema.safeParse({ ...ROLLOUT_DEFAULTS, sharePct: 100, holdMinutes: 10081 }))).toEqual({ sharePct: 'form.range', holdMinutes: 'form.range' })
    expect(issues(rolloutSchema.safeParse({ ...ROLLOUT_DEFAULTS, holdMinutes: 1.5 }))).toEqual({ holdMinutes: 'form.integer' })
  })
})

describe('the campaign form: one instance or a pool, and the rollout', () => {
  const base = {
    name: '', sendFrom: 'one' as const, instanceId: 'i1', pool: [] as string[], rolloutOn: false, rollout: { ...ROLLOUT_DEFAULTS },
    audience: 'all' as 'all' | 'segment', importId: '', seg: { ...EMPTY_AUDIENCE }, pasted: '', message: 'Oi {{name}}', hasMedia: false, when: 'now' as const, scheduledAt: '',
    quiet: 'default' as const, quietStart: '21:00', quietEnd: '08:00',
  }
  it('lets the message be blank only with media attached (it is then the caption)', () => {
    expect(issues(campaignSchema.safeParse({ ...base, message: '  ' }))).toEqual({ message: 'campaign.messageRequired' })
    expect(campaignSchema.safeParse({ ...base, message: '', hasMedia: true }).success).toBe(true)
  })
  it('needs the instance for one, 2–20 distinct instances for a pool', () => {
    expect(campaignSchema.safeParse(base).success).toBe(true)
    expect(issues(campaignSchema.safeParse({ ...base, instanceId: '', message: '' }))).toEqual({ instanceId: 'campaign.pickInstance', message: 'campaign.messageRequired' })
    expect(issues(campaignSchema.safeParse({ ...base, sendFrom: 'pool', instanceId: '', pool: ['a'] }))).toEqual({ pool: 'campaign.poolTooSmall' })
    expect(issues(campaignSchema.safeParse({ ...base, sendFrom: 'pool', pool: Array.from({ length: 21 }, (_, i) => `i${i}`) }))).toEqual({ pool: 'campaign.poolTooLarge' })
    expect(campaignSchema.safeParse({ ...base, sendFrom: 'pool', instanceId: '', pool: ['a', 'b'] }).success).toBe(true)
  })
  it('judges the rollout only when it is on', () => {
    const bad = { sharePct: 0, holdMinutes: Number.NaN, maxFailedPct: 20, maxOptOutPct: 2 }
    expect(campaignSchema.safeParse({ ...base, rollout: bad }).success).toBe(true)
    expect(issues(campaignSchema.safeParse({ ...base, rolloutOn: true, rollout: bad }))).toEqual({ 'rollout.sharePct': 'form.range', 'rollout.holdMinutes': 'form.number' })
    expect(campaignSchema.safeParse({ ...base, rolloutOn: true }).success).toBe(true)
  })
  it('checks the audience builder only when filtering by tags', () => {
    const seg = { ...EMPTY_AUDIENCE, tagsAll: 'a|b', excludeDays: '400' }
    expect(campaignSchema.safeParse({ ...base, seg }).success).toBe(true)
    expect(issues(campaignSchema.safeParse({ ...base, audience: 'segment', seg }))).toEqual({ 'seg.tagsAll': 'audience.badTag' })
    expect(campaignSchema.safeParse({ ...base, audience: 'segment', seg: { ...EMPTY_AUDIENCE, tagsAny: 'vip' } }).success).toBe(true)
    // A condition's problem is reported at its row and field.
    const where = [{ attribute: 'city', op: 'eq' as const, value: 'SP' }, { attribute: 'score', op: 'gt' as const, value: '' }]
    expect(issues(campaignSchema.safeParse({ ...base, audience: 'segment', seg: { ...EMPTY_AUDIENCE, where } }))).toEqual({ 'seg.where.1.value': 'audience.where.valueRequired' })
  })
})
