// Form schemas shared by the instance and campaign forms, apart from the
// components so their rules are unit-tested (forms.test.ts). Messages are
// catalogue keys; the bounds are the API's.
import { z } from 'zod'
import { ROLLOUT_BOUNDS, SAFETY_BOUNDS } from '../lib/health'

export const int = (min: number, max: number) =>
  z.number({ error: 'form.number' }).int('form.integer').min(min, 'form.range').max(max, 'form.range')

/** The five sending-safety fields of an instance. */
export const safetySchema = z.object({
  newContactsPerDay: int(SAFETY_BOUNDS.newContactsPerDay.min, SAFETY_BOUNDS.newContactsPerDay.max),
  newContactsPerHour: int(SAFETY_BOUNDS.newContactsPerHour.min, SAFETY_BOUNDS.newContactsPerHour.max),
  identicalPerHour: int(SAFETY_BOUNDS.identicalPerHour.min, SAFETY_BOUNDS.identicalPerHour.max),
  checkNumbers: z.boolean(),
  typing: z.boolean(),
})

const pct = (min: number, max: number) => z.number({ error: 'form.number' }).min(min, 'form.range').max(max, 'form.range')

/** A staged rollout in the form's units: the first share in percent (more
 * than 0, less than 100; decimals allowed), the hold in whole minutes, the
 * two thresholds in percent. */
export const rolloutSchema = z.object({
  sharePct: z.number({ error: 'form.number' }).gt(0, 'form.range').lt(100, 'form.range'),
  holdMinutes: int(ROLLOUT_BOUNDS.holdMinutes.min, ROLLOUT_BOUNDS.holdMinutes.max),
  maxFailedPct: pct(ROLLOUT_BOUNDS.maxFailedPct.min, ROLLOUT_BOUNDS.maxFailedPct.max),
  maxOptOutPct: pct(ROLLOUT_BOUNDS.maxOptOutPct.min, ROLLOUT_BOUNDS.maxOptOutPct.max),
})
