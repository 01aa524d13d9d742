// Campaign media: the types and limits the API allows (internal/media),
// the upload (announce, presigned PUT, wait for the check) and the kind a
// WhatsApp preview shows.
import { api } from './api'
import { putWithProgress, type Progress } from './upload'
import type { Media, MediaCreated } from './types'

export type MediaKind = 'image' | 'video' | 'audio' | 'document'

/** Allowed content types and their limits in bytes (WhatsApp's; "MB" = 10^6). */
export const MEDIA_TYPES: Record<string, { kind: MediaKind; max: number }> = {
  'image/jpeg': { kind: 'image', max: 5_000_000 },
  'image/png': { kind: 'image', max: 5_000_000 },
  'image/webp': { kind: 'image', max: 5_000_000 },
  'video/mp4': { kind: 'video', max: 16_000_000 },
  'audio/ogg': { kind: 'audio', max: 16_000_000 },
  'audio/mpeg': { kind: 'audio', max: 16_000_000 },
  'application/pdf': { kind: 'document', max: 100_000_000 },
  'application/msword': { kind: 'document', max: 100_000_000 },
  'application/vnd.ms-excel': { kind: 'document', max: 100_000_000 },
  'application/vnd.ms-powerpoint': { kind: 'document', max: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { kind: 'document', max: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { kind: 'document', max: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': { kind: 'document', max: 100_000_000 },
}

/** The file input's accept list. */
export const MEDIA_ACCEPT = Object.keys(MEDIA_TYPES).join(',')

/** Why a file cannot be attached before any upload, or null when it may be. */
export function mediaProblem(file: { type: string; size: number }): 'type' | 'size' | 'empty' | null {
  const t = MEDIA_TYPES[file.type]
  if (!t) return 'type'
  if (file.size === 0) return 'empty'
  if (file.size > t.max) return 'size'
  return null
}

export function mediaKind(contentType: string): MediaKind {
  return MEDIA_TYPES[contentType]?.kind ?? 'document'
}

/** "1.2 MB" style size, in WhatsApp's MB. */
export function formatBytes(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)} MB`
  if (n >= 1_000) return `${Math.round(n / 1_000)} kB`
  return `${n} B`
}

/** Upload steps the form shows. */
export type UploadStep = { step: 'uploading'; pct: number } | { step: 'checking' }

/** Announces file, PUTs it to the presigned URL and waits until the check
 * makes it ready (resolves) or rejected (rejects with the check's reason). */
export async function uploadMedia(file: File, onStep: (s: UploadStep) => void, opts: { signal?: AbortSignal; pollMs?: number; timeoutMs?: number } = {}): Promise<Media> {
  const ticket = await api<MediaCreated>('POST', '/v1/media', { body: { fileName: file.name, contentType: file.type, size: file.size } })
  const progress: Progress = (loaded, total) => onStep({ step: 'uploading', pct: total ? Math.round((100 * loaded) / total) : 0 })
  await putWithProgress(ticket.uploadUrl, ticket.method, ticket.headers, file, progress, opts.signal)
  onStep({ step: 'checking' })
  const until = Date.now() + (opts.timeoutMs ?? 120_000)
  for (;;) {
    const m = await api<Media>('GET', `/v1/media/${ticket.mediaId}`)
    if (m.status === 'ready') return m
    if (m.status === 'rejected') throw new MediaRejected(m.error ?? '')
    if (Date.now() > until || opts.signal?.aborted) throw new MediaRejected('timeout')
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 700))
  }
}

/** The check refused the upload (reason is the API's error text), or it never finished ("timeout"). */
export class MediaRejected extends Error {
  readonly reason: string
  constructor(reason: string) {
    super(`media rejected: ${reason}`)
    this.name = 'MediaRejected'
    this.reason = reason
  }
}
