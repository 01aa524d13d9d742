// The CSV goes straight to the presigned URL:
// XMLHttpRequest, because fetch has no upload progress; exactly the headers
// the API returned (the signature covers them), no Authorization.

/** Bytes sent so far out of total. */
export type Progress = (loaded: number, total: number) => void

/** Why an upload failed: "expired" (403 from the store: the URL's time ran
 * out or the signature no longer matches), "network", "aborted" or "http". */
export class UploadError extends Error {
  readonly kind: 'expired' | 'network' | 'aborted' | 'http'
  readonly status: number
  constructor(kind: UploadError['kind'], status: number) {
    super(`upload failed: ${kind} ${status}`)
    this.name = 'UploadError'
    this.kind = kind
    this.status = status
  }
}

/** PUTs body to url with headers, reporting progress; resolves on 2xx. */
export function putWithProgress(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Blob,
  onProgress: Progress,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(method, url)
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size)
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(body.size, body.size)
        resolve()
      } else reject(new UploadError(xhr.status === 403 ? 'expired' : 'http', xhr.status))
    }
    xhr.onerror = () => reject(new UploadError('network', 0))
    xhr.onabort = () => reject(new UploadError('aborted', 0))
    signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(body)
  })
}

/** Column names the import worker reads as the phone (internal/importer). */
export const PHONE_COLUMNS = ['phone', 'telefone', 'whatsapp', 'number', 'celular', 'phone number', 'phone_number',
  'mobile', 'telephone', 'fone', 'telefono', 'numero', 'número']

/** A quick look at a file before upload, from its first KiB: is it a CSV
 * with a phone column? Returns null when it looks fine, else a reason. */
export async function checkCsv(file: Blob, maxBytes?: number): Promise<'empty' | 'not_csv' | 'no_phone' | 'too_large' | null> {
  if (file.size === 0) return 'empty'
  if (maxBytes !== undefined && file.size > maxBytes) return 'too_large'
  const bytes = new Uint8Array(await file.slice(0, 1024).arrayBuffer())
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return null // UTF-16: the worker decodes it
  if (bytes.some((b) => b < 9 || (b > 13 && b < 32))) return 'not_csv' // binary: a spreadsheet, a zip, an image
  const head = new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, '')
  const header = (head.split(/\r?\n/)[0] ?? '').toLowerCase()
  const cols = header.split(/[,;\t]/).map((c) => c.trim().replace(/^"|"$/g, '').trim())
  if (!cols.some((c) => PHONE_COLUMNS.includes(c))) return 'no_phone'
  return null
}
