// Sending-safety helpers for the instance health card and the campaign form:
// pure functions (tested in health.test.ts), no React.

/** An instance's health state as GET /v1/instances answers it. */
export type HealthState = 'ok' | 'locked' | 'paused' | 'banned' | 'logged_out' | 'disconnected'

/** Tone of a health state's badge: ok sends everything; locked and paused
 * still send to known contacts; banned, logged out and disconnected send nothing. */
export function healthTone(state: HealthState): 'ok' | 'warn' | 'bad' {
  if (state === 'ok') return 'ok'
  if (state === 'locked' || state === 'paused') return 'warn'
  return 'bad'
}

/** Time left until iso at now (ms), split into whole days, hours and minutes
 * (rounded up to the minute, so "0 min" is never shown while time is left);
 * null when iso is missing, unreadable or already past. */
export function timeLeft(iso: string | null | undefined, now: number): { d: number; h: number; m: number } | null {
  if (!iso) return null
  const end = Date.parse(iso)
  if (Number.isNaN(end) || end <= now) return null
  const minutes = Math.ceil((end - now) / 60_000)
  return { d: Math.floor(minutes / 1440), h: Math.floor((minutes % 1440) / 60), m: minutes % 60 }
}

/** A countdown such as "2 d 3 h", "3 h 05 min" or "12 min" (units read the
 * same in Portuguese and English); "" when nothing is left. Days drop the
 * minutes: a lock of days is not read to the minute. */
export function formatCountdown(iso: string | null | undefined, now: number): string {
  const left = timeLeft(iso, now)
  if (!left) return ''
  if (left.d > 0) return left.h > 0 ? `${left.d} d ${left.h} h` : `${left.d} d`
  if (left.h > 0) return `${left.h} h ${String(left.m).padStart(2, '0')} min`
  return `${left.m} min`
}

/** A share (0–1) as a percentage in lang ("86 %" / "86%"), whole unless digits says otherwise. */
export function formatShare(share: number, lang: string, digits = 0): string {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: digits }).format(share)
}

/** How full a budget is, 0–100, for a bar (a budget of 0 counts as full). */
export function usedPercent(used: number, budget: number): number {
  if (budget <= 0) return 100
  return Math.max(0, Math.min(100, Math.round((100 * used) / budget)))
}

/** The sending-safety fields of an instance, their bounds and safe defaults
 * (the API's; internal/campaign). */
export const SAFETY_BOUNDS = {
  newContactsPerDay: { min: 1, max: 500 },
  newContactsPerHour: { min: 1, max: 200 },
  identicalPerHour: { min: 1, max: 1000 },
} as const

export type SafetySettings = {
  newContactsPerDay: number
  newContactsPerHour: number
  identicalPerHour: number
  checkNumbers: boolean
  typing: boolean
}

export const SAFE_SAFETY: SafetySettings = {
  newContactsPerDay: 20,
  newContactsPerHour: 8,
  identicalPerHour: 10,
  checkNumbers: true,
  typing: true,
}

/** A pool is 2–20 of the tenant's instances; one instance is a plain campaign. */
export const POOL_MIN = 2
export const POOL_MAX = 20

/** The staged rollout as the form holds it: percentages and minutes. */
export type RolloutForm = { sharePct: number; holdMinutes: number; maxFailedPct: number; maxOptOutPct: number }

/** The API's rollout defaults (0.1, 60, 0.2, 0.02) as the form shows them. */
export const ROLLOUT_DEFAULTS: RolloutForm = { sharePct: 10, holdMinutes: 60, maxFailedPct: 20, maxOptOutPct: 2 }

/** The bounds the API holds a rollout to: a hold of 1 minute to 7 days, the
 * two thresholds 0–100 % (the first share is strictly between 0 and 100 %). */
export const ROLLOUT_BOUNDS = {
  holdMinutes: { min: 1, max: 7 * 24 * 60 },
  maxFailedPct: { min: 0, max: 100 },
  maxOptOutPct: { min: 0, max: 100 },
} as const

/** The request's rollout: the form's percentages as shares (0–1), rounded so
 * 2 % is 0.02 and not 0.020000000000000004. */
export function rolloutBody(f: RolloutForm): { share: number; holdMinutes: number; maxFailedShare: number; maxOptOutShare: number } {
  const share = (pct: number) => Math.round(pct * 100) / 10_000
  return { share: share(f.sharePct), holdMinutes: f.holdMinutes, maxFailedShare: share(f.maxFailedPct), maxOptOutShare: share(f.maxOptOutPct) }
}

/** The instance part of a campaign request: one instance as instanceId, a pool as instanceIds. */
export function instancesBody(mode: 'one' | 'pool', one: string, pool: readonly string[]): { instanceId: string } | { instanceIds: string[] } {
  return mode === 'pool' ? { instanceIds: [...new Set(pool)] } : { instanceId: one }
}

/** Why a pool choice is not acceptable (a message key suffix), or null. */
export function poolProblem(pool: readonly string[]): 'poolTooSmall' | 'poolTooLarge' | null {
  const n = new Set(pool).size
  if (n < POOL_MIN) return 'poolTooSmall'
  if (n > POOL_MAX) return 'poolTooLarge'
  return null
}

/** What a campaign's reason (English, written by the worker) is about, so the
 * page can say in the reader's language what happens next; null for a
 * reason with nothing to add. */
export type ReasonTopic = 'lock' | 'budget' | 'rollout' | 'quiet' | 'check'
export function reasonTopic(reason: string | null | undefined): ReasonTopic | null {
  if (!reason) return null
  const r = reason.toLowerCase()
  if (r.includes('new-contact lock')) return 'lock'
  if (r.includes('rollout')) return 'rollout'
  if (r.includes('new-contact budget') || r.includes('identical-text limit') || r.includes('send limit')) return 'budget'
  if (r.includes('quiet hours')) return 'quiet'
  if (r.includes('number check')) return 'check'
  return null
}

/** Whether a reason says the campaign waits (it goes on by itself) or was
 * paused (someone must resume it); other reasons are just reasons. */
export function reasonKind(reason: string): 'waiting' | 'paused' | 'other' {
  const r = reason.trimStart().toLowerCase()
  if (r.startsWith('waiting')) return 'waiting'
  if (r.startsWith('paused') || r.startsWith('auto-paused')) return 'paused'
  return 'other'
}

/** A recipient's skip reason in the catalogue's words (a key suffix), or
 * null when the API gave none or one this build does not know. */
export function skipReasonKey(code: string | null | undefined): 'not_on_whatsapp' | 'opted_out' | null {
  if (code === 'not_on_whatsapp' || code === 'opted_out') return code
  return null
}
