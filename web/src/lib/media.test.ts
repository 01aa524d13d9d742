import { afterEach, describe, expect, it, vi } from 'vitest'
import { formatBytes, mediaKind, mediaProblem, MediaRejected, uploadMedia, type UploadStep } from './media'

vi.mock('./upload', () => ({
  putWithProgress: vi.fn(async (_u: string, _m: string, _h: Record<string, string>, body: Blob, onProgress: (l: number, t: number) => void) => {
    onProgress(body.size / 2, body.size)
    onProgress(body.size, body.size)
  }),
}))

function answer(data: unknown, status = 200) {
  return new Response(JSON.stringify(status < 400 ? { success: true, data } : { success: false, error: 'x', code: 'VALIDATION_FAILED' }), { status, headers: { 'Content-Type': 'application/json' } })
}

afterEach(() => vi.unstubAllGlobals())

describe('media rules (the API\'s, checked before any upload)', () => {
  it('allows WhatsApp\'s types within their limits', () => {
    expect(mediaProblem({ type: 'image/jpeg', size: 5_000_000 })).toBeNull()
    expect(mediaProblem({ type: 'image/jpeg', size: 5_000_001 })).toBe('size')
    expect(mediaProblem({ type: 'video/mp4', size: 16_000_001 })).toBe('size')
    expect(mediaProblem({ type: 'application/pdf', size: 100_000_000 })).toBeNull()
    expect(mediaProblem({ type: 'image/gif', size: 10 })).toBe('type')
    expect(mediaProblem({ type: 'image/png', size: 0 })).toBe('empty')
    expect(mediaKind('audio/ogg')).toBe('audio')
    expect(formatBytes(2_500_000)).toBe('2.5 MB')
  })
})

describe('uploadMedia', () => {
  it('announces, PUTs and waits until the check says ready', async () => {
    const calls: string[] = []
    let polls = 0
    vi.stubGlobal('fetch', vi.fn(async (path: string, init: RequestInit) => {
      calls.push(`${init.method} ${path}`)
      if (init.method === 'POST') {
        expect(JSON.parse(String(init.body))).toEqual({ fileName: 'a.png', contentType: 'image/png', size: 4 })
        return answer({ mediaId: 'm1', uploadUrl: 'http://s3/put', method: 'PUT', headers: { 'Content-Type': 'image/png' }, expiresAt: '', maxBytes: 5_000_000 }, 201)
      }
      polls++
      return answer({ id: 'm1', status: polls < 2 ? 'pending' : 'ready', fileName: 'a.png', size: 4 })
    }))
    const steps: UploadStep[] = []
    const m = await uploadMedia(new File(['abcd'], 'a.png', { type: 'image/png' }), (s) => steps.push(s), { pollMs: 1 })
    expect(m.status).toBe('ready')
    expect(calls).toEqual(['POST /v1/media', 'GET /v1/media/m1', 'GET /v1/media/m1'])
    expect(steps).toEqual([{ step: 'uploading', pct: 50 }, { step: 'uploading', pct: 100 }, { step: 'checking' }])
  })

  it('rejects with the check\'s reason', async () => {
    vi.stubGlobal('fetch', vi.fn(async (_p: string, init: RequestInit) => init.method === 'POST'
      ? answer({ mediaId: 'm2', uploadUrl: 'http://s3/put', method: 'PUT', headers: {}, expiresAt: '', maxBytes: 1 }, 201)
      : answer({ id: 'm2', status: 'rejected', error: 'the file\'s content is text/plain, not image/png' })))
    await expect(uploadMedia(new File(['x'], 'x.png', { type: 'image/png' }), () => {}, { pollMs: 1 }))
      .rejects.toEqual(new MediaRejected('the file\'s content is text/plain, not image/png'))
  })
})
