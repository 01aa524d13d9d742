// An instance's sending health: what stops it sending (worst first), the
// reason the API wrote (English sentences, kept as they are and labelled),
// a countdown to the end of a ban, lock or pause, today's budgets, the
// delivery rate, and Resume for a new-contact lane the delivery guard paused.
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api, ApiError } from '../lib/api'
import { useI18n } from '../lib/i18n'
import { formatCountdown, formatShare, healthTone, usedPercent } from '../lib/health'
import { formatDateTime } from '../lib/time'
import type { Instance, InstanceHealth } from '../lib/types'
import { Badge, ErrorMessage } from '../components/ui'
import { useNow, useZone } from './hooks'

export function HealthCard({ instance, health }: { instance: Instance; health: InstanceHealth | undefined }) {
  const { t, lang } = useI18n()
  const zone = useZone()
  const qc = useQueryClient()
  const now = useNow(30_000, !!health?.until)
  const resume = useMutation({
    mutationFn: () => api<Instance>('POST', `/v1/instances/${instance.id}/resume`),
    onSuccess: (updated) => {
      // The answer carries the new health but not the live session: keep the session read.
      qc.setQueryData<Instance>(['instance', instance.id], (old) => (old ? { ...old, health: updated.health } : updated))
      void qc.invalidateQueries({ queryKey: ['instances'] })
    },
    onError: (err) => {
      // Someone or something changed the lane meanwhile: show what it is now.
      if (err instanceof ApiError && err.code === 'INVALID_STATE') void qc.invalidateQueries({ queryKey: ['instance', instance.id] })
    },
  })
  if (!health) return null
  const left = formatCountdown(health.until, now)
  const today = health.today
  const conflict = resume.error instanceof ApiError && resume.error.code === 'INVALID_STATE' ? resume.error : null
  return (
    <section className="health" aria-labelledby={`health-${instance.id}`} data-testid="health">
      <h3 id={`health-${instance.id}`}>
        {t('health.title')}{' '}
        <Badge tone={healthTone(health.state)}><span data-testid="health-state">{t(`health.state.${health.state}`)}</span></Badge>
      </h3>
      {health.reason && (
        <p className="health-reason">
          <strong>{t('health.reason')}</strong> <span lang="en">{health.reason}</span>
        </p>
      )}
      {health.until && (
        <p data-testid="health-until">
          {left
            ? t(`health.until.${health.state === 'banned' ? 'banned' : 'probe'}`, { left, at: formatDateTime(health.until, zone, lang) })
            : t('health.untilPassed', { at: formatDateTime(health.until, zone, lang) })}
        </p>
      )}
      {today ? (
        <dl className="budgets">
          <div>
            <dt>{t('health.sentToday')}</dt>
            <dd>
              {t('health.ofCap', { used: today.sent, cap: today.dailyCap })}
              <meter min={0} max={100} value={usedPercent(today.sent, today.dailyCap)} aria-label={t('health.sentToday')} />
            </dd>
          </div>
          <div>
            <dt>{t('health.newToday')}</dt>
            <dd>
              {t('health.ofCap', { used: today.newContacts, cap: today.newContactsBudget })}
              <meter min={0} max={100} value={usedPercent(today.newContacts, today.newContactsBudget)} aria-label={t('health.newToday')} />
            </dd>
          </div>
        </dl>
      ) : (
        <p className="muted">{t('health.todayUnknown')}</p>
      )}
      <p data-testid="delivery-rate">
        {health.deliveryRate === null
          ? t('health.notEnough')
          : t('health.deliveryRate', { rate: formatShare(health.deliveryRate, lang) })}
      </p>
      {health.state === 'paused' && (
        <p className="actions">
          <button type="button" disabled={resume.isPending} onClick={() => !resume.isPending && resume.mutate()}>
            {t('health.resume')}
          </button>
        </p>
      )}
      {resume.isSuccess && health.state !== 'paused' && <p className="alert alert-ok" role="status">{t('health.resumed')}</p>}
      {conflict ? (
        <div className="alert alert-warn" role="alert">
          <p>{t('health.resumeInvalid')}</p>
          <p className="help"><strong>{t('health.server')}</strong> <span lang="en">{conflict.message}</span></p>
        </div>
      ) : (
        <ErrorMessage error={resume.error} />
      )}
    </section>
  )
}
