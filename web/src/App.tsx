import { Component, lazy, Suspense, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react'
import { Navigate, Route, Routes, useNavigate } from 'react-router'
import { useQueryClient } from '@tanstack/react-query'
import { getSession, subscribeSession } from './lib/keystore'
import { setUnauthorizedHandler } from './lib/api'
import { LANGS, setLang, useI18n, type Lang } from './lib/i18n'
import { signOut } from './lib/session'
import { isUpdateReady, subscribeUpdate } from './pwa'
import { SignIn } from './SignIn'
import { Loading } from './components/ui'

// The areas load lazily: a tenant never downloads the admin code, and the sign-in page needs neither.
const TenantArea = lazy(() => import('./tenant/TenantArea'))
const AdminArea = lazy(() => import('./admin/AdminArea'))

export function useSession() {
  return useSyncExternalStore(subscribeSession, getSession, getSession)
}

export function App() {
  const session = useSession()
  const qc = useQueryClient()
  const navigate = useNavigate()
  const { t } = useI18n()

  useEffect(() => {
    // A revoked key: sign out and say why.
    setUnauthorizedHandler(() => {
      void signOut(qc).then(() => navigate('/signin?expired=1'))
    })
    return () => setUnauthorizedHandler(null)
  }, [qc, navigate])

  return (
    <>
      <a className="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <Header />
      <StatusBanners />
      <main id="main" tabIndex={-1}>
        <ErrorBoundary>
          <Suspense fallback={<Loading />}>
            <Routes>
              <Route path="/signin" element={<SignIn />} />
              <Route path="/admin/*" element={session?.role === 'admin' ? <AdminArea /> : <Navigate to="/signin?role=admin" replace />} />
              <Route path="/*" element={session?.role === 'tenant' ? <TenantArea /> : <Navigate to={session?.role === 'admin' ? '/admin' : '/signin'} replace />} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </main>
    </>
  )
}

function Header() {
  const { t, lang } = useI18n()
  const session = useSession()
  const qc = useQueryClient()
  const navigate = useNavigate()
  return (
    <header className="topbar">
      <span className="brand">
        <img src="/icons/icon.svg" alt="" width={28} height={28} /> WuzAPI Manager
      </span>
      <div className="topbar-actions">
        <label htmlFor="lang-select" className="visually-hidden">
          {t('lang.label')}
        </label>
        <select id="lang-select" className="lang" value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
          {LANGS.map((l) => (
            <option key={l} value={l}>
              {t(`lang.${l}`)}
            </option>
          ))}
        </select>
        {session && (
          <button type="button" className="secondary" onClick={() => void signOut(qc).then(() => navigate('/signin'))}>
            {t('nav.signOut')}
          </button>
        )}
      </div>
    </header>
  )
}

function StatusBanners() {
  const { t } = useI18n()
  const update = useSyncExternalStore(subscribeUpdate, isUpdateReady, isUpdateReady)
  const [online, setOnline] = useState(() => navigator.onLine)
  useEffect(() => {
    const on = () => setOnline(true)
    const off = () => setOnline(false)
    window.addEventListener('online', on)
    window.addEventListener('offline', off)
    return () => {
      window.removeEventListener('online', on)
      window.removeEventListener('offline', off)
    }
  }, [])
  return (
    <div aria-live="polite">
      {!online && <p className="banner banner-warn">{t('banner.offline')}</p>}
      {update && (
        <p className="banner banner-info">
          {t('banner.update')}{' '}
          <button type="button" onClick={() => window.location.reload()}>
            {t('banner.reload')}
          </button>
        </p>
      )}
    </div>
  )
}

/** Catches render errors (and lazy chunks that fail to load): a message, never a blank page or a stack trace. */
class ErrorBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  state = { failed: false }
  static getDerivedStateFromError() {
    return { failed: true }
  }
  render() {
    if (this.state.failed) return <Crashed />
    return this.props.children
  }
}

function Crashed() {
  const { t } = useI18n()
  return (
    <div className="alert alert-error" role="alert">
      <p>{t('error.crashed')}</p>
      <button type="button" onClick={() => window.location.reload()}>
        {t('banner.reload')}
      </button>
    </div>
  )
}
