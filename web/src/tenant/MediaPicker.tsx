import { useEffect, useId, useRef } from 'react'
import { useQuery } from '@tanstack/react-query'
import { api, withQuery, type Page } from '../lib/api'
import { useI18n } from '../lib/i18n'
import { formatBytes, MEDIA_ACCEPT, MEDIA_TYPES, mediaKind, mediaProblem, MediaRejected, uploadMedia, type MediaKind, type UploadStep } from '../lib/media'
import type { Media } from '../lib/types'

/** What the form knows of its attachment. */
export type Attached =
  | { state: 'none' }
  | { state: 'busy'; step: UploadStep; file: File; preview: string | null }
  // file is null for a media chosen among those already uploaded; preview is
  // then the image's download link (or null), else an object URL of the file.
  | { state: 'ready'; media: Media; file: File | null; preview: string | null }
  | { state: 'failed'; message: string }

/** Attach one media file: it is uploaded through the presigned PUT and
 * checked at once, or chosen among the tenant's ready media (nothing
 * uploaded again); the form sends only a ready media's id. */
export function MediaPicker(props: { value: Attached; onChange: (a: Attached) => void }) {
  const { t } = useI18n()
  const id = useId()
  const input = useRef<HTMLInputElement>(null)
  const abort = useRef<AbortController | null>(null)
  const { value, onChange } = props
  const preview = value.state === 'busy' || value.state === 'ready' ? value.preview : null
  useEffect(() => () => { if (preview?.startsWith('blob:')) URL.revokeObjectURL(preview) }, [preview])
  useEffect(() => () => abort.current?.abort(), [])

  const pick = async (file: File | undefined) => {
    if (!file) return
    abort.current?.abort()
    const problem = mediaProblem(file)
    if (problem) {
      const max = formatBytes(MEDIA_TYPES[file.type]?.max ?? 0)
      onChange({ state: 'failed', message: problem === 'type' ? t('media.badType') : problem === 'size' ? t('media.tooBig', { max }) : t('media.empty') })
      return
    }
    const ctl = new AbortController()
    abort.current = ctl
    const shown = mediaKind(file.type) === 'image' ? URL.createObjectURL(file) : null
    onChange({ state: 'busy', step: { step: 'uploading', pct: 0 }, file, preview: shown })
    try {
      const media = await uploadMedia(file, (step) => !ctl.signal.aborted && onChange({ state: 'busy', step, file, preview: shown }), { signal: ctl.signal })
      if (!ctl.signal.aborted) onChange({ state: 'ready', media, file, preview: shown })
    } catch (e) {
      if (ctl.signal.aborted) return
      const reason = e instanceof MediaRejected ? e.reason : String((e as Error).message ?? e)
      onChange({ state: 'failed', message: t('media.rejected', { reason }) })
    }
  }
  const reuse = (m: Media | undefined) => {
    if (!m) return
    abort.current?.abort()
    if (input.current) input.current.value = ''
    onChange({ state: 'ready', media: m, file: null, preview: m.kind === 'image' ? (m.url ?? null) : null })
  }
  const clear = () => {
    abort.current?.abort()
    if (input.current) input.current.value = ''
    onChange({ state: 'none' })
  }

  return (
    <div className="card media-picker">
      <label htmlFor={id}><strong>{t('media.title')}</strong></label>
      <p className="help" id={`${id}-help`}>{t('media.help')}</p>
      <input ref={input} id={id} type="file" accept={MEDIA_ACCEPT} aria-describedby={`${id}-help`} aria-label={t('media.choose')}
        onChange={(ev) => void pick(ev.target.files?.[0])} />
      <ReadyMedia chosen={value.state === 'ready' && !value.file ? value.media.id : ''} onChoose={reuse} />
      <div className="media-status" aria-live="polite" data-testid="media-status">
        {value.state === 'busy' && (value.step.step === 'uploading' ? t('media.uploading', { pct: value.step.pct }) : t('media.checking'))}
        {value.state === 'ready' && t('media.ready', { name: value.media.fileName, size: formatBytes(value.media.size) })}
        {value.state === 'failed' && <span className="alert alert-error" role="alert">{value.message}</span>}
      </div>
      {value.state !== 'none' && <button type="button" className="secondary" onClick={clear}>{t('media.remove')}</button>}
    </div>
  )
}

/** How many of the newest media the reuse list reads (one page). */
export const REUSE_LIST = 50

/**
 * A select of the tenant's ready media (the newest REUSE_LIST, from
 * GET /v1/media): choosing one attaches it without uploading it again.
 * Hidden while there is none.
 */
function ReadyMedia(props: { chosen: string; onChoose: (m: Media | undefined) => void }) {
  const { t } = useI18n()
  const id = useId()
  const list = useQuery({ queryKey: ['media', 'list'], queryFn: () => api<Page<Media>>('GET', withQuery('/v1/media', { limit: REUSE_LIST })) })
  const ready = (list.data?.items ?? []).filter((m) => m.status === 'ready')
  if (ready.length === 0) return null
  return (
    <div className="field">
      <label htmlFor={id}>{t('media.reuse')}</label>
      <select id={id} value={props.chosen} onChange={(ev) => props.onChoose(ready.find((m) => m.id === ev.target.value))}>
        <option value="">{t('media.reuse.none')}</option>
        {ready.map((m) => <option key={m.id} value={m.id}>{`${m.fileName} (${formatBytes(m.size)})`}</option>)}
      </select>
    </div>
  )
}

/** The WhatsApp-like bubble of a media message: the image (or the file's
 * chip) with the caption under it. */
export function MediaBubble(props: { kind: MediaKind; fileName: string; preview: string | null; caption: string }) {
  const { t } = useI18n()
  const icon = { image: '🖼', video: '🎬', audio: '🎵', document: '📄' }[props.kind]
  return (
    <li className="bubble bubble-media" data-testid="media-bubble">
      {props.kind === 'image' && props.preview
        ? <img src={props.preview} alt={t('media.previewAlt')} />
        : <span className="file-chip"><span aria-hidden="true">{icon}</span> {props.fileName}</span>}
      {props.caption && <div className="caption">{props.caption}</div>}
    </li>
  )
}
