import { useState } from 'react'
import { useMutation, useQuery } from '@tanstack/react-query'
import { api } from '../lib/api'
import { useI18n } from '../lib/i18n'
import type { Report } from '../lib/types'
import { Badge, ErrorMessage, ProgressBar, useTitle } from '../components/ui'

type Request = { type: 'campaign'; campaignId: string } | { type: 'contacts' }

/** A report job: POST /v1/reports, then GET /v1/reports/{id} every 2 s until
 * it settles, then a download link. */
export function ReportJob({ request, label }: { request: Request; label: string }) {
  const { t } = useI18n()
  const start = useMutation({ mutationFn: () => api<{ reportId: string; status: string }>('POST', '/v1/reports', { body: request }) })
  const id = start.data?.reportId
  const job = useQuery({
    queryKey: ['report', id],
    queryFn: () => api<Report>('GET', `/v1/reports/${id}`),
    enabled: !!id,
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'completed' || q.state.data.status === 'failed') ? false : 2000),
  })
  const r = job.data
  return (
    <div className="report" aria-live="polite">
      <button type="button" className="secondary" disabled={start.isPending || (!!id && r?.status !== 'completed' && r?.status !== 'failed')}
        onClick={() => start.mutate()}>
        {label}
      </button>
      <ErrorMessage error={start.error ?? job.error} />
      {r && r.status !== 'completed' && r.status !== 'failed' && <ProgressBar label={t('report.progress')} value={r.progress} />}
      {r?.status === 'failed' && <p className="alert alert-error">{t('report.failed')} {r.error}</p>}
      {r?.status === 'completed' && r.downloadUrl && (
        <p>
          <Badge tone="ok">{t('report.ready', { rows: r.rows })}</Badge>{' '}
          <a className="button" href={r.downloadUrl} download data-testid="report-download">{t('report.download')}</a>
        </p>
      )}
    </div>
  )
}

export function Reports() {
  const { t } = useI18n()
  useTitle(t('nav.reports'))
  const [campaignId, setCampaignId] = useState('')
  const [asked, setAsked] = useState<string | null>(null)
  return (
    <section>
      <h1>{t('nav.reports')}</h1>
      <div className="card">
        <h2>{t('report.contacts')}</h2>
        <p className="muted">{t('report.contacts.help')}</p>
        <ReportJob request={{ type: 'contacts' }} label={t('report.generate')} />
      </div>
      <div className="card">
        <h2>{t('report.campaign')}</h2>
        <p className="muted">{t('report.campaign.help')}</p>
        <form onSubmit={(e) => { e.preventDefault(); if (campaignId.trim()) setAsked(campaignId.trim()) }}>
          <label htmlFor="report-campaign">{t('report.campaignId')}</label>
          <input id="report-campaign" value={campaignId} onChange={(e) => setCampaignId(e.target.value)} />
          <button type="submit" className="secondary">{t('common.next')}</button>
        </form>
        {asked && <ReportJob key={asked} request={{ type: 'campaign', campaignId: asked }} label={t('report.generate')} />}
      </div>
    </section>
  )
}
