import { useId, useMemo, useRef, useState } from 'react'
import { useForm, useWatch, type FieldErrors, type UseFormRegister } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { z } from 'zod'
import { useNavigate } from 'react-router'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, ApiError, idempotencyKey, withQuery, type Page } from '../lib/api'
import { useI18n, type MessageKey } from '../lib/i18n'
import { instancesBody, poolProblem, ROLLOUT_BOUNDS, ROLLOUT_DEFAULTS, rolloutBody, type RolloutForm } from '../lib/health'
import { missingVariables, variantCount, variants, type SampleContact } from '../lib/preview'
import { zonedToUtc } from '../lib/time'
import type { CampaignCreated, Contact, ImportJob, Instance } from '../lib/types'
import { ErrorMessage, Field, useTitle } from '../components/ui'
import { rolloutSchema } from './forms'
import { useInstances, useMe, useZone } from './hooks'
import { MediaBubble, MediaPicker, type Attached } from './MediaPicker'
import { mediaKind } from '../lib/media'
import { audienceBody, audienceProblem, EMPTY_AUDIENCE, WHERE_OPS, type Audience, type WhereRow } from '../lib/audience'
import { AudienceCount, AudienceFilters, useLiveCount } from './AudienceBuilder'

const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/

// A number or NaN (an emptied number input): rolloutSchema judges them, only when the rollout is on.
const num = z.number().or(z.nan())

export const campaignSchema = z
  .object({
    name: z.string().trim().max(200, 'form.tooLong'),
    sendFrom: z.enum(['one', 'pool']),
    instanceId: z.string(),
    pool: z.array(z.string()),
    rolloutOn: z.boolean(),
    rollout: z.object({ sharePct: num, holdMinutes: num, maxFailedPct: num, maxOptOutPct: num }),
    audience: z.enum(['all', 'import', 'segment', 'pasted']),
    // The builder's fields, used when audience is 'segment'.
    seg: z.object({
      tagsAny: z.string(), tagsAll: z.string(), tagsNone: z.string(), importId: z.string(), excludeDays: z.string(),
      where: z.array(z.object({ attribute: z.string(), op: z.enum(WHERE_OPS), value: z.string() })),
    }),
    importId: z.string(),
    pasted: z.string(),
    // Required unless media is attached (it is then the caption): checked below.
    message: z.string().trim().max(4096, 'form.tooLong'),
    hasMedia: z.boolean(),
    when: z.enum(['now', 'later']),
    scheduledAt: z.string(),
    quiet: z.enum(['default', 'custom']),
    quietStart: z.string(),
    quietEnd: z.string(),
  })
  .superRefine((v, ctx) => {
    if (!v.hasMedia && !v.message) ctx.addIssue({ code: 'custom', path: ['message'], message: 'campaign.messageRequired' })
    if (v.sendFrom === 'one' && !v.instanceId) ctx.addIssue({ code: 'custom', path: ['instanceId'], message: 'campaign.pickInstance' })
    const pool = v.sendFrom === 'pool' ? poolProblem(v.pool) : null
    if (pool) ctx.addIssue({ code: 'custom', path: ['pool'], message: `campaign.${pool}` })
    if (v.rolloutOn) {
      for (const i of rolloutSchema.safeParse(v.rollout).error?.issues ?? []) ctx.addIssue({ code: 'custom', path: ['rollout', ...i.path.map(String)], message: i.message })
    }
    if (v.audience === 'import' && !v.importId) ctx.addIssue({ code: 'custom', path: ['importId'], message: 'campaign.pickImport' })
    const seg = v.audience === 'segment' ? audienceProblem(v.seg) : null
    if (seg) ctx.addIssue({ code: 'custom', path: ['seg', ...seg[0].split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p))], message: seg[1] })
    if (v.audience === 'pasted' && parsePasted(v.pasted).length === 0) ctx.addIssue({ code: 'custom', path: ['pasted'], message: 'campaign.pasteSome' })
    if (v.audience === 'pasted' && parsePasted(v.pasted).length > 10000) ctx.addIssue({ code: 'custom', path: ['pasted'], message: 'campaign.pasteTooMany' })
    if (v.when === 'later' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v.scheduledAt)) ctx.addIssue({ code: 'custom', path: ['scheduledAt'], message: 'campaign.pickTime' })
    if (v.quiet === 'custom' && !hhmm.test(v.quietStart)) ctx.addIssue({ code: 'custom', path: ['quietStart'], message: 'campaign.badHour' })
    if (v.quiet === 'custom' && !hhmm.test(v.quietEnd)) ctx.addIssue({ code: 'custom', path: ['quietEnd'], message: 'campaign.badHour' })
  })
type Form = z.infer<typeof campaignSchema>

/** The stored-contacts audience the form selects, or null for pasted phones or while a choice is missing or invalid. */
export function formAudience(f: Pick<Form, 'audience' | 'importId' | 'seg'>): Audience | null {
  if (f.audience === 'all') return { all: true }
  if (f.audience === 'import') return f.importId ? { importId: f.importId } : null
  if (f.audience === 'segment') return audienceProblem(f.seg) ? null : audienceBody(f.seg)
  return null
}

/** Pasted recipients: one per line, "phone" or "phone, name" (also ; or tab). */
export function parsePasted(text: string): { phone: string; name?: string }[] {
  const out: { phone: string; name?: string }[] = []
  for (const line of text.split(/\r?\n/)) {
    const [phone, ...rest] = line.split(/[,;\t]/).map((s) => s.trim())
    if (!phone) continue
    const name = rest.join(' ').trim()
    out.push(name ? { phone, name } : { phone })
  }
  return out
}

export function CampaignNew() {
  const { t } = useI18n()
  useTitle(t('campaigns.new'))
  const zone = useZone()
  const me = useMe()
  const qc = useQueryClient()
  const navigate = useNavigate()
  const instances = useInstances()
  const imports = useQuery({ queryKey: ['imports'], queryFn: () => api<Page<ImportJob>>('GET', withQuery('/v1/imports', { limit: 50 })) })
  const sample = useQuery({ queryKey: ['contacts', 'sample'], queryFn: () => api<Page<Contact>>('GET', withQuery('/v1/contacts', { limit: 1 })) })
  // One key per form: a double click, or a retry after a lost answer, never creates a second campaign.
  const idem = useRef(idempotencyKey())
  const [result, setResult] = useState<CampaignCreated | null>(null)
  const [attached, setAttached] = useState<Attached>({ state: 'none' })

  const { register, handleSubmit, formState, control, setValue } = useForm<Form>({
    resolver: zodResolver(campaignSchema),
    defaultValues: {
      name: '', sendFrom: 'one', instanceId: '', pool: [], rolloutOn: false, rollout: { ...ROLLOUT_DEFAULTS },
      audience: 'all', importId: '', seg: { ...EMPTY_AUDIENCE }, pasted: '', hasMedia: false,
      message: 'Olá {{name}}, {tudo bem|como vai}?', when: 'now', scheduledAt: '',
      quiet: 'default', quietStart: '21:00', quietEnd: '08:00',
    },
  })
  const v = useWatch({ control })
  const rows = (v.seg?.where ?? []) as Partial<WhereRow>[]
  const live = useLiveCount(formAudience({
    audience: v.audience ?? 'all', importId: v.importId ?? '',
    seg: { ...EMPTY_AUDIENCE, ...v.seg, where: rows.map((r) => ({ attribute: r.attribute ?? '', op: r.op ?? 'eq', value: r.value ?? '' })) },
  }))

  const create = useMutation({
    mutationFn: (f: Form) => {
      const body: Record<string, unknown> = { ...instancesBody(f.sendFrom, f.instanceId, f.pool), message: f.message }
      if (attached.state === 'ready') body.media = { mediaId: attached.media.id }
      if (f.rolloutOn) body.rollout = rolloutBody(f.rollout as RolloutForm)
      if (f.name.trim()) body.name = f.name.trim()
      if (f.audience === 'pasted') body.contacts = parsePasted(f.pasted)
      else body.audience = formAudience(f)
      if (f.when === 'later') body.scheduledAt = zonedToUtc(f.scheduledAt, zone)
      if (f.quiet === 'custom') body.quietHours = { start: f.quietStart, end: f.quietEnd }
      return api<CampaignCreated>('POST', '/v1/campaigns', { body, headers: { 'Idempotency-Key': idem.current } })
    },
    onError: (err) => {
      // The server answered and refused: nothing was created, so the fixed form is a new request.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) idem.current = idempotencyKey()
    },
    onSuccess: (r) => {
      setResult(r)
      void qc.invalidateQueries({ queryKey: ['campaigns'] })
    },
  })

  const contact: SampleContact = useMemo(() => {
    if (v.audience === 'pasted') {
      const first = parsePasted(v.pasted ?? '')[0]
      if (first) return first
    }
    const c = sample.data?.items[0]
    if (c) return { phone: c.phone, name: c.name ?? undefined, attributes: c.attributes ?? undefined }
    return { phone: '5511999990000', name: 'Maria' }
  }, [v.audience, v.pasted, sample.data])
  const message = v.message ?? ''
  const shown = variants(message, contact, 5)
  const total = variantCount(message)
  const missing = missingVariables(message, contact)
  const e = formState.errors
  const media = attached.state === 'ready'
    ? { kind: attached.media.kind, fileName: attached.media.fileName, preview: attached.preview }
    : attached.state === 'busy'
      ? { kind: mediaKind(attached.file.type), fileName: attached.file.name, preview: attached.preview }
      : null
  const msg = (m?: string) => (m ? t(m as MessageKey) : undefined)
  const tenantQuiet = me.data?.tenant.quietHours

  if (result) {
    return (
      <section className="card" aria-live="polite">
        <h1>{t('campaign.created')}</h1>
        <p>{t('campaign.createdCounts', { n: result.contactCount, skipped: result.skipped, invalid: result.invalid.length })}</p>
        {result.warnings?.map((w) => <p key={w} className="alert alert-warn" data-testid="create-warning">{t(`campaign.warning.${w}`)}</p>)}
        {!!result.missingVars?.length && <p className="alert alert-warn">{t('campaign.missingVarsSome', { vars: result.missingVars.map((m) => m.var).join(', ') })}</p>}
        {result.invalid.length > 0 && (
          <details>
            <summary>{t('campaign.invalidList')}</summary>
            <ul>{result.invalid.slice(0, 100).map((i) => <li key={i.index}>{i.phone || `#${i.index + 1}`}: {i.code}</li>)}</ul>
          </details>
        )}
        <button type="button" onClick={() => navigate(`/campaigns/${result.jobId}`)}>{t('campaign.open')}</button>
      </section>
    )
  }

  return (
    <section>
      <h1>{t('campaigns.new')}</h1>
      <form className="campaign-form" onSubmit={handleSubmit((f) => !create.isPending && attached.state !== 'busy' && create.mutate(f))} noValidate>
        <div className="card">
          <Field label={t('campaigns.name')} error={msg(e.name?.message)}>
            {({ id, describedBy }) => <input id={id} aria-describedby={describedBy} {...register('name')} />}
          </Field>
          <fieldset className="radios">
            <legend>{t('campaign.sendFrom')}</legend>
            <label><input type="radio" value="one" {...register('sendFrom')} /> {t('campaign.sendFrom.one')}</label>
            <label><input type="radio" value="pool" {...register('sendFrom')} /> {t('campaign.sendFrom.pool')}</label>
          </fieldset>
          {v.sendFrom !== 'pool' ? (
            <Field label={t('campaign.instance')} help={instances.data?.items.length === 0 ? t('campaign.noInstances') : undefined} error={msg(e.instanceId?.message)}>
              {({ id, describedBy, invalid }) => (
                <select id={id} aria-describedby={describedBy} aria-invalid={invalid} {...register('instanceId')}>
                  <option value="">{t('campaign.choose')}</option>
                  {instances.data?.items.map((i) => <option key={i.id} value={i.id}>{i.name}</option>)}
                </select>
              )}
            </Field>
          ) : (
            <PoolPicker
              items={instances.data?.items ?? []}
              value={v.pool ?? []}
              error={msg(e.pool?.message)}
              onChange={(next) => setValue('pool', next, { shouldValidate: formState.isSubmitted })}
            />
          )}
          <fieldset className="radios">
            <legend>{t('campaign.audience')}</legend>
            <label><input type="radio" value="all" {...register('audience')} /> {t('campaign.audience.all')}</label>
            <label><input type="radio" value="import" {...register('audience')} /> {t('campaign.audience.import')}</label>
            <label><input type="radio" value="segment" {...register('audience')} /> {t('campaign.audience.segment')}</label>
            <label><input type="radio" value="pasted" {...register('audience')} /> {t('campaign.audience.pasted')}</label>
          </fieldset>
          {v.audience === 'import' && (
            <Field label={t('campaign.import')} error={msg(e.importId?.message)}>
              {({ id, describedBy, invalid }) => (
                <select id={id} aria-describedby={describedBy} aria-invalid={invalid} {...register('importId')}>
                  <option value="">{t('campaign.choose')}</option>
                  {imports.data?.items.filter((j) => j.status === 'completed').map((j) => (
                    <option key={j.id} value={j.id}>{(j.fileName || j.id.slice(0, 8)) + ` (${j.imported + j.updated})`}</option>
                  ))}
                </select>
              )}
            </Field>
          )}
          {v.audience === 'segment' && (
            <AudienceFilters register={register} control={control} imports={imports.data?.items ?? []} rows={rows}
              apiError={live.state === 'error' ? live.error : create.error}
              errors={{
                tagsAny: msg(e.seg?.tagsAny?.message), tagsAll: msg(e.seg?.tagsAll?.message), tagsNone: msg(e.seg?.tagsNone?.message),
                excludeDays: msg(e.seg?.excludeDays?.message), where: msg(e.seg?.where?.message),
                rows: rows.map((_, i) => ({ attribute: msg(e.seg?.where?.[i]?.attribute?.message), value: msg(e.seg?.where?.[i]?.value?.message) })),
              }} />
          )}
          {v.audience !== 'pasted' && <AudienceCount live={live} />}
          {v.audience === 'pasted' && (
            <Field label={t('campaign.pasted')} help={t('campaign.pasted.help')} error={msg(e.pasted?.message)}>
              {({ id, describedBy, invalid }) => <textarea id={id} rows={5} aria-describedby={describedBy} aria-invalid={invalid} {...register('pasted')} />}
            </Field>
          )}
        </div>

        <MediaPicker value={attached} onChange={(a) => {
          setAttached(a)
          setValue('hasMedia', a.state === 'ready', { shouldValidate: formState.isSubmitted })
        }} />

        <div className="card editor">
          <Field label={t('campaign.message')} help={attached.state === 'ready' ? `${t('campaign.message.help')} ${t('campaign.captionOptional')}` : t('campaign.message.help')} error={msg(e.message?.message)}>
            {({ id, describedBy, invalid }) => <textarea id={id} rows={6} aria-describedby={describedBy} aria-invalid={invalid} {...register('message')} />}
          </Field>
          <div className="preview" aria-live="polite" data-testid="preview">
            <h2>{t('campaign.preview')}</h2>
            <p className="muted">{t('campaign.previewFor', { who: contact.name ? `${contact.name} (+${contact.phone})` : `+${contact.phone}` })}</p>
            <ol className="bubbles">
              {media
                ? (shown.length ? shown : ['']).map((s, i) => <MediaBubble key={i} kind={media.kind} fileName={media.fileName} preview={media.preview} caption={s} />)
                : shown.map((s, i) => <li key={i} className="bubble">{s}</li>)}
            </ol>
            <p className="muted">{t('campaign.variants', { n: total })}</p>
            {missing.length > 0 && <p className="alert alert-warn">{t('campaign.missingVars', { vars: missing.join(', ') })}</p>}
          </div>
        </div>

        <RolloutFields register={register} on={!!v.rolloutOn} errors={e.rollout} />

        <div className="card">
          <fieldset className="radios">
            <legend>{t('campaign.when')}</legend>
            <label><input type="radio" value="now" {...register('when')} /> {t('campaign.when.now')}</label>
            <label><input type="radio" value="later" {...register('when')} /> {t('campaign.when.later')}</label>
          </fieldset>
          {v.when === 'later' && (
            <Field label={t('campaign.scheduledAt', { zone })} error={msg(e.scheduledAt?.message)}>
              {({ id, describedBy, invalid }) => <input id={id} type="datetime-local" aria-describedby={describedBy} aria-invalid={invalid} {...register('scheduledAt')} />}
            </Field>
          )}
          <fieldset className="radios">
            <legend>{t('campaign.quiet')}</legend>
            <label><input type="radio" value="default" {...register('quiet')} /> {tenantQuiet ? t('campaign.quiet.default', { start: tenantQuiet.start, end: tenantQuiet.end }) : t('campaign.quiet.none')}</label>
            <label><input type="radio" value="custom" {...register('quiet')} /> {t('campaign.quiet.custom')}</label>
          </fieldset>
          {v.quiet === 'custom' && (
            <div className="grid">
              <Field label={t('campaign.quietStart')} help={t('campaign.quiet.help', { zone })} error={msg(e.quietStart?.message)}>
                {({ id, describedBy, invalid }) => <input id={id} type="time" aria-describedby={describedBy} aria-invalid={invalid} {...register('quietStart')} />}
              </Field>
              <Field label={t('campaign.quietEnd')} error={msg(e.quietEnd?.message)}>
                {({ id, describedBy, invalid }) => <input id={id} type="time" aria-describedby={describedBy} aria-invalid={invalid} {...register('quietEnd')} />}
              </Field>
            </div>
          )}
        </div>
        {attached.state === 'busy' && formState.isSubmitted && <p className="alert alert-warn">{t('media.wait')}</p>}
        <ErrorMessage error={create.error} />
        <button type="submit" disabled={create.isPending}>{create.isPending ? t('common.sending') : t('campaign.submit')}</button>
      </form>
    </section>
  )
}

/** Checkboxes for a pool of the tenant's instances (2–20). */
function PoolPicker(props: { items: Instance[]; value: string[]; error?: string; onChange: (next: string[]) => void }) {
  const { t } = useI18n()
  const id = useId()
  const toggle = (instanceId: string, on: boolean) =>
    props.onChange(on ? [...props.value.filter((x) => x !== instanceId), instanceId] : props.value.filter((x) => x !== instanceId))
  return (
    <fieldset className="radios" aria-describedby={`${id}-help${props.error ? ` ${id}-err` : ''}`} aria-invalid={!!props.error}>
      <legend>{t('campaign.pool')}</legend>
      {props.items.length === 0 && <p className="help">{t('campaign.noInstances')}</p>}
      {props.items.map((i) => (
        <label key={i.id}>
          <input type="checkbox" checked={props.value.includes(i.id)} onChange={(ev) => toggle(i.id, ev.target.checked)} /> {i.name}
        </label>
      ))}
      <p className="help" id={`${id}-help`}>{t('campaign.pool.help')}</p>
      {props.error && <p className="field-error" id={`${id}-err`}>{props.error}</p>}
    </fieldset>
  )
}

const ROLLOUT_FIELDS: { name: keyof RolloutForm; label: MessageKey; help: MessageKey }[] = [
  { name: 'sharePct', label: 'campaign.rollout.share', help: 'campaign.rollout.share.help' },
  { name: 'holdMinutes', label: 'campaign.rollout.hold', help: 'campaign.rollout.hold.help' },
  { name: 'maxFailedPct', label: 'campaign.rollout.maxFailed', help: 'campaign.rollout.maxFailed.help' },
  { name: 'maxOptOutPct', label: 'campaign.rollout.maxOptOut', help: 'campaign.rollout.maxOptOut.help' },
]

/** The staged rollout: off by default; on, its four settings at the API's defaults. */
function RolloutFields(props: { register: UseFormRegister<Form>; on: boolean; errors: FieldErrors<Form>['rollout'] }) {
  const { t } = useI18n()
  return (
    <div className="card">
      <fieldset className="radios">
        <legend>{t('campaign.rollout')}</legend>
        <label className="check"><input type="checkbox" {...props.register('rolloutOn')} /> {t('campaign.rollout.on')}</label>
        <p className="help">{t('campaign.rollout.help')}</p>
      </fieldset>
      {props.on && (
        <div className="grid">
          {ROLLOUT_FIELDS.map((f) => {
            const err = props.errors?.[f.name]?.message
            const b = f.name === 'holdMinutes' ? ROLLOUT_BOUNDS.holdMinutes : { min: 0, max: 100 }
            return (
              <Field key={f.name} label={t(f.label)} help={t(f.help, { v: ROLLOUT_DEFAULTS[f.name], min: b.min, max: b.max })} error={err ? t(err as MessageKey) : undefined}>
                {({ id, describedBy, invalid }) => (
                  <input id={id} type="number" step={f.name === 'holdMinutes' ? 1 : 'any'} inputMode="decimal" aria-describedby={describedBy} aria-invalid={invalid}
                    {...props.register(`rollout.${f.name}`, { valueAsNumber: true })} />
                )}
              </Field>
            )
          })}
        </div>
      )}
    </div>
  )
}
