// The tenant area: one lazy chunk with every tenant page (the chart inside it is lazy again).
import { NavLink, Navigate, Route, Routes } from 'react-router'
import { useI18n } from '../lib/i18n'
import { useMe } from './hooks'
import { Campaigns } from './Campaigns'
import { CampaignNew } from './CampaignNew'
import { CampaignDetail } from './CampaignDetail'
import { Contacts } from './Contacts'
import { Instances } from './Instances'
import { Reports } from './Reports'
import { Settings } from './Settings'
import { Webhooks } from './Webhooks'

export default function TenantArea() {
  const { t } = useI18n()
  const me = useMe()
  return (
    <div className="area">
      <nav className="sidenav" aria-label={t('nav.label')}>
        {me.data && <p className="tenant-name">{me.data.tenant.name}</p>}
        <ul>
          <li><NavLink to="/campaigns">{t('nav.campaigns')}</NavLink></li>
          <li><NavLink to="/contacts">{t('nav.contacts')}</NavLink></li>
          <li><NavLink to="/instances">{t('nav.instances')}</NavLink></li>
          <li><NavLink to="/reports">{t('nav.reports')}</NavLink></li>
          <li><NavLink to="/webhooks">{t('nav.webhooks')}</NavLink></li>
          <li><NavLink to="/settings">{t('nav.settings')}</NavLink></li>
        </ul>
      </nav>
      <div className="content">
        <Routes>
          <Route index element={<Navigate to="/campaigns" replace />} />
          <Route path="campaigns" element={<Campaigns />} />
          <Route path="campaigns/new" element={<CampaignNew />} />
          <Route path="campaigns/:id" element={<CampaignDetail />} />
          <Route path="contacts" element={<Contacts />} />
          <Route path="instances" element={<Instances />} />
          <Route path="reports" element={<Reports />} />
          <Route path="webhooks" element={<Webhooks />} />
          <Route path="settings" element={<Settings />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </div>
    </div>
  )
}

function NotFound() {
  const { t } = useI18n()
  return <p role="alert">{t('error.NOT_FOUND')}</p>
}
