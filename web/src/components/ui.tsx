// Small shared pieces: messages for errors, labelled fields, badges, bars.
import { useEffect, useId, type ReactNode } from 'react'
import { ApiError, type ErrorCode } from '../lib/api'
import { UploadError } from '../lib/upload'
import { useI18n, type MessageKey } from '../lib/i18n'

const KNOWN: ErrorCode[] = ['MALFORMED_JSON', 'VALIDATION_FAILED', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND',
  'METHOD_NOT_ALLOWED', 'INVALID_STATE', 'IDEMPOTENCY_KEY_REUSED', 'PAYLOAD_TOO_LARGE', 'RATE_LIMIT_EXCEEDED',
  'INTERNAL', 'UNAVAILABLE', 'NETWORK', 'BAD_RESPONSE']

/** The message key for an error of any kind. */
export function errorKey(err: unknown): MessageKey {
  if (err instanceof ApiError && KNOWN.includes(err.code)) return `error.${err.code}` as MessageKey
  if (err instanceof UploadError) return `upload.error.${err.kind}` as MessageKey
  return 'error.UNKNOWN'
}

/** An alert for a failed call, in the user's language, with the field
 * problems of a VALIDATION_FAILED answer. Renders nothing without an error. */
export function ErrorMessage({ error }: { error: unknown }) {
  const { t } = useI18n()
  if (!error) return null
  const details = error instanceof ApiError ? error.details : []
  const retry = error instanceof ApiError ? error.retryAfter : undefined
  return (
    <div className="alert alert-error" role="alert">
      <p>{t(errorKey(error))}{retry ? ' ' + t('error.retryAfter', { s: retry }) : ''}</p>
      {details.length > 0 && (
        <ul>
          {details.map((d) => (
            <li key={d.field + d.code}>
              <code>{d.field}</code>: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

/** A labelled form control with its help text and error, wired for screen readers. */
export function Field(props: {
  label: string
  help?: ReactNode
  error?: string
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode
}) {
  const id = useId()
  const helpId = props.help ? `${id}-help` : undefined
  const errId = props.error ? `${id}-err` : undefined
  const describedBy = [helpId, errId].filter(Boolean).join(' ') || undefined
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children({ id, describedBy, invalid: !!props.error })}
      {props.help && (
        <p className="help" id={helpId}>
          {props.help}
        </p>
      )}
      {props.error && (
        <p className="field-error" id={errId}>
          {props.error}
        </p>
      )}
    </div>
  )
}

/** A coloured state label. */
export function Badge({ tone, children }: { tone: string; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>
}

/** A progress bar with its value for assistive technology. */
export function ProgressBar({ value, label }: { value: number; label: string }) {
  const v = Math.max(0, Math.min(100, Math.round(value)))
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={v}>
      <div className="progress-fill" style={{ width: `${v}%` }} />
      <span className="progress-text">{v}%</span>
    </div>
  )
}

/** Previous / next buttons over keyset pages. */
export function Pager(props: { hasPrev: boolean; hasNext: boolean; onPrev: () => void; onNext: () => void }) {
  const { t } = useI18n()
  return (
    <nav className="pager" aria-label={t('pager.label')}>
      <button type="button" onClick={props.onPrev} disabled={!props.hasPrev}>
        {t('pager.prev')}
      </button>
      <button type="button" onClick={props.onNext} disabled={!props.hasNext}>
        {t('pager.next')}
      </button>
    </nav>
  )
}

/** Sets the document title (and so what a screen reader announces per page). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · WuzAPI Manager`
  }, [title])
}

/** "Loading…" for a query in flight. */
export function Loading() {
  const { t } = useI18n()
  return (
    <p className="muted" role="status">
      {t('common.loading')}
    </p>
  )
}

/** Keyset paging state: a stack of cursors. */
export function nextCursorStack(stack: (string | null)[], next: string | null): (string | null)[] {
  return next ? [...stack, next] : stack
}

/** Tone of a campaign state's badge. */
export function stateTone(state: string): string {
  switch (state) {
    case 'running':
    case 'queued':
      return 'info'
    case 'completed':
      return 'ok'
    case 'paused':
    case 'scheduled':
      return 'warn'
    case 'failed':
    case 'cancelled':
      return 'bad'
    default:
      return 'muted'
  }
}
