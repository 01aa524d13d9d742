import { useEffect, useRef, useState } from 'react'
import { useFieldArray, type Control, type UseFormRegister } from 'react-hook-form'
import { api } from '../lib/api'
import {
  CONDITIONS_MAX, EMPTY_WHERE, latestOnly, WHERE_OPS, whereApiErrors,
  type Audience, type AudiencePreview, type WhereOp, type WhereRow,
} from '../lib/audience'
import { useI18n, type MessageKey } from '../lib/i18n'
import type { ImportJob } from '../lib/types'
import { ErrorMessage, Field } from '../components/ui'

/** How long the filters must stay still before the count is asked again. */
export const PREVIEW_DEBOUNCE_MS = 300

export type LiveCount =
  | { state: 'idle' }
  | { state: 'loading'; last?: AudiencePreview }
  | { state: 'ready'; preview: AudiencePreview }
  | { state: 'error'; error: unknown }

/**
 * The count of an audience, asked PREVIEW_DEBOUNCE_MS after its last change;
 * null (an invalid or inline audience) asks nothing. Only the newest
 * request's answer is shown.
 */
export function useLiveCount(audience: Audience | null): LiveCount {
  const key = audience ? JSON.stringify(audience) : ''
  const [live, setLive] = useState<LiveCount>({ state: 'idle' })
  const gate = useRef(latestOnly())
  useEffect(() => {
    const g = gate.current
    if (!key) {
      g.cancel()
      setLive({ state: 'idle' })
      return
    }
    const isLatest = g.start()
    setLive((l) => ({ state: 'loading', last: l.state === 'ready' ? l.preview : l.state === 'loading' ? l.last : undefined }))
    const timer = setTimeout(() => {
      api<AudiencePreview>('POST', '/v1/audiences/preview', { body: { audience: JSON.parse(key) as Audience } }).then(
        (preview) => { if (isLatest()) setLive({ state: 'ready', preview }) },
        (error: unknown) => { if (isLatest()) setLive({ state: 'error', error }) },
      )
    }, PREVIEW_DEBOUNCE_MS)
    return () => clearTimeout(timer)
  }, [key])
  useEffect(() => () => gate.current.cancel(), [])
  return live
}

/**
 * The count line under the audience (loading, the count — "about" when the
 * API estimated it — and opted-out apart, or the error), then the preview's sample: up to 10 of the counted contacts.
 */
export function AudienceCount({ live }: { live: LiveCount }) {
  const { t } = useI18n()
  if (live.state === 'idle') return null
  if (live.state === 'error') return <div data-testid="audience-count"><ErrorMessage error={live.error} /></div>
  const p = live.state === 'ready' ? live.preview : live.last
  return (
    <div className="audience-count" data-testid="audience-count" aria-live="polite" aria-busy={live.state === 'loading'}>
      <p>
        {p ? <strong data-testid="audience-count-n">{t(p.countIsEstimate ? 'audience.countEstimate' : 'audience.count', { n: p.count })}</strong> : null}
        {p && p.optedOut > 0 ? ` ${t('audience.optedOut', { n: p.optedOut })}` : null}
        {live.state === 'loading' ? <span className="muted"> {t('audience.counting')}</span> : null}
      </p>
      {p && <AudienceSample sample={p.sample} />}
    </div>
  )
}

/** The preview's sample contacts: name, phone and tags, newest first. */
function AudienceSample({ sample }: { sample: AudiencePreview['sample'] }) {
  const { t } = useI18n()
  if (sample.length === 0) return <p className="muted" data-testid="audience-sample">{t('audience.sample.none')}</p>
  return (
    <div data-testid="audience-sample">
      <p className="muted">{t('audience.sample')}</p>
      <ul className="audience-sample">
        {sample.map((c) => (
          <li key={c.id}>
            <span>{c.name || `+${c.phone}`}</span>
            {c.name ? <span className="muted"> +{c.phone}</span> : null}
            {c.tags.map((tag) => <span key={tag} className="tag">{tag}</span>)}
          </li>
        ))}
      </ul>
    </div>
  )
}

type SegmentForm = {
  seg: { tagsAny: string; tagsAll: string; tagsNone: string; importId: string; excludeDays: string; where: WhereRow[] }
}

/** Field errors of the builder: the fixed fields by name, conditions by row. */
export type SegmentErrors = Partial<Record<'tagsAny' | 'tagsAll' | 'tagsNone' | 'importId' | 'excludeDays' | 'where', string>> & {
  rows?: ({ attribute?: string; value?: string } | undefined)[]
}

const TAG_FIELDS: { name: 'tagsAny' | 'tagsAll' | 'tagsNone'; label: MessageKey }[] = [
  { name: 'tagsAny', label: 'audience.tagsAny' },
  { name: 'tagsAll', label: 'audience.tagsAll' },
  { name: 'tagsNone', label: 'audience.tagsNone' },
]

/**
 * The filter fields: tags (any / all / none), attribute conditions, an
 * optional import, an optional exclusion window. apiError is the last
 * refusal of the preview or of the create: its where details show at their rows.
 */
export function AudienceFilters<F extends SegmentForm>(props: {
  register: UseFormRegister<F>
  control: Control<F>
  imports: ImportJob[]
  rows: Partial<WhereRow>[]
  errors: SegmentErrors
  apiError?: unknown
}) {
  const { t } = useI18n()
  // The generic form is narrowed to the builder's part: its paths exist on every F.
  const register = props.register as unknown as UseFormRegister<SegmentForm>
  const control = props.control as unknown as Control<SegmentForm>
  return (
    <div className="audience-builder">
      {TAG_FIELDS.map((f) => (
        <Field key={f.name} label={t(f.label)} help={t('audience.tags.help')} error={props.errors[f.name]}>
          {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} autoComplete="off" {...register(`seg.${f.name}`)} />}
        </Field>
      ))}
      <WhereRows register={register} control={control} rows={props.rows} errors={props.errors} apiError={props.apiError} />
      <Field label={t('audience.import')} error={props.errors.importId}>
        {({ id, describedBy }) => (
          <select id={id} aria-describedby={describedBy} {...register('seg.importId')}>
            <option value="">{t('audience.anyImport')}</option>
            {props.imports.filter((j) => j.status === 'completed').map((j) => (
              <option key={j.id} value={j.id}>{(j.fileName || j.id.slice(0, 8)) + ` (${j.imported + j.updated})`}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t('audience.excludeDays')} help={t('audience.excludeDays.help')} error={props.errors.excludeDays}>
        {({ id, describedBy, invalid }) => <input id={id} type="number" min={0} max={365} step={1} inputMode="numeric" aria-describedby={describedBy} aria-invalid={invalid} {...register('seg.excludeDays')} />}
      </Field>
    </div>
  )
}

const OP_HELP: Partial<Record<WhereOp, MessageKey>> = {
  in: 'audience.where.help.in', exists: 'audience.where.help.exists', gt: 'audience.where.help.cmp',
  lt: 'audience.where.help.cmp', neq: 'audience.where.help.neq',
}

/** The where conditions: a row per condition (attribute, op, a value fitting the op), added and removed. */
function WhereRows(props: {
  register: UseFormRegister<SegmentForm>
  control: Control<SegmentForm>
  rows: Partial<WhereRow>[]
  errors: SegmentErrors
  apiError?: unknown
}) {
  const { t } = useI18n()
  const { fields, append, remove } = useFieldArray({ control: props.control, name: 'seg.where' })
  const refused = whereApiErrors(props.apiError)
  return (
    <fieldset className="where" data-testid="audience-where">
      <legend>{t('audience.where')}</legend>
      <p className="help">{t('audience.where.help')}</p>
      {fields.map((f, i) => {
        const op = props.rows[i]?.op ?? 'eq'
        const err = props.errors.rows?.[i]
        const help = OP_HELP[op]
        return (
          <fieldset key={f.id} className="where-row" aria-label={t('audience.where.row', { n: i + 1 })}>
            <Field label={t('audience.where.attribute')} error={err?.attribute}>
              {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} autoComplete="off" {...props.register(`seg.where.${i}.attribute`)} />}
            </Field>
            <Field label={t('audience.where.op')}>
              {({ id, describedBy }) => (
                <select id={id} aria-describedby={describedBy} {...props.register(`seg.where.${i}.op`)}>
                  {WHERE_OPS.map((o) => <option key={o} value={o}>{t(`audience.where.op.${o}`)}</option>)}
                </select>
              )}
            </Field>
            {op !== 'exists' ? (
              <Field label={t(op === 'in' ? 'audience.where.values' : 'audience.where.value')} help={help ? t(help) : undefined} error={err?.value}>
                {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} autoComplete="off" {...props.register(`seg.where.${i}.value`)} />}
              </Field>
            ) : <p className="help where-novalue">{t('audience.where.help.exists')}</p>}
            <button type="button" className="secondary" onClick={() => remove(i)}>{t('audience.where.remove', { n: i + 1 })}</button>
            {refused[i] && (
              <p className="field-error where-refused" role="alert">
                {t('audience.where.refused', { code: refused[i].code })} {refused[i].message}
              </p>
            )}
          </fieldset>
        )
      })}
      {props.errors.where && <p className="field-error">{props.errors.where}</p>}
      <button type="button" className="secondary" disabled={fields.length >= CONDITIONS_MAX} onClick={() => append({ ...EMPTY_WHERE })}>
        {t('audience.where.add')}
      </button>
      {fields.length >= CONDITIONS_MAX && <p className="help">{t('audience.where.tooMany')}</p>}
    </fieldset>
  )
}
