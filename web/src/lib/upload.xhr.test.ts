import { afterEach, describe, expect, it, vi } from 'vitest'
import { putWithProgress, UploadError } from './upload'

/** A scripted XMLHttpRequest: records what the code sets, answers with status. */
class FakeXHR {
  static last: FakeXHR
  static status = 200
  method = ''
  url = ''
  headers: Record<string, string> = {}
  body: unknown
  status = 0
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  onabort: (() => void) | null = null
  constructor() {
    FakeXHR.last = this
  }
  open(method: string, url: string) {
    this.method = method
    this.url = url
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v
  }
  send(body: unknown) {
    this.body = body
    this.upload.onprogress?.({ loaded: 4, total: 10, lengthComputable: true })
    this.upload.onprogress?.({ loaded: 10, total: 10, lengthComputable: true })
    this.status = FakeXHR.status
    if (this.status === 0) this.onerror?.()
    else this.onload?.()
  }
  abort() {
    this.onabort?.()
  }
}

describe('upload to the presigned URL', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    FakeXHR.status = 200
  })

  it('PUTs the file with exactly the returned headers and reports byte progress', async () => {
    vi.stubGlobal('XMLHttpRequest', FakeXHR)
    sessionStorage.setItem('wuzapi.session', JSON.stringify({ key: 'secret', role: 'tenant' }))
    const file = new Blob(['phone\n1\n'])
    const seen: [number, number][] = []
    await putWithProgress('https://s3.test/imports/x.csv?X-Amz-Signature=abc', 'PUT',
      { 'Content-Type': 'text/csv', 'x-amz-meta-import-id': 'x' }, file, (l, t) => seen.push([l, t]))
    const x = FakeXHR.last
    expect(x.method).toBe('PUT')
    expect(x.url).toBe('https://s3.test/imports/x.csv?X-Amz-Signature=abc')
    expect(x.headers).toEqual({ 'Content-Type': 'text/csv', 'x-amz-meta-import-id': 'x' }) // no Authorization: the signature is the credential
    expect(x.body).toBe(file)
    expect(seen).toEqual([[4, 10], [10, 10], [file.size, file.size]])
  })

  it.each([
    ['403 is an expired or mismatched URL', 403, 'expired'],
    ['another status', 500, 'http'],
    ['no connection', 0, 'network'],
  ])('%s', async (_n, status, kind) => {
    vi.stubGlobal('XMLHttpRequest', FakeXHR)
    FakeXHR.status = status
    const err = await putWithProgress('https://s3.test/x', 'PUT', {}, new Blob(['a']), () => {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UploadError)
    expect((err as UploadError).kind).toBe(kind)
  })
})
