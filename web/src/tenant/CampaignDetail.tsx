import { lazy, Suspense, useEffect, useState } from 'react'
import { Link, useParams } from 'react-router'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, withQuery, type Page } from '../lib/api'
import { useI18n } from '../lib/i18n'
import { formatBytes } from '../lib/media'
import { formatShare, reasonKind, reasonTopic, skipReasonKey } from '../lib/health'
import { formatDateTime } from '../lib/time'
import type { Campaign, Recipient, RecipientStatus, Reply, TimelinePoint } from '../lib/types'
import { Badge, ErrorMessage, Loading, Pager, ProgressBar, stateTone, useTitle } from '../components/ui'
import { progressOf } from './Campaigns'
import { ReportJob } from './Reports'
import { useZone } from './hooks'

const TimelineChart = lazy(() => import('../charts/TimelineChart'))

/** The poll: one request every POLL_MS while the campaign is live; every
 * TIMELINE_EVERY-th tick fetches the timeline instead of the campaign. So an
 * open tab costs the API at most one request per 2 s. */
export const POLL_MS = 2000
export const TIMELINE_EVERY = 5

const STATUSES: RecipientStatus[] = ['pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'unknown']
const live = (c?: Campaign) => !!c && (c.state === 'queued' || c.state === 'running' || c.state === 'scheduled' || c.state === 'paused')

export function CampaignDetail() {
  const { id = '' } = useParams()
  const { t, lang } = useI18n()
  const zone = useZone()
  const qc = useQueryClient()
  const campaign = useQuery({ queryKey: ['campaign', id], queryFn: () => api<Campaign>('GET', `/v1/campaigns/${id}`) })
  const timeline = useQuery({
    queryKey: ['timeline', id],
    queryFn: () => api<{ items: TimelinePoint[] }>('GET', withQuery(`/v1/campaigns/${id}/timeline`, { bucketSeconds: 60 })),
  })
  const c = campaign.data
  useTitle(c?.name || t('campaign.title'))
  const isLive = live(c)

  useEffect(() => {
    if (!isLive) return
    let tick = 0
    const timer = setInterval(() => {
      if (document.hidden) return // a background tab costs nothing
      tick++
      const key = tick % TIMELINE_EVERY === 0 ? ['timeline', id] : ['campaign', id]
      void qc.refetchQueries({ queryKey: key, exact: true })
    }, POLL_MS)
    return () => clearInterval(timer)
  }, [isLive, id, qc])
  // When it settles, fetch the final timeline once.
  useEffect(() => {
    if (c && !isLive) void qc.refetchQueries({ queryKey: ['timeline', id], exact: true })
  }, [c?.state, isLive, id, qc])

  const act = useMutation({
    mutationFn: (action: 'pause' | 'resume' | 'cancel') => api<Campaign>('POST', `/v1/campaigns/${id}/${action}`),
    onSuccess: (updated) => qc.setQueryData(['campaign', id], updated),
  })
  const resend = useMutation({
    mutationFn: () => api('POST', `/v1/campaigns/${id}/resend`, { body: { statuses: ['failed', 'unknown'] } }),
    onSuccess: () => void qc.refetchQueries({ queryKey: ['campaign', id], exact: true }),
  })

  if (campaign.isPending) return <Loading />
  if (!c) return <ErrorMessage error={campaign.error} />
  const busy = act.isPending || resend.isPending
  const canPause = c.state === 'queued' || c.state === 'running'
  const canResume = c.state === 'paused'
  const canCancel = c.state !== 'completed' && c.state !== 'cancelled'
  const canResend = c.counts.failed + c.counts.unknown > 0 && c.state !== 'cancelled'
  const progress = progressOf(c)
  return (
    <section>
      <p><Link to="/campaigns">← {t('nav.campaigns')}</Link></p>
      <div className="title-row">
        <h1>{c.name || c.id.slice(0, 8)}</h1>
        <Badge tone={stateTone(c.state)}><span data-testid="campaign-state">{t(`state.${c.state}`)}</span></Badge>
      </div>
      {c.reason && <CampaignReason reason={c.reason} />}
      <ProgressBar label={t('campaigns.progress')} value={progress} />
      <dl className="counts" data-testid="counts">
        {(['total', 'pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'unknown', 'replied'] as const).map((k) => (
          <div key={k}><dt>{t(`count.${k}`)}</dt><dd data-testid={`count-${k}`}>{c.counts[k].toLocaleString(lang)}</dd></div>
        ))}
        <div><dt>{t('campaign.replyRate')}</dt><dd data-testid="reply-rate">{formatShare(c.replyRate ?? 0, lang, 1)}</dd></div>
      </dl>
      <div className="actions">
        {canPause && <button type="button" disabled={busy} onClick={() => act.mutate('pause')}>{t('campaign.pause')}</button>}
        {canResume && <button type="button" disabled={busy} onClick={() => act.mutate('resume')}>{t('campaign.resume')}</button>}
        {canCancel && (
          <button type="button" className="danger" disabled={busy} onClick={() => window.confirm(t('campaign.cancelConfirm')) && act.mutate('cancel')}>
            {t('campaign.cancel')}
          </button>
        )}
        {canResend && <button type="button" className="secondary" disabled={busy} onClick={() => resend.mutate()}>{t('campaign.resend')}</button>}
      </div>
      <ErrorMessage error={act.error ?? resend.error} />
      {resend.isSuccess && <p className="alert alert-ok" role="status">{t('campaign.resent')}</p>}
      {c.rollout && (
        <p data-testid="rollout-summary">
          {t('campaign.rolloutSummary', {
            share: formatShare(c.rollout.share, lang, 1), hold: c.rollout.holdMinutes,
            failed: formatShare(c.rollout.maxFailedShare, lang, 1), optout: formatShare(c.rollout.maxOptOutShare, lang, 1),
          })}
        </p>
      )}
      {!!c.instances?.length && <ByInstance instances={c.instances} />}
      <dl className="meta">
        <div><dt>{t('common.created')}</dt><dd>{formatDateTime(c.createdAt, zone, lang)}</dd></div>
        <div><dt>{t('campaign.scheduledFor')}</dt><dd>{formatDateTime(c.scheduledAt, zone, lang)}</dd></div>
        <div><dt>{t('campaign.started')}</dt><dd>{formatDateTime(c.startedAt, zone, lang)}</dd></div>
        <div><dt>{t('campaign.finished')}</dt><dd>{formatDateTime(c.finishedAt, zone, lang)}</dd></div>
      </dl>
      <details>
        <summary>{t('campaign.message')}</summary>
        {c.media && <p className="muted" data-testid="campaign-media">{t('media.attached', { name: c.media.fileName, size: formatBytes(c.media.size) })}</p>}
        <p className="bubble">{c.message}</p>
      </details>
      <div className="card">
        <h2>{t('campaign.chart')}</h2>
        <ErrorMessage error={timeline.error} />
        {timeline.data && (
          <Suspense fallback={<Loading />}>
            <TimelineChart points={timeline.data.items} zone={zone} labels={{ time: t('chart.time'), sent: t('count.sent'), delivered: t('count.delivered'), read: t('count.read'), failed: t('count.failed') }} title={t('campaign.chart')} />
          </Suspense>
        )}
      </div>
      <div className="card">
        <h2>{t('report.title')}</h2>
        <ReportJob request={{ type: 'campaign', campaignId: c.id }} label={t('report.generate')} />
      </div>
      <RecipientsTable id={c.id} state={c.state} instances={c.instances ?? []} />
      <RepliesTable id={c.id} replied={c.counts.replied} />
    </section>
  )
}

/** Each sending instance's share of the campaign: sent and still pending. */
function ByInstance({ instances }: { instances: NonNullable<Campaign['instances']> }) {
  const { t, lang } = useI18n()
  return (
    <div className="table-wrap">
      <table data-testid="by-instance">
        <caption>{t('campaign.byInstance')}</caption>
        <thead><tr><th scope="col">{t('recipients.instance')}</th><th scope="col">{t('count.sent')}</th><th scope="col">{t('count.pending')}</th></tr></thead>
        <tbody>
          {instances.map((i) => (
            <tr key={i.id}><th scope="row">{i.name}</th><td>{i.sent.toLocaleString(lang)}</td><td>{i.pending.toLocaleString(lang)}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** Why the campaign is waiting or paused, shown first: what it is about in
 * the reader's language, then the worker's own sentence (English), labelled. */
function CampaignReason({ reason }: { reason: string }) {
  const { t } = useI18n()
  const topic = reasonTopic(reason)
  return (
    <div className="alert alert-warn campaign-reason" role="status" data-testid="campaign-reason">
      <p>
        <strong>{t(`campaign.reason.${reasonKind(reason)}`)}</strong>
        {topic && <> — {t(`campaign.reasonHint.${topic}`)}</>}
      </p>
      <p>
        <span className="muted">{t('campaign.reasonLabel')}</span> <span lang="en" data-testid="campaign-reason-text">{reason}</span>
      </p>
    </div>
  )
}

/** The recipients of a campaign, by status. Not polled (the detail page's
 * budget is one request per 2 s): it reloads when the campaign changes state
 * and on the refresh button. */
function RecipientsTable({ id, state, instances }: { id: string; state: string; instances: NonNullable<Campaign['instances']> }) {
  const { t, lang } = useI18n()
  const names = new Map(instances.map((i) => [i.id, i.name]))
  const pool = instances.length > 1
  const zone = useZone()
  const [status, setStatus] = useState<RecipientStatus | ''>('')
  const [cursors, setCursors] = useState<(string | null)[]>([null])
  const cursor = cursors[cursors.length - 1] ?? null
  const page = useQuery({
    queryKey: ['recipients', id, status, cursor, state],
    queryFn: () => api<Page<Recipient>>('GET', withQuery(`/v1/campaigns/${id}/recipients`, { status, cursor, limit: 50 })),
    placeholderData: (prev) => prev,
  })
  const statusText = (r: Recipient) => {
    const why = skipReasonKey(r.skipReason)
    return why ? `${t(`count.${r.status}`)} — ${t(`skipReason.${why}`)}` : t(`count.${r.status}`)
  }
  return (
    <div className="card">
      <h2>{t('recipients.title')}</h2>
      <label htmlFor="recipient-status">{t('recipients.filter')}</label>{' '}
      <select id="recipient-status" value={status} onChange={(e) => { setStatus(e.target.value as RecipientStatus | ''); setCursors([null]) }}>
        <option value="">{t('recipients.all')}</option>
        {STATUSES.map((s) => <option key={s} value={s}>{t(`count.${s}`)}</option>)}
      </select>
      {' '}
      <button type="button" className="secondary" disabled={page.isFetching} onClick={() => void page.refetch()}>
        {t('recipients.refresh')}
      </button>
      <ErrorMessage error={page.error} />
      {page.data && (
        <div className="table-wrap">
          <table data-testid="recipients">
            <thead><tr><th>{t('contacts.phone')}</th><th>{t('common.status')}</th>{pool && <th>{t('recipients.instance')}</th>}<th>{t('recipients.attempts')}</th><th>{t('recipients.sentAt')}</th><th>{t('recipients.lastError')}</th></tr></thead>
            <tbody>
              {page.data.items.map((r) => (
                <tr key={r.phone}>
                  <td>+{r.phone}</td>
                  <td>{statusText(r)}</td>
                  {pool && <td>{r.instanceId ? (names.get(r.instanceId) ?? r.instanceId.slice(0, 8)) : '—'}</td>}
                  <td>{r.attempts}</td>
                  <td>{formatDateTime(r.sentAt, zone, lang)}</td>
                  <td>{r.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasPrev={cursors.length > 1} hasNext={!!page.data?.nextCursor}
        onPrev={() => setCursors((s) => s.slice(0, -1))}
        onNext={() => page.data?.nextCursor && setCursors((s) => [...s, page.data!.nextCursor])} />
    </div>
  )
}

/** The replies credited to the campaign, newest first. It reloads when the
 * replied count changes (the campaign poll sees it), never on its own. */
function RepliesTable({ id, replied }: { id: string; replied: number }) {
  const { t, lang } = useI18n()
  const zone = useZone()
  const [cursors, setCursors] = useState<(string | null)[]>([null])
  const cursor = cursors[cursors.length - 1] ?? null
  const page = useQuery({
    queryKey: ['replies', id, cursor, replied],
    queryFn: () => api<Page<Reply>>('GET', withQuery(`/v1/campaigns/${id}/replies`, { cursor, limit: 50 })),
    placeholderData: (prev) => prev,
  })
  return (
    <div className="card">
      <h2>{t('replies.title')}</h2>
      <ErrorMessage error={page.error} />
      {page.data?.items.length === 0 && <p className="muted">{t('replies.empty')}</p>}
      {!!page.data?.items.length && (
        <div className="table-wrap">
          <table data-testid="replies">
            <thead><tr><th>{t('replies.phone')}</th><th>{t('replies.name')}</th><th>{t('replies.text')}</th><th>{t('replies.at')}</th></tr></thead>
            <tbody>
              {page.data.items.map((r) => (
                <tr key={r.id}><td>+{r.phone}</td><td>{r.name}</td><td>{r.text}</td><td>{formatDateTime(r.at, zone, lang)}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasPrev={cursors.length > 1} hasNext={!!page.data?.nextCursor}
        onPrev={() => setCursors((s) => s.slice(0, -1))}
        onNext={() => page.data?.nextCursor && setCursors((s) => [...s, page.data!.nextCursor])} />
    </div>
  )
}
