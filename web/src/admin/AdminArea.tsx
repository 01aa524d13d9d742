// The operator's area (ADMIN_API_KEY): create tenants, change plans, issue
// and revoke keys. The API has no tenant list, so the tenants
// touched in this tab are remembered in sessionStorage (ids, names, plans;
// never a key) to act on them again.
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { z } from 'zod'
import { useMutation } from '@tanstack/react-query'
import { api } from '../lib/api'
import { useI18n, type MessageKey } from '../lib/i18n'
import { validZone } from '../lib/time'
import type { CreatedTenant, Plan, Tenant } from '../lib/types'
import { ErrorMessage, Field, useTitle } from '../components/ui'

const PLANS: Plan[] = ['free', 'pro', 'enterprise']
const KNOWN = 'wuzapi.admin.tenants'
type Known = { id: string; name: string; plan: Plan }

function loadKnown(): Known[] {
  try {
    return JSON.parse(sessionStorage.getItem(KNOWN) ?? '[]') as Known[]
  } catch {
    return []
  }
}

const createSchema = z.object({
  name: z.string().trim().min(1, 'form.required').max(200, 'form.tooLong'),
  plan: z.enum(['free', 'pro', 'enterprise']),
  defaultCountry: z.string().trim().regex(/^[A-Za-z]{2}$/, 'settings.badCountry'),
  timezone: z.string().trim().refine(validZone, 'settings.badZone'),
})
type CreateForm = z.infer<typeof createSchema>

export default function AdminArea() {
  const { t } = useI18n()
  useTitle(t('admin.title'))
  const [known, setKnown] = useState<Known[]>(loadKnown)
  const remember = (k: Known) => {
    setKnown((prev) => {
      const next = [k, ...prev.filter((p) => p.id !== k.id)].slice(0, 50)
      sessionStorage.setItem(KNOWN, JSON.stringify(next))
      return next
    })
  }
  return (
    <section className="admin">
      <h1>{t('admin.title')}</h1>
      <CreateTenant onCreated={remember} />
      <div className="card">
        <h2>{t('admin.tenants')}</h2>
        {known.length === 0 && <p className="muted">{t('admin.noneYet')}</p>}
        <ul className="cards">
          {known.map((k) => (
            <li key={k.id}><TenantCard tenant={k} onChange={remember} /></li>
          ))}
        </ul>
        <OtherTenant onFound={remember} />
      </div>
      <RevokeKey />
    </section>
  )
}

function CreateTenant({ onCreated }: { onCreated: (k: Known) => void }) {
  const { t } = useI18n()
  const [created, setCreated] = useState<CreatedTenant | null>(null)
  const { register, handleSubmit, formState, reset } = useForm<CreateForm>({
    resolver: zodResolver(createSchema),
    defaultValues: { name: '', plan: 'free', defaultCountry: 'BR', timezone: 'America/Sao_Paulo' },
  })
  const create = useMutation({
    mutationFn: (v: CreateForm) => api<CreatedTenant>('POST', '/v1/tenants', { body: { ...v, defaultCountry: v.defaultCountry.toUpperCase() } }),
    onSuccess: (c) => {
      setCreated(c)
      onCreated({ id: c.id, name: c.name, plan: c.plan })
      reset()
    },
  })
  const e = formState.errors
  const msg = (m?: string) => (m ? t(m as MessageKey) : undefined)
  return (
    <form className="card" onSubmit={handleSubmit((v) => !create.isPending && create.mutate(v))} noValidate>
      <h2>{t('admin.create')}</h2>
      <Field label={t('admin.name')} error={msg(e.name?.message)}>
        {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} {...register('name')} />}
      </Field>
      <Field label={t('admin.plan')} help={t('admin.plan.help')}>
        {({ id, describedBy }) => (
          <select id={id} aria-describedby={describedBy} {...register('plan')}>
            {PLANS.map((p) => <option key={p} value={p}>{t(`plan.${p}`)}</option>)}
          </select>
        )}
      </Field>
      <Field label={t('settings.country')} error={msg(e.defaultCountry?.message)}>
        {({ id, describedBy, invalid }) => <input id={id} maxLength={2} aria-describedby={describedBy} aria-invalid={invalid} {...register('defaultCountry')} />}
      </Field>
      <Field label={t('settings.timezone')} error={msg(e.timezone?.message)}>
        {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} {...register('timezone')} />}
      </Field>
      <ErrorMessage error={create.error} />
      <button type="submit" disabled={create.isPending}>{create.isPending ? t('common.saving') : t('admin.createSubmit')}</button>
      {created && <ShownOnce label={t('admin.keyOnce', { name: created.name })} value={created.apiKey} />}
    </form>
  )
}

/** A secret shown this once, with a copy button. */
function ShownOnce({ label, value }: { label: string; value: string }) {
  const { t } = useI18n()
  const [copied, setCopied] = useState(false)
  return (
    <div className="alert alert-ok" role="status">
      <p>{label}</p>
      <code className="break" data-testid="shown-key">{value}</code>{' '}
      <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(value).then(() => setCopied(true))}>
        {copied ? t('common.copied') : t('common.copy')}
      </button>
    </div>
  )
}

function TenantCard({ tenant, onChange }: { tenant: Known; onChange: (k: Known) => void }) {
  const { t } = useI18n()
  const [plan, setPlan] = useState<Plan>(tenant.plan)
  const update = useMutation({
    mutationFn: () => api<Tenant>('PATCH', `/v1/tenants/${tenant.id}`, { body: { plan } }),
    onSuccess: (tn) => onChange({ id: tn.id, name: tn.name, plan: tn.plan }),
  })
  const issue = useMutation({ mutationFn: () => api<{ id: string; apiKey: string }>('POST', `/v1/tenants/${tenant.id}/api-keys`) })
  const planId = `plan-${tenant.id}`
  return (
    <article className="card">
      <h3>{tenant.name}</h3>
      <p className="muted break">{tenant.id} · {t(`plan.${tenant.plan}`)}</p>
      <div className="actions">
        <label htmlFor={planId}>{t('admin.plan')}</label>
        <select id={planId} value={plan} onChange={(e) => setPlan(e.target.value as Plan)}>
          {PLANS.map((p) => <option key={p} value={p}>{t(`plan.${p}`)}</option>)}
        </select>
        <button type="button" disabled={update.isPending || plan === tenant.plan} onClick={() => update.mutate()}>{t('admin.changePlan')}</button>
        <button type="button" className="secondary" disabled={issue.isPending} onClick={() => issue.mutate()}>{t('admin.issueKey')}</button>
      </div>
      <ErrorMessage error={update.error ?? issue.error} />
      {update.isSuccess && <p role="status" className="muted">{t('admin.planChanged')}</p>}
      {issue.data && <ShownOnce label={t('admin.keyIssued', { id: issue.data.id })} value={issue.data.apiKey} />}
    </article>
  )
}

/** Acts on a tenant not created in this tab: by id (a PATCH with no change reads it back). */
function OtherTenant({ onFound }: { onFound: (k: Known) => void }) {
  const { t } = useI18n()
  const [id, setId] = useState('')
  const find = useMutation({
    mutationFn: () => api<Tenant>('PATCH', `/v1/tenants/${id.trim()}`, { body: {} }),
    onSuccess: (tn) => {
      onFound({ id: tn.id, name: tn.name, plan: tn.plan })
      setId('')
    },
  })
  return (
    <form onSubmit={(e) => { e.preventDefault(); if (id.trim() && !find.isPending) find.mutate() }}>
      <label htmlFor="other-tenant">{t('admin.byId')}</label>
      <input id="other-tenant" value={id} onChange={(e) => setId(e.target.value)} />
      <button type="submit" className="secondary" disabled={find.isPending}>{t('admin.open')}</button>
      <ErrorMessage error={find.error} />
    </form>
  )
}

function RevokeKey() {
  const { t } = useI18n()
  const [id, setId] = useState('')
  const revoke = useMutation({ mutationFn: () => api('DELETE', `/v1/api-keys/${id.trim()}`) })
  return (
    <form className="card" onSubmit={(e) => { e.preventDefault(); if (id.trim() && !revoke.isPending && window.confirm(t('admin.revokeConfirm'))) revoke.mutate() }}>
      <h2>{t('admin.revoke')}</h2>
      <label htmlFor="revoke-key">{t('admin.keyId')}</label>
      <input id="revoke-key" value={id} onChange={(e) => setId(e.target.value)} />
      <button type="submit" className="danger" disabled={revoke.isPending}>{t('admin.revokeSubmit')}</button>
      <ErrorMessage error={revoke.error} />
      {revoke.isSuccess && <p role="status" className="muted">{t('admin.revoked')}</p>}
    </form>
  )
}
