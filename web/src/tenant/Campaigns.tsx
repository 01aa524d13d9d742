import { useState } from 'react'
import { Link } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { api, withQuery, type Page } from '../lib/api'
import { useI18n } from '../lib/i18n'
import type { Campaign } from '../lib/types'
import { formatDateTime } from '../lib/time'
import { Badge, ErrorMessage, Loading, Pager, ProgressBar, stateTone, useTitle } from '../components/ui'
import { useZone } from './hooks'

/** round(100·settled/total) as GET /v1/campaigns/{id}/status counts it. */
export function progressOf(c: Campaign): number {
  const { total, sent, failed, unknown } = c.counts
  if (total === 0) return 100
  return Math.round((100 * (sent + failed + unknown)) / total)
}

export function Campaigns() {
  const { t, lang } = useI18n()
  useTitle(t('nav.campaigns'))
  const zone = useZone()
  const [cursors, setCursors] = useState<(string | null)[]>([null])
  const cursor = cursors[cursors.length - 1] ?? null
  const list = useQuery({
    queryKey: ['campaigns', cursor],
    queryFn: () => api<Page<Campaign>>('GET', withQuery('/v1/campaigns', { limit: 25, cursor })),
    placeholderData: (prev) => prev,
  })
  return (
    <section>
      <div className="title-row">
        <h1>{t('nav.campaigns')}</h1>
        <Link className="button" to="/campaigns/new">{t('campaigns.new')}</Link>
      </div>
      {list.isPending && <Loading />}
      <ErrorMessage error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">{t('campaigns.empty')}</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table data-testid="campaign-list">
            <caption className="visually-hidden">{t('nav.campaigns')}</caption>
            <thead>
              <tr><th>{t('campaigns.name')}</th><th>{t('common.status')}</th><th>{t('campaigns.progress')}</th><th>{t('campaigns.recipients')}</th><th>{t('common.created')}</th></tr>
            </thead>
            <tbody>
              {list.data.items.map((c) => (
                <tr key={c.id}>
                  <td><Link to={`/campaigns/${c.id}`}>{c.name || c.id.slice(0, 8)}</Link></td>
                  <td><Badge tone={stateTone(c.state)}>{t(`state.${c.state}`)}</Badge></td>
                  <td><ProgressBar label={t('campaigns.progressOf', { name: c.name || c.id })} value={progressOf(c)} /></td>
                  <td>{c.counts.total}</td>
                  <td>{formatDateTime(c.createdAt, zone, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasPrev={cursors.length > 1} hasNext={!!list.data?.nextCursor}
        onPrev={() => setCursors((s) => s.slice(0, -1))}
        onNext={() => list.data?.nextCursor && setCursors((s) => [...s, list.data!.nextCursor])} />
    </section>
  )
}
