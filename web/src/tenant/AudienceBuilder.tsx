import { useEffect, useRef, useState } from 'react'
import type { UseFormRegister } from 'react-hook-form'
import { api } from '../lib/api'
import { latestOnly, type Audience, type AudiencePreview } from '../lib/audience'
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

/** The count line under the audience: loading, the count (and opted-out apart), or the error. */
export function AudienceCount({ live }: { live: LiveCount }) {
  const { t } = useI18n()
  if (live.state === 'idle') return null
  if (live.state === 'error') return <div data-testid="audience-count"><ErrorMessage error={live.error} /></div>
  const p = live.state === 'ready' ? live.preview : live.last
  return (
    <p className="audience-count" data-testid="audience-count" aria-live="polite" aria-busy={live.state === 'loading'}>
      {p ? <strong data-testid="audience-count-n">{t('audience.count', { n: p.count })}</strong> : null}
      {p && p.optedOut > 0 ? ` ${t('audience.optedOut', { n: p.optedOut })}` : null}
      {live.state === 'loading' ? <span className="muted"> {t('audience.counting')}</span> : null}
    </p>
  )
}

type SegmentForm = { seg: { tagsAny: string; tagsAll: string; tagsNone: string; importId: string; excludeDays: string } }

const TAG_FIELDS: { name: 'tagsAny' | 'tagsAll' | 'tagsNone'; label: MessageKey }[] = [
  { name: 'tagsAny', label: 'audience.tagsAny' },
  { name: 'tagsAll', label: 'audience.tagsAll' },
  { name: 'tagsNone', label: 'audience.tagsNone' },
]

/** The filter fields: tags (any / all / none), an optional import, an optional exclusion window. */
export function AudienceFilters<F extends SegmentForm>(props: {
  register: UseFormRegister<F>
  imports: ImportJob[]
  errors: Partial<Record<keyof SegmentForm['seg'], string>>
}) {
  const { t } = useI18n()
  // The generic form is narrowed to the builder's part: its paths exist on every F.
  const register = props.register as unknown as UseFormRegister<SegmentForm>
  return (
    <div className="audience-builder">
      {TAG_FIELDS.map((f) => (
        <Field key={f.name} label={t(f.label)} help={t('audience.tags.help')} error={props.errors[f.name]}>
          {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} autoComplete="off" {...register(`seg.${f.name}`)} />}
        </Field>
      ))}
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
