import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { z } from 'zod'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api } from '../lib/api'
import { useI18n, type MessageKey } from '../lib/i18n'
import { validZone } from '../lib/time'
import type { Me } from '../lib/types'
import { ErrorMessage, Field, Loading, useTitle } from '../components/ui'
import { useMe } from './hooks'

const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/
const schema = z
  .object({
    timezone: z.string().trim().refine(validZone, 'settings.badZone'),
    defaultCountry: z.string().trim().regex(/^[A-Za-z]{2}$/, 'settings.badCountry'),
    quietOn: z.boolean(),
    quietStart: z.string(),
    quietEnd: z.string(),
  })
  .superRefine((v, ctx) => {
    if (v.quietOn && !hhmm.test(v.quietStart)) ctx.addIssue({ code: 'custom', path: ['quietStart'], message: 'campaign.badHour' })
    if (v.quietOn && !hhmm.test(v.quietEnd)) ctx.addIssue({ code: 'custom', path: ['quietEnd'], message: 'campaign.badHour' })
  })
type Form = z.infer<typeof schema>

export function Settings() {
  const { t } = useI18n()
  useTitle(t('nav.settings'))
  const me = useMe()
  if (!me.data) return me.error ? <ErrorMessage error={me.error} /> : <Loading />
  return <SettingsForm me={me.data} />
}

function SettingsForm({ me }: { me: Me }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const q = me.tenant.quietHours
  const { register, handleSubmit, formState, watch } = useForm<Form>({
    resolver: zodResolver(schema),
    defaultValues: {
      timezone: me.tenant.timezone, defaultCountry: me.tenant.defaultCountry,
      quietOn: !!q, quietStart: q?.start ?? '21:00', quietEnd: q?.end ?? '08:00',
    },
  })
  const save = useMutation({
    mutationFn: (v: Form) =>
      api<Me>('PATCH', '/v1/me', {
        body: {
          timezone: v.timezone, defaultCountry: v.defaultCountry.toUpperCase(),
          quietHours: v.quietOn ? { start: v.quietStart, end: v.quietEnd } : null,
        },
      }),
    onSuccess: (m) => qc.setQueryData(['me'], m),
  })
  const e = formState.errors
  const msg = (m?: string) => (m ? t(m as MessageKey) : undefined)
  return (
    <section>
      <h1>{t('nav.settings')}</h1>
      <form className="card" onSubmit={handleSubmit((v) => !save.isPending && save.mutate(v))} noValidate>
        <p className="muted">{t('settings.plan', { plan: me.tenant.plan, limit: me.rateLimit.limit })}</p>
        <Field label={t('settings.timezone')} help={t('settings.timezone.help')} error={msg(e.timezone?.message)}>
          {({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid} {...register('timezone')} />}
        </Field>
        <Field label={t('settings.country')} help={t('settings.country.help')} error={msg(e.defaultCountry?.message)}>
          {({ id, describedBy, invalid }) => <input id={id} maxLength={2} aria-describedby={describedBy} aria-invalid={invalid} {...register('defaultCountry')} />}
        </Field>
        <label className="check"><input type="checkbox" {...register('quietOn')} /> {t('settings.quietOn')}</label>
        {watch('quietOn') && (
          <div className="grid">
            <Field label={t('campaign.quietStart')} error={msg(e.quietStart?.message)}>
              {({ id, describedBy, invalid }) => <input id={id} type="time" aria-describedby={describedBy} aria-invalid={invalid} {...register('quietStart')} />}
            </Field>
            <Field label={t('campaign.quietEnd')} error={msg(e.quietEnd?.message)}>
              {({ id, describedBy, invalid }) => <input id={id} type="time" aria-describedby={describedBy} aria-invalid={invalid} {...register('quietEnd')} />}
            </Field>
          </div>
        )}
        <ErrorMessage error={save.error} />
        {save.isSuccess && <p className="alert alert-ok" role="status">{t('common.saved')}</p>}
        <button type="submit" disabled={save.isPending}>{save.isPending ? t('common.saving') : t('common.save')}</button>
      </form>
    </section>
  )
}
