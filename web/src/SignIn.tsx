import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { z } from 'zod'
import { useNavigate, useSearchParams } from 'react-router'
import { useQueryClient } from '@tanstack/react-query'
import { useI18n } from './lib/i18n'
import { signIn } from './lib/session'
import { ErrorMessage, Field, useTitle } from './components/ui'

const schema = z.object({
  key: z.string().trim().min(1, 'signin.keyRequired'),
  role: z.enum(['tenant', 'admin']),
})
type Form = z.infer<typeof schema>

export function SignIn() {
  const { t } = useI18n()
  useTitle(t('signin.title'))
  const [params] = useSearchParams()
  const qc = useQueryClient()
  const navigate = useNavigate()
  const [error, setError] = useState<unknown>(null)
  const { register, handleSubmit, formState } = useForm<Form>({
    resolver: zodResolver(schema),
    defaultValues: { key: '', role: params.get('role') === 'admin' ? 'admin' : 'tenant' },
  })
  const onSubmit = handleSubmit(async (v) => {
    setError(null)
    try {
      await signIn(qc, v.key.trim(), v.role)
      navigate(v.role === 'admin' ? '/admin' : '/campaigns', { replace: true })
    } catch (e) {
      setError(e)
    }
  })
  const keyErr = formState.errors.key?.message
  return (
    <section className="card narrow">
      <h1>{t('signin.title')}</h1>
      <p className="muted">{t('signin.intro')}</p>
      {params.get('expired') && <p className="alert alert-warn" role="alert">{t('signin.expired')}</p>}
      <form onSubmit={onSubmit} noValidate>
        <fieldset className="radios">
          <legend>{t('signin.role')}</legend>
          <label>
            <input type="radio" value="tenant" {...register('role')} /> {t('signin.role.tenant')}
          </label>
          <label>
            <input type="radio" value="admin" {...register('role')} /> {t('signin.role.admin')}
          </label>
        </fieldset>
        <Field label={t('signin.key')} help={t('signin.keyHelp')} error={keyErr ? t(keyErr as 'signin.keyRequired') : undefined}>
          {({ id, describedBy, invalid }) => (
            <input id={id} type="password" autoComplete="off" spellCheck={false} aria-describedby={describedBy}
              aria-invalid={invalid} {...register('key')} />
          )}
        </Field>
        <ErrorMessage error={error} />
        <button type="submit" disabled={formState.isSubmitting}>
          {formState.isSubmitting ? t('common.checking') : t('signin.submit')}
        </button>
      </form>
    </section>
  )
}
