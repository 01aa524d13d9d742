// Tenant webhook endpoints: create one (its signing secret shown once), see
// each endpoint's delivery log, retry a delivery, delete an endpoint.
import { useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, withQuery, type Page } from '../lib/api'
import { useI18n } from '../lib/i18n'
import { formatDateTime } from '../lib/time'
import type { WebhookDelivery, WebhookEndpoint, WebhookEndpointCreated, WebhookEvent } from '../lib/types'
import { Badge, ErrorMessage, Loading, useTitle } from '../components/ui'
import { useZone } from './hooks'

/** The event types, in the API's order. */
export const EVENTS: WebhookEvent[] = [
  'campaign.completed', 'campaign.paused', 'message.sent', 'message.delivered', 'message.read', 'message.failed',
  'message.replied', 'contact.opted_out', 'import.completed', 'import.failed', 'instance.health_changed',
]

export function Webhooks() {
  const { t } = useI18n()
  useTitle(t('nav.webhooks'))
  const endpoints = useQuery({
    queryKey: ['webhook-endpoints'],
    queryFn: () => api<Page<WebhookEndpoint>>('GET', withQuery('/v1/webhook-endpoints', { limit: 100 })),
  })
  return (
    <section>
      <h1>{t('nav.webhooks')}</h1>
      <p className="muted">{t('webhooks.help')}</p>
      <NewEndpoint />
      <div className="card">
        <h2>{t('webhooks.list')}</h2>
        <ErrorMessage error={endpoints.error} />
        {endpoints.isPending && <Loading />}
        {endpoints.data?.items.length === 0 && <p>{t('webhooks.empty')}</p>}
        {endpoints.data?.items.map((e) => <EndpointCard key={e.id} endpoint={e} />)}
      </div>
    </section>
  )
}

function NewEndpoint() {
  const { t } = useI18n()
  const qc = useQueryClient()
  const [url, setUrl] = useState('')
  const [description, setDescription] = useState('')
  const [events, setEvents] = useState<WebhookEvent[]>(['message.replied'])
  const create = useMutation({
    mutationFn: () => api<WebhookEndpointCreated>('POST', '/v1/webhook-endpoints', { body: { url, events, description } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['webhook-endpoints'] }),
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    create.mutate()
  }
  const toggle = (ev: WebhookEvent) => setEvents((s) => (s.includes(ev) ? s.filter((x) => x !== ev) : [...s, ev]))
  return (
    <form className="card" onSubmit={submit}>
      <h2>{t('webhooks.new')}</h2>
      <label htmlFor="webhook-url">{t('webhooks.url')}</label>
      <input id="webhook-url" type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://" />
      <fieldset>
        <legend>{t('webhooks.events')}</legend>
        {EVENTS.map((ev) => (
          <label key={ev} className="check">
            <input type="checkbox" checked={events.includes(ev)} onChange={() => toggle(ev)} /> <code>{ev}</code>
          </label>
        ))}
      </fieldset>
      <label htmlFor="webhook-description">{t('webhooks.description')}</label>
      <input id="webhook-description" value={description} maxLength={500} onChange={(e) => setDescription(e.target.value)} />
      <button type="submit" disabled={create.isPending || events.length === 0}>{t('webhooks.create')}</button>
      <ErrorMessage error={create.error} />
      {create.data && (
        <p className="alert alert-ok" role="status">
          {t('webhooks.secret')} <code data-testid="webhook-secret">{create.data.secret}</code>
        </p>
      )}
    </form>
  )
}

function EndpointCard({ endpoint }: { endpoint: WebhookEndpoint }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const [open, setOpen] = useState(false)
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/v1/webhook-endpoints/${endpoint.id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['webhook-endpoints'] }),
  })
  return (
    <article className="card" aria-label={endpoint.url}>
      <p><code>{endpoint.url}</code>{endpoint.description && <> — {endpoint.description}</>}</p>
      <p className="muted">{endpoint.events.join(', ')}</p>
      <div className="actions">
        <button type="button" className="secondary" aria-expanded={open} onClick={() => setOpen((o) => !o)}>{t('webhooks.deliveries')}</button>
        <button type="button" className="danger" disabled={remove.isPending}
          onClick={() => window.confirm(t('webhooks.deleteConfirm')) && remove.mutate()}>{t('webhooks.delete')}</button>
      </div>
      <ErrorMessage error={remove.error} />
      {open && <Deliveries id={endpoint.id} />}
    </article>
  )
}

const tone = (s: WebhookDelivery['status']) => (s === 'delivered' ? 'ok' : s === 'failed' ? 'error' : 'warn')

function Deliveries({ id }: { id: string }) {
  const { t, lang } = useI18n()
  const zone = useZone()
  const log = useQuery({
    queryKey: ['webhook-deliveries', id],
    queryFn: () => api<Page<WebhookDelivery>>('GET', withQuery(`/v1/webhook-endpoints/${id}/deliveries`, { limit: 50 })),
  })
  const retry = useMutation({
    mutationFn: (deliveryId: string) => api('POST', `/v1/webhook-endpoints/${id}/deliveries/${deliveryId}/retry`),
    onSuccess: () => void log.refetch(),
  })
  if (log.isPending) return <Loading />
  return (
    <div className="table-wrap">
      <ErrorMessage error={log.error ?? retry.error} />
      {log.data?.items.length === 0 && <p>{t('webhooks.noDeliveries')}</p>}
      {!!log.data?.items.length && (
        <table data-testid="webhook-deliveries">
          <thead><tr><th>{t('webhooks.event')}</th><th>{t('common.status')}</th><th>{t('webhooks.attempts')}</th><th>{t('webhooks.lastStatus')}</th><th>{t('common.created')}</th><th>{t('common.actions')}</th></tr></thead>
          <tbody>
            {log.data.items.map((d) => (
              <tr key={d.id}>
                <td><code>{d.event}</code></td>
                <td><Badge tone={tone(d.status)}>{t(`webhooks.status.${d.status}`)}</Badge></td>
                <td>{d.attempts}</td>
                <td>{d.lastStatus ?? d.lastError ?? '—'}</td>
                <td>{formatDateTime(d.createdAt, zone, lang)}</td>
                <td><button type="button" className="secondary" disabled={retry.isPending} onClick={() => retry.mutate(d.id)}>{t('webhooks.retry')}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
