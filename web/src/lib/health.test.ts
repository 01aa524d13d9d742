import { describe, expect, it } from 'vitest'
import { formatCountdown, formatShare, healthTone, instancesBody, poolProblem, reasonKind, reasonTopic, rolloutBody, ROLLOUT_DEFAULTS, skipReasonKey, timeLeft, usedPercent } from './health'

const now = Date.parse('2026-12-07T12:00:00Z')

describe('countdown to until', () => {
  it('splits the time left into days, hours and minutes, rounding up to the minute', () => {
    expect(timeLeft('2026-12-09T15:30:00Z', now)).toEqual({ d: 2, h: 3, m: 30 })
    expect(timeLeft('2026-12-07T12:00:01Z', now)).toEqual({ d: 0, h: 0, m: 1 })
  })
  it('is nothing for a missing, unreadable or past time', () => {
    expect(timeLeft(null, now)).toBeNull()
    expect(timeLeft(undefined, now)).toBeNull()
    expect(timeLeft('soon', now)).toBeNull()
    expect(timeLeft('2026-12-07T12:00:00Z', now)).toBeNull()
    expect(timeLeft('2026-12-07T11:00:00Z', now)).toBeNull()
    expect(formatCountdown('2026-12-07T11:00:00Z', now)).toBe('')
  })
  it('reads days and hours, hours and minutes, or minutes', () => {
    expect(formatCountdown('2026-12-09T15:30:00Z', now)).toBe('2 d 3 h')
    expect(formatCountdown('2026-12-14T12:00:00Z', now)).toBe('7 d') // the longest lock
    expect(formatCountdown('2026-12-08T12:00:00Z', now)).toBe('1 d') // a first lock: 24 h
    expect(formatCountdown('2026-12-07T18:05:00Z', now)).toBe('6 h 05 min')
    expect(formatCountdown('2026-12-07T12:12:00Z', now)).toBe('12 min')
    expect(formatCountdown('2026-12-07T12:00:30Z', now)).toBe('1 min') // never "0 min" while time is left
  })
})

describe('health figures', () => {
  it('colours the states: ok, still sending to known contacts, sending nothing', () => {
    expect(healthTone('ok')).toBe('ok')
    expect(healthTone('locked')).toBe('warn')
    expect(healthTone('paused')).toBe('warn')
    for (const s of ['banned', 'logged_out', 'disconnected'] as const) expect(healthTone(s)).toBe('bad')
  })
  it('shows the delivery rate as a whole percentage per language', () => {
    expect(formatShare(0.86, 'en')).toBe('86%')
    expect(formatShare(0.864, 'pt-BR')).toMatch(/^86\s?%$/) // rounded; ICU versions differ on the space
    expect(formatShare(1, 'en')).toBe('100%')
  })
  it('fills a budget bar, full at or over the budget', () => {
    expect(usedPercent(12, 20)).toBe(60)
    expect(usedPercent(0, 20)).toBe(0)
    expect(usedPercent(25, 20)).toBe(100)
    expect(usedPercent(0, 0)).toBe(100)
  })
})

describe('campaign request parts', () => {
  it('sends one instance as instanceId and a pool, without repeats, as instanceIds', () => {
    expect(instancesBody('one', 'a', ['b', 'c'])).toEqual({ instanceId: 'a' })
    expect(instancesBody('pool', 'a', ['b', 'c', 'b'])).toEqual({ instanceIds: ['b', 'c'] })
  })
  it('holds a pool to 2–20 distinct instances', () => {
    expect(poolProblem([])).toBe('poolTooSmall')
    expect(poolProblem(['a', 'a'])).toBe('poolTooSmall')
    expect(poolProblem(['a', 'b'])).toBeNull()
    expect(poolProblem(Array.from({ length: 20 }, (_, i) => `i${i}`))).toBeNull()
    expect(poolProblem(Array.from({ length: 21 }, (_, i) => `i${i}`))).toBe('poolTooLarge')
  })
  it("turns the form's percentages into the API's shares, defaults 0.1, 60, 0.2, 0.02", () => {
    expect(rolloutBody(ROLLOUT_DEFAULTS)).toEqual({ share: 0.1, holdMinutes: 60, maxFailedShare: 0.2, maxOptOutShare: 0.02 })
    expect(rolloutBody({ sharePct: 2.5, holdMinutes: 1, maxFailedPct: 0, maxOptOutPct: 100 })).toEqual({ share: 0.025, holdMinutes: 1, maxFailedShare: 0, maxOptOutShare: 1 })
    expect(rolloutBody({ sharePct: 7, holdMinutes: 30, maxFailedPct: 3, maxOptOutPct: 1 }).maxFailedShare).toBe(0.03)
  })
})

describe('campaign reasons', () => {
  it('tells what a waiting campaign waits for', () => {
    expect(reasonTopic('waiting: new-contact lock on main until 2026-12-08T12:00:00Z')).toBe('lock')
    expect(reasonTopic('waiting: hourly new-contact budget on main until 2026-12-02T16:00:00Z')).toBe('budget')
    expect(reasonTopic('waiting: daily new-contact budget on main until 2026-12-03T03:00:00Z')).toBe('budget')
    expect(reasonTopic('waiting: identical-text limit on main until 2026-12-02T16:00:00Z')).toBe('budget')
    expect(reasonTopic('waiting: send limit (per_minute)')).toBe('budget')
    expect(reasonTopic('waiting: rollout hold until 2026-12-07T13:00:00Z')).toBe('rollout')
    expect(reasonTopic('waiting: quiet hours until 2026-12-02T12:30:00-03:00')).toBe('quiet')
    expect(reasonTopic('waiting: number check failed on main')).toBe('check')
    expect(reasonTopic('auto-paused: 11 of the last 20 sends failed')).toBeNull()
    expect(reasonTopic(null)).toBeNull()
  })
  it('labels a reason as waiting, paused or other', () => {
    expect(reasonKind('waiting: rollout hold until 2026-12-07T13:00:00Z')).toBe('waiting')
    expect(reasonKind('paused: only 2 of 10 recent first messages were delivered')).toBe('paused')
    expect(reasonKind('auto-paused: main was logged out of WhatsApp; pair it again')).toBe('paused')
    expect(reasonKind('instance deleted')).toBe('other')
  })
  it('words the skip reasons it knows', () => {
    expect(skipReasonKey('not_on_whatsapp')).toBe('not_on_whatsapp')
    expect(skipReasonKey('something_new')).toBeNull()
    expect(skipReasonKey(null)).toBeNull()
  })
})
