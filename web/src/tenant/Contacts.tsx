import { useRef, useState, type DragEvent } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { api, withQuery, type Page } from '../lib/api'
import { useI18n, type MessageKey } from '../lib/i18n'
import { checkCsv, putWithProgress } from '../lib/upload'
import type { Contact, ImportJob, ImportTicket } from '../lib/types'
import { formatDateTime } from '../lib/time'
import { Badge, ErrorMessage, Loading, Pager, ProgressBar, useTitle } from '../components/ui'
import { useZone } from './hooks'

export function Contacts() {
  const { t } = useI18n()
  useTitle(t('nav.contacts'))
  const [importId, setImportId] = useState<string | null>(null)
  const [filter, setFilter] = useState('')
  return (
    <section>
      <h1>{t('nav.contacts')}</h1>
      <Upload onStarted={setImportId} />
      {importId && <ImportProgress id={importId} />}
      <Imports onFilter={setFilter} />
      <ContactsTable importId={filter} onClear={() => setFilter('')} />
    </section>
  )
}

type Phase = { kind: 'idle' } | { kind: 'checking' } | { kind: 'uploading'; loaded: number; total: number } | { kind: 'done' }

/** Drop a CSV: ask for an upload URL, PUT the file there with a byte progress bar. */
function Upload({ onStarted }: { onStarted: (id: string) => void }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const input = useRef<HTMLInputElement>(null)
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' })
  const [error, setError] = useState<unknown>(null)
  const [problem, setProblem] = useState<MessageKey | null>(null)
  const [over, setOver] = useState(false)
  const busy = phase.kind === 'checking' || phase.kind === 'uploading'

  async function start(file: File) {
    if (busy) return // one upload at a time: a second drop is not a second import
    setError(null)
    setProblem(null)
    setPhase({ kind: 'checking' })
    try {
      const bad = await checkCsv(file)
      if (bad) {
        setProblem(`upload.problem.${bad}` as MessageKey)
        setPhase({ kind: 'idle' })
        return
      }
      const ticket = await api<ImportTicket>('POST', '/v1/imports', { body: { fileName: file.name } })
      if (file.size > ticket.maxBytes) {
        setProblem('upload.problem.too_large')
        setPhase({ kind: 'idle' })
        return
      }
      setPhase({ kind: 'uploading', loaded: 0, total: file.size })
      await putWithProgress(ticket.uploadUrl, ticket.method || 'PUT', ticket.headers, file, (loaded, total) =>
        setPhase({ kind: 'uploading', loaded, total }),
      )
      setPhase({ kind: 'done' })
      onStarted(ticket.importId)
      void qc.invalidateQueries({ queryKey: ['imports'] })
    } catch (e) {
      setError(e)
      setPhase({ kind: 'idle' })
    } finally {
      if (input.current) input.current.value = ''
    }
  }

  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setOver(false)
    const f = e.dataTransfer.files[0]
    if (f) void start(f)
  }
  return (
    <div className="card">
      <h2>{t('upload.title')}</h2>
      <div
        className={`dropzone${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>{t('upload.drop')}</p>
        <label className="button">
          {t('upload.choose')}
          <input ref={input} className="visually-hidden" type="file" accept=".csv,text/csv,text/plain" disabled={busy}
            onChange={(e) => {
              const f = e.target.files?.[0]
              if (f) void start(f)
            }} />
        </label>
        <p className="help">{t('upload.help')}</p>
      </div>
      {phase.kind === 'uploading' && (
        <div>
          <ProgressBar label={t('upload.bytes')} value={phase.total ? (100 * phase.loaded) / phase.total : 0} />
          <p className="muted">{t('upload.bytesOf', { loaded: formatBytes(phase.loaded), total: formatBytes(phase.total) })}</p>
        </div>
      )}
      {phase.kind === 'done' && <p className="alert alert-ok" role="status">{t('upload.sent')}</p>}
      {problem && <p className="alert alert-error" role="alert">{t(problem)}</p>}
      <ErrorMessage error={error} />
    </div>
  )
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** The import's own progress, polled every 2 s until it settles. */
function ImportProgress({ id }: { id: string }) {
  const { t } = useI18n()
  const qc = useQueryClient()
  const job = useQuery({
    queryKey: ['import', id],
    queryFn: async () => {
      const j = await api<ImportJob>('GET', `/v1/imports/${id}`)
      if (j.status === 'completed') void qc.invalidateQueries({ queryKey: ['contacts'] })
      return j
    },
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'completed' || q.state.data.status === 'failed') ? false : 2000),
  })
  const j = job.data
  return (
    <div className="card" aria-live="polite">
      <h2>{t('import.title')}</h2>
      <ErrorMessage error={job.error} />
      {j && (
        <>
          <p>
            <Badge tone={j.status === 'completed' ? 'ok' : j.status === 'failed' ? 'bad' : 'info'}>{t(`import.status.${j.status}`)}</Badge>
          </p>
          <ProgressBar label={t('import.progress')} value={j.progress} />
          <dl className="counts">
            <div><dt>{t('import.rowsTotal')}</dt><dd data-testid="import-total">{j.rowsTotal}</dd></div>
            <div><dt>{t('import.imported')}</dt><dd data-testid="import-imported">{j.imported}</dd></div>
            <div><dt>{t('import.updated')}</dt><dd>{j.updated}</dd></div>
            <div><dt>{t('import.rejected')}</dt><dd>{j.rejected}</dd></div>
          </dl>
          {j.error && <p className="alert alert-error">{t('import.failed')} {j.error}</p>}
          {j.rejectedRowsUrl && (
            <a className="button secondary" href={j.rejectedRowsUrl} download>
              {t('import.rejectedDownload')}
            </a>
          )}
        </>
      )}
    </div>
  )
}

function Imports({ onFilter }: { onFilter: (id: string) => void }) {
  const { t, lang } = useI18n()
  const zone = useZone()
  const list = useQuery({ queryKey: ['imports'], queryFn: () => api<Page<ImportJob>>('GET', withQuery('/v1/imports', { limit: 20 })) })
  if (!list.data?.items.length) return <ErrorMessage error={list.error} />
  return (
    <div className="card">
      <h2>{t('import.list')}</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr><th>{t('import.file')}</th><th>{t('common.status')}</th><th>{t('import.rowsTotal')}</th><th>{t('import.rejected')}</th><th>{t('common.created')}</th><th><span className="visually-hidden">{t('common.actions')}</span></th></tr>
          </thead>
          <tbody>
            {list.data.items.map((j) => (
              <tr key={j.id}>
                <td>{j.fileName || j.id.slice(0, 8)}</td>
                <td>{t(`import.status.${j.status}`)}</td>
                <td>{j.rowsTotal}</td>
                <td>{j.rejected}</td>
                <td>{formatDateTime(j.createdAt, zone, lang)}</td>
                <td><button type="button" className="link" onClick={() => onFilter(j.id)}>{t('import.showContacts')}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  )
}

function ContactsTable({ importId, onClear }: { importId: string; onClear: () => void }) {
  const { t, lang } = useI18n()
  const zone = useZone()
  const [cursors, setCursors] = useState<(string | null)[]>([null])
  const [lastFilter, setLastFilter] = useState(importId)
  if (lastFilter !== importId) {
    setLastFilter(importId)
    setCursors([null])
  }
  const cursor = cursors[cursors.length - 1] ?? null
  const page = useQuery({
    queryKey: ['contacts', importId, cursor],
    queryFn: () => api<Page<Contact>>('GET', withQuery('/v1/contacts', { limit: 50, cursor, importId })),
    placeholderData: (prev) => prev,
  })
  return (
    <div className="card">
      <h2>{t('contacts.title')}</h2>
      {importId && (
        <p>
          {t('contacts.filtered')} <button type="button" className="link" onClick={onClear}>{t('contacts.clearFilter')}</button>
        </p>
      )}
      {page.isPending && <Loading />}
      <ErrorMessage error={page.error} />
      {page.data && page.data.items.length === 0 && <p className="muted">{t('contacts.empty')}</p>}
      {page.data && page.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t('contacts.title')}</caption>
            <thead>
              <tr><th>{t('contacts.phone')}</th><th>{t('contacts.name')}</th><th>{t('contacts.attributes')}</th><th>{t('common.status')}</th><th>{t('common.updated')}</th></tr>
            </thead>
            <tbody>
              {page.data.items.map((c) => (
                <tr key={c.id} className={c.optedOutAt ? 'opted-out' : undefined}>
                  <td>+{c.phone}</td>
                  <td>{c.name || '—'}</td>
                  <td className="attrs">{c.attributes ? Object.entries(c.attributes).map(([k, v]) => `${k}: ${String(v)}`).join(', ') : ''}</td>
                  <td>{c.optedOutAt ? <Badge tone="bad">{t('contacts.optedOut')}</Badge> : <Badge tone="ok">{t('contacts.active')}</Badge>}</td>
                  <td>{formatDateTime(c.updatedAt, zone, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        hasPrev={cursors.length > 1}
        hasNext={!!page.data?.nextCursor}
        onPrev={() => setCursors((s) => s.slice(0, -1))}
        onNext={() => page.data?.nextCursor && setCursors((s) => [...s, page.data!.nextCursor])}
      />
    </div>
  )
}
