import { useEffect, useId, useState } from 'react'
import { useForm, type UseFormRegister, type UseFormRegisterReturn, type FieldErrors } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { z } from 'zod'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, ApiError } from '../lib/api'
import { useI18n, type MessageKey } from '../lib/i18n'
import { SAFE_SAFETY, SAFETY_BOUNDS, type SafetySettings } from '../lib/health'
import { SAFE_LIMITS, type Instance, type InstanceLimits } from '../lib/types'
import { Badge, ErrorMessage, Field, Loading, useTitle } from '../components/ui'
import { HealthCard } from './HealthCard'
import { int, safetySchema } from './forms'
import { useInstances } from './hooks'

const limitsSchema = z
  .object({
    // The API's bounds (internal/httpapi/instances.go); the safe values are the defaults, not the limits.
    messagesPerMinute: int(1, 1000),
    minDelayMs: int(0, 3_600_000),
    maxDelayMs: int(0, 3_600_000),
    hourlyCap: int(1, 1_000_000),
    dailyCap: int(1, 10_000_000),
    warmupDays: int(0, 365),
    maxInFlight: int(1, 100),
  })
  .refine((v) => v.minDelayMs <= v.maxDelayMs, { path: ['maxDelayMs'], message: 'instances.maxBelowMin' })

const createSchema = z.object({
  name: z.string().trim().min(1, 'form.required').max(100, 'form.tooLong'),
  baseUrl: z.string().trim().regex(/^https?:\/\/[^\s/]+/i, 'instances.badUrl'),
  token: z.string().trim().min(1, 'form.required'),
  configureWebhook: z.boolean(),
  limits: limitsSchema,
  safety: safetySchema,
})
type CreateForm = z.infer<typeof createSchema>

/** The limit fields, each with the reason for its safe default. */
const LIMIT_FIELDS: { name: keyof InstanceLimits; label: MessageKey; help: MessageKey }[] = [
  { name: 'messagesPerMinute', label: 'limits.messagesPerMinute', help: 'limits.messagesPerMinute.help' },
  { name: 'minDelayMs', label: 'limits.minDelayMs', help: 'limits.minDelayMs.help' },
  { name: 'maxDelayMs', label: 'limits.maxDelayMs', help: 'limits.maxDelayMs.help' },
  { name: 'hourlyCap', label: 'limits.hourlyCap', help: 'limits.hourlyCap.help' },
  { name: 'dailyCap', label: 'limits.dailyCap', help: 'limits.dailyCap.help' },
  { name: 'warmupDays', label: 'limits.warmupDays', help: 'limits.warmupDays.help' },
  { name: 'maxInFlight', label: 'limits.maxInFlight', help: 'limits.maxInFlight.help' },
]

function LimitsFields<F extends { limits: InstanceLimits }>(props: {
  register: UseFormRegister<F>
  errors: FieldErrors<F>
}) {
  const { t } = useI18n()
  const reg = props.register as unknown as UseFormRegister<{ limits: InstanceLimits }>
  const errs = (props.errors as FieldErrors<{ limits: InstanceLimits }>).limits
  return (
    <fieldset className="limits">
      <legend>{t('limits.legend')}</legend>
      <p className="help">{t('limits.intro')}</p>
      <div className="grid">
        {LIMIT_FIELDS.map((f) => {
          const msg = errs?.[f.name]?.message
          return (
            <Field key={f.name} label={t(f.label)} help={t(f.help, { v: SAFE_LIMITS[f.name] })} error={msg ? t(msg as MessageKey) : undefined}>
              {({ id, describedBy, invalid }) => (
                <input id={id} type="number" inputMode="numeric" aria-describedby={describedBy} aria-invalid={invalid}
                  {...reg(`limits.${f.name}`, { valueAsNumber: true })} />
              )}
            </Field>
          )
        })}
      </div>
    </fieldset>
  )
}

/** The sending-safety number fields, each with its safe default and range. */
const SAFETY_FIELDS: { name: keyof typeof SAFETY_BOUNDS; label: MessageKey; help: MessageKey }[] = [
  { name: 'newContactsPerDay', label: 'safety.newContactsPerDay', help: 'safety.newContactsPerDay.help' },
  { name: 'newContactsPerHour', label: 'safety.newContactsPerHour', help: 'safety.newContactsPerHour.help' },
  { name: 'identicalPerHour', label: 'safety.identicalPerHour', help: 'safety.identicalPerHour.help' },
]

function SafetyFields<F extends { safety: SafetySettings }>(props: {
  register: UseFormRegister<F>
  errors: FieldErrors<F>
}) {
  const { t } = useI18n()
  const reg = props.register as unknown as UseFormRegister<{ safety: SafetySettings }>
  const errs = (props.errors as FieldErrors<{ safety: SafetySettings }>).safety
  return (
    <fieldset className="limits">
      <legend>{t('safety.legend')}</legend>
      <p className="help">{t('safety.intro')}</p>
      <div className="grid">
        {SAFETY_FIELDS.map((f) => {
          const msg = errs?.[f.name]?.message
          const b = SAFETY_BOUNDS[f.name]
          return (
            <Field key={f.name} label={t(f.label)} help={t(f.help, { v: SAFE_SAFETY[f.name], min: b.min, max: b.max })} error={msg ? t(msg as MessageKey) : undefined}>
              {({ id, describedBy, invalid }) => (
                <input id={id} type="number" inputMode="numeric" aria-describedby={describedBy} aria-invalid={invalid}
                  {...reg(`safety.${f.name}`, { valueAsNumber: true })} />
              )}
            </Field>
          )
        })}
      </div>
      {(['checkNumbers', 'typing'] as const).map((name) => (
        <CheckField key={name} label={t(`safety.${name}`)} help={t(`safety.${name}.help`)} input={reg(`safety.${name}`)} />
      ))}
    </fieldset>
  )
}

/** A checkbox with its help text, wired for screen readers. */
function CheckField(props: { label: string; help: string; input: UseFormRegisterReturn }) {
  const id = useId()
  return (
    <div className="field">
      <label className="check">
        <input type="checkbox" aria-describedby={`${id}-help`} {...props.input} /> {props.label}
      </label>
      <p className="help" id={`${id}-help`}>{props.help}</p>
    </div>
  )
}

export function Instances() {
  const { t } = useI18n()
  useTitle(t('nav.instances'))
  const list = useInstances()
  const [created, setCreated] = useState<Instance | null>(null)
  return (
    <section>
      <h1>{t('nav.instances')}</h1>
      {list.isPending && <Loading />}
      <ErrorMessage error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">{t('instances.empty')}</p>}
      <ul className="cards">
        {list.data?.items.map((i) => (
          <li key={i.id}>
            <InstanceCard instance={i} />
          </li>
        ))}
      </ul>
      {created && (
        <div className="alert alert-ok" role="status">
          <p>{t('instances.created', { name: created.name })}</p>
          <p className="help">{t('instances.webhookHelp')}</p>
          <code className="break">{created.webhookUrl}</code>
        </div>
      )}
      <CreateInstance onCreated={setCreated} />
    </section>
  )
}

function CreateInstance({ onCreated }: { onCreated: (i: Instance) => void }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const { register, handleSubmit, formState, reset } = useForm<CreateForm>({
    resolver: zodResolver(createSchema),
    defaultValues: { name: '', baseUrl: '', token: '', configureWebhook: true, limits: { ...SAFE_LIMITS }, safety: { ...SAFE_SAFETY } },
  })
  const create = useMutation({
    mutationFn: (v: CreateForm) =>
      api<Instance>('POST', '/v1/instances', {
        body: { name: v.name, baseUrl: v.baseUrl, token: v.token, configureWebhook: v.configureWebhook, ...v.limits, ...v.safety },
      }),
    onSuccess: (i) => {
      onCreated(i)
      reset()
      void qc.invalidateQueries({ queryKey: ['instances'] })
    },
  })
  const e = formState.errors
  const msg = (m?: string) => (m ? t(m as MessageKey) : undefined)
  return (
    <form className="card" onSubmit={handleSubmit((v) => !create.isPending && create.mutate(v))} noValidate>
      <h2>{t('instances.new')}</h2>
      <Field label={t('instances.name')} error={msg(e.name?.message)}>
        {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} {...register('name')} />}
      </Field>
      <Field label={t('instances.baseUrl')} help={t('instances.baseUrl.help')} error={msg(e.baseUrl?.message)}>
        {({ id, describedBy, invalid }) => (
          <input id={id} type="url" placeholder="https://wuzapi.example.com" aria-describedby={describedBy} aria-invalid={invalid} {...register('baseUrl')} />
        )}
      </Field>
      <Field label={t('instances.token')} help={t('instances.token.help')} error={msg(e.token?.message)}>
        {({ id, describedBy, invalid }) => (
          <input id={id} type="password" autoComplete="off" aria-describedby={describedBy} aria-invalid={invalid} {...register('token')} />
        )}
      </Field>
      <label className="check">
        <input type="checkbox" {...register('configureWebhook')} /> {t('instances.configureWebhook')}
      </label>
      <LimitsFields register={register} errors={e} />
      <SafetyFields register={register} errors={e} />
      <ErrorMessage error={create.error} />
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? t('common.saving') : t('instances.create')}
      </button>
    </form>
  )
}

function InstanceCard({ instance }: { instance: Instance }) {
  const { t } = useI18n()
  const [editing, setEditing] = useState(false)
  const [pairing, setPairing] = useState(false)
  const detail = useQuery({
    queryKey: ['instance', instance.id],
    queryFn: () => api<Instance>('GET', `/v1/instances/${instance.id}`),
  })
  const session = detail.data?.session
  return (
    <article className="card" aria-labelledby={`inst-${instance.id}`}>
      <h2 id={`inst-${instance.id}`}>{instance.name}</h2>
      <p className="muted break">{instance.baseUrl}</p>
      <p>
        {detail.isPending ? (
          <Badge tone="muted">{t('common.loading')}</Badge>
        ) : session ? (
          session.loggedIn ? (
            <Badge tone="ok">{t('instances.state.loggedIn')}</Badge>
          ) : session.connected ? (
            <Badge tone="warn">{t('instances.state.connected')}</Badge>
          ) : (
            <Badge tone="bad">{t('instances.state.disconnected')}</Badge>
          )
        ) : (
          <Badge tone="bad">{t('instances.state.unreachable')}</Badge>
        )}
        {session === null && detail.data?.sessionError && <span className="muted break"> {detail.data.sessionError}</span>}
      </p>
      <HealthCard instance={instance} health={detail.data?.health ?? instance.health} />
      <p className="muted">
        {t('instances.summary', {
          mpm: instance.messagesPerMinute, hour: instance.hourlyCap, day: instance.dailyCap,
          min: Math.round(instance.minDelayMs / 1000), max: Math.round(instance.maxDelayMs / 1000),
        })}
      </p>
      <div className="actions">
        {!session?.loggedIn && (
          <button type="button" onClick={() => setPairing(true)} disabled={pairing}>
            {t('instances.pair')}
          </button>
        )}
        <button type="button" className="secondary" onClick={() => setEditing((v) => !v)} aria-expanded={editing}>
          {t('instances.editLimits')}
        </button>
      </div>
      {pairing && <Pairing id={instance.id} onDone={() => setPairing(false)} />}
      {editing && <EditLimits instance={instance} onDone={() => setEditing(false)} />}
      <details>
        <summary>{t('instances.webhook')}</summary>
        <code className="break">{instance.webhookUrl}</code>
      </details>
    </article>
  )
}

/** Pairing: connect, then show the QR code until the phone has scanned it. */
function Pairing({ id, onDone }: { id: string; onDone: () => void }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const connect = useMutation({ mutationFn: () => api<{ connected: boolean; loggedIn: boolean }>('POST', `/v1/instances/${id}/connect`) })
  useEffect(() => {
    connect.mutate()
  }, [])
  const loggedIn = connect.data?.loggedIn
  const qr = useQuery({
    queryKey: ['qr', id],
    queryFn: () => api<{ qrCode: string }>('GET', `/v1/instances/${id}/qr`),
    enabled: connect.isSuccess && !loggedIn,
    refetchInterval: (q) => (q.state.error ? false : 3000), // a QR code lives ~20 s; INVALID_STATE = scanned
    retry: false,
    gcTime: 0,
  })
  const paired = loggedIn || (qr.error instanceof ApiError && qr.error.code === 'INVALID_STATE')
  useEffect(() => {
    if (paired) void qc.invalidateQueries({ queryKey: ['instance', id] })
  }, [paired, qc, id])
  return (
    <div className="pairing" aria-live="polite">
      {connect.isPending && <Loading />}
      <ErrorMessage error={connect.error} />
      {paired ? (
        <p className="alert alert-ok">{t('instances.paired')}</p>
      ) : (
        <>
          {qr.data && (
            <figure>
              <img src={qr.data.qrCode} alt={t('instances.qrAlt')} width={256} height={256} />
              <figcaption>{t('instances.qrHelp')}</figcaption>
            </figure>
          )}
          {!(qr.error instanceof ApiError && qr.error.code === 'INVALID_STATE') && <ErrorMessage error={qr.error} />}
        </>
      )}
      <button type="button" className="secondary" onClick={onDone}>
        {t('common.close')}
      </button>
    </div>
  )
}

const editSchema = z.object({ limits: limitsSchema, safety: safetySchema })
type EditForm = z.infer<typeof editSchema>

function EditLimits({ instance, onDone }: { instance: Instance; onDone: () => void }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const pick = (i: Instance): InstanceLimits => ({
    messagesPerMinute: i.messagesPerMinute, minDelayMs: i.minDelayMs, maxDelayMs: i.maxDelayMs,
    hourlyCap: i.hourlyCap, dailyCap: i.dailyCap, warmupDays: i.warmupDays, maxInFlight: i.maxInFlight,
  })
  const safety = (i: Instance): SafetySettings => ({
    newContactsPerDay: i.newContactsPerDay ?? SAFE_SAFETY.newContactsPerDay,
    newContactsPerHour: i.newContactsPerHour ?? SAFE_SAFETY.newContactsPerHour,
    identicalPerHour: i.identicalPerHour ?? SAFE_SAFETY.identicalPerHour,
    checkNumbers: i.checkNumbers ?? SAFE_SAFETY.checkNumbers,
    typing: i.typing ?? SAFE_SAFETY.typing,
  })
  const { register, handleSubmit, formState } = useForm<EditForm>({
    resolver: zodResolver(editSchema),
    defaultValues: { limits: pick(instance), safety: safety(instance) },
  })
  const save = useMutation({
    mutationFn: (v: EditForm) => api<Instance>('PATCH', `/v1/instances/${instance.id}`, { body: { ...v.limits, ...v.safety } }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['instances'] })
      void qc.invalidateQueries({ queryKey: ['instance', instance.id] })
      onDone()
    },
  })
  return (
    <form onSubmit={handleSubmit((v) => !save.isPending && save.mutate(v))} noValidate>
      <LimitsFields register={register} errors={formState.errors} />
      <SafetyFields register={register} errors={formState.errors} />
      <ErrorMessage error={save.error} />
      <div className="actions">
        <button type="submit" disabled={save.isPending}>{save.isPending ? t('common.saving') : t('common.save')}</button>
        <button type="button" className="secondary" onClick={onDone}>{t('common.cancel')}</button>
      </div>
    </form>
  )
}
