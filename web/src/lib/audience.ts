// The campaign form's audience builder: the form's fields as the API's
// `audience` object (the same body for POST /v1/audiences/preview and for
// POST /v1/campaigns), its checks with the API's bounds, and the rule that
// only the newest preview answer is shown.
import type { components } from './api.gen'

export type Audience = components['schemas']['Audience']
export type AudiencePreview = components['schemas']['AudiencePreview']

/** The builder's fields as typed: tag lists are comma-separated text. */
export interface AudienceFields {
  tagsAny: string
  tagsAll: string
  tagsNone: string
  /** An import's id, or '' for contacts of every import. */
  importId: string
  /** Whole days 0–365, or '' for no exclusion. */
  excludeDays: string
}

export const EMPTY_AUDIENCE: AudienceFields = { tagsAny: '', tagsAll: '', tagsNone: '', importId: '', excludeDays: '' }

export const TAG_MAX_LEN = 64
export const TAGS_MAX = 50
export const EXCLUDE_DAYS_MAX = 365

/** Tags typed as "vip, sp,vip": trimmed, empty ones dropped, repeats collapse to the first. */
export function splitTags(text: string): string[] {
  const out: string[] = []
  for (const raw of text.split(',')) {
    const tag = raw.trim()
    if (tag && !out.includes(tag)) out.push(tag)
  }
  return out
}

/** The API's audience for the fields; with no part chosen it is every contact ({all: true}). */
export function audienceBody(f: AudienceFields): Audience {
  const a: Audience = {}
  if (f.importId) a.importId = f.importId
  const any = splitTags(f.tagsAny), all = splitTags(f.tagsAll), none = splitTags(f.tagsNone)
  if (any.length || all.length || none.length) {
    a.tags = {}
    if (any.length) a.tags.any = any
    if (all.length) a.tags.all = all
    if (none.length) a.tags.none = none
  }
  const days = f.excludeDays.trim()
  if (days !== '') a.excludeMessagedWithinDays = Number(days)
  if (!a.importId && !a.tags && a.excludeMessagedWithinDays === undefined) return { all: true }
  // Exclusion alone still needs a part that selects: every contact.
  if (!a.importId && !a.tags) a.all = true
  return a
}

/** The first field the API would refuse, as [field, catalogue key], or null when the fields are fine. */
export function audienceProblem(f: AudienceFields): [keyof AudienceFields, 'audience.badTag' | 'audience.tooManyTags' | 'audience.badDays'] | null {
  for (const k of ['tagsAny', 'tagsAll', 'tagsNone'] as const) {
    const tags = splitTags(f[k])
    if (tags.length > TAGS_MAX) return [k, 'audience.tooManyTags']
    if (tags.some((t) => [...t].length > TAG_MAX_LEN || /[|\u0000-\u001f\u007f]/.test(t))) return [k, 'audience.badTag']
  }
  const days = f.excludeDays.trim()
  if (days !== '' && !(/^\d+$/.test(days) && Number(days) <= EXCLUDE_DAYS_MAX)) return ['excludeDays', 'audience.badDays']
  return null
}

/**
 * Numbers each request; an answer is shown only when no later request was
 * started after it, so a slow answer to an older filter never replaces the
 * count of the newer one.
 */
export function latestOnly() {
  let seq = 0
  return {
    /** Starts a request: returns a check that says whether it is still the newest. */
    start(): () => boolean {
      const mine = ++seq
      return () => mine === seq
    },
    /** Makes every request started so far stale (the builder was left). */
    cancel(): void {
      seq++
    },
  }
}
