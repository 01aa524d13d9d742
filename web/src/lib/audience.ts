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
  /** Attribute conditions, ANDed: one row each. */
  where: WhereRow[]
}

/** The operators of a where condition, as the API names them. */
export const WHERE_OPS = ['eq', 'neq', 'in', 'exists', 'gt', 'lt'] as const
export type WhereOp = (typeof WHERE_OPS)[number]

/**
 * One attribute condition as typed: value is text; for in it is the values
 * separated by commas; exists takes none.
 */
export interface WhereRow {
  attribute: string
  op: WhereOp
  value: string
}

export const EMPTY_AUDIENCE: AudienceFields = { tagsAny: '', tagsAll: '', tagsNone: '', importId: '', excludeDays: '', where: [] }
export const EMPTY_WHERE: WhereRow = { attribute: '', op: 'eq', value: '' }

export const TAG_MAX_LEN = 64
export const TAGS_MAX = 50
export const EXCLUDE_DAYS_MAX = 365
export const CONDITIONS_MAX = 20
export const ATTRIBUTE_MAX_LEN = 64
export const VALUE_MAX_LEN = 256
export const IN_VALUES_MAX = 100

type Condition = NonNullable<Audience['where']>[number]

/** The values of an in condition typed as "SP, RJ": trimmed, empty ones dropped, repeats collapse. */
export function splitValues(text: string): string[] {
  return splitTags(text)
}

// A JSON number as the API reads one; anything else is compared as text.
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/

/**
 * The API's condition for a row: eq and neq compare text (the API compares an
 * attribute's text, so 10 and "10" are the same); gt and lt send a number when
 * the value is one (numeric comparison) and text otherwise (byte order, right
 * for ISO dates).
 */
export function whereCondition(r: WhereRow): Condition {
  const attribute = r.attribute.trim()
  const value = r.value.trim()
  switch (r.op) {
    case 'exists':
      return { attribute, op: 'exists' }
    case 'in':
      return { attribute, op: 'in', value: splitValues(r.value) }
    case 'gt':
    case 'lt':
      return { attribute, op: r.op, value: NUMBER.test(value) && Number.isFinite(Number(value)) ? Number(value) : value }
    default:
      return { attribute, op: r.op, value }
  }
}

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
  if (f.where.length) a.where = f.where.map(whereCondition)
  const days = f.excludeDays.trim()
  if (days !== '') a.excludeMessagedWithinDays = Number(days)
  if (!a.importId && !a.tags && !a.where && a.excludeMessagedWithinDays === undefined) return { all: true }
  // Exclusion alone still needs a part that selects: every contact.
  if (!a.importId && !a.tags && !a.where) a.all = true
  return a
}

export type AudienceProblemKey =
  | 'audience.badTag' | 'audience.tooManyTags' | 'audience.badDays' | 'audience.where.tooMany'
  | 'audience.where.attributeRequired' | 'audience.where.badAttribute' | 'audience.where.valueRequired'
  | 'audience.where.badValue' | 'audience.where.tooManyValues'

// Text the API refuses anywhere: NUL (invalid UTF-8 cannot be typed).
const hasNul = (s: string) => s.includes('\u0000')
const tooLong = (s: string, max: number) => [...s].length > max

/**
 * The first part of a condition the API would refuse, as [its field in the
 * row, catalogue key], or null. A value is required except for exists (a
 * blank one would match only an empty attribute, which is never meant).
 */
export function whereProblem(r: WhereRow): ['attribute' | 'value', AudienceProblemKey] | null {
  const attribute = r.attribute.trim()
  if (!attribute) return ['attribute', 'audience.where.attributeRequired']
  if (tooLong(attribute, ATTRIBUTE_MAX_LEN) || hasNul(attribute)) return ['attribute', 'audience.where.badAttribute']
  if (r.op === 'exists') return null
  const values = r.op === 'in' ? splitValues(r.value) : [r.value.trim()].filter(Boolean)
  if (values.length === 0) return ['value', 'audience.where.valueRequired']
  if (values.length > IN_VALUES_MAX) return ['value', 'audience.where.tooManyValues']
  if (values.some((v) => tooLong(v, VALUE_MAX_LEN) || hasNul(v))) return ['value', 'audience.where.badValue']
  return null
}

/**
 * The first field the API would refuse, as [field path, catalogue key], or
 * null when the fields are fine. A condition's path is "where.<row>.<field>".
 */
export function audienceProblem(f: AudienceFields): [string, AudienceProblemKey] | null {
  for (const k of ['tagsAny', 'tagsAll', 'tagsNone'] as const) {
    const tags = splitTags(f[k])
    if (tags.length > TAGS_MAX) return [k, 'audience.tooManyTags']
    if (tags.some((t) => [...t].length > TAG_MAX_LEN || /[|\u0000-\u001f\u007f]/.test(t))) return [k, 'audience.badTag']
  }
  if (f.where.length > CONDITIONS_MAX) return ['where', 'audience.where.tooMany']
  for (const [i, r] of f.where.entries()) {
    const p = whereProblem(r)
    if (p) return [`where.${i}.${p[0]}`, p[1]]
  }
  const days = f.excludeDays.trim()
  if (days !== '' && !(/^\d+$/.test(days) && Number(days) <= EXCLUDE_DAYS_MAX)) return ['excludeDays', 'audience.badDays']
  return null
}

/**
 * The API's refusals of where conditions (VALIDATION_FAILED details named
 * "audience.where[i]"), by row, so each is shown at its row; {} for any
 * other error.
 */
export function whereApiErrors(err: unknown): Record<number, { code: string; message: string }> {
  const out: Record<number, { code: string; message: string }> = {}
  const details = (err as { details?: unknown } | null)?.details
  if (!Array.isArray(details)) return out
  for (const d of details as { field?: unknown; code?: unknown; message?: unknown }[]) {
    const m = typeof d.field === 'string' ? /^audience\.where\[(\d+)\]$/.exec(d.field) : null
    if (m && out[Number(m[1])] === undefined) out[Number(m[1])] = { code: String(d.code ?? ''), message: String(d.message ?? '') }
  }
  return out
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
