import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { api, ApiError, setUnauthorizedHandler, withQuery } from './api'
import { resetSessionMemory, setSession } from './keystore'

function reply(status: number, body: unknown, raw = false): Response {
  return new Response(raw ? (body as string) : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

describe('api client', () => {
  let fetchMock: ReturnType<typeof vi.fn>
  beforeEach(() => {
    fetchMock = vi.fn()
    vi.stubGlobal('fetch', fetchMock)
    sessionStorage.clear()
    resetSessionMemory()
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    setUnauthorizedHandler(null)
  })

  it('returns the data of a success envelope and sends the session key', async () => {
    setSession({ key: 'k1', role: 'tenant' })
    fetchMock.mockResolvedValue(reply(200, { success: true, data: { id: 'x' } }))
    await expect(api('GET', '/v1/me')).resolves.toEqual({ id: 'x' })
    const [path, init] = fetchMock.mock.calls[0]!
    expect(path).toBe('/v1/me')
    expect(init.headers.Authorization).toBe('Bearer k1')
    expect(init.credentials).toBe('omit')
  })

  it('sends a JSON body', async () => {
    fetchMock.mockResolvedValue(reply(201, { success: true, data: {} }))
    await api('POST', '/v1/imports', { body: { fileName: 'a.csv' }, key: 'other' })
    const init = fetchMock.mock.calls[0]![1]
    expect(init.headers['Content-Type']).toBe('application/json')
    expect(init.headers.Authorization).toBe('Bearer other')
    expect(JSON.parse(init.body)).toEqual({ fileName: 'a.csv' })
  })

  it.each([
    ['validation with details', 400, { success: false, error: 'bad', code: 'VALIDATION_FAILED', details: [{ field: 'name', code: 'required', message: 'is required' }] }, 'VALIDATION_FAILED', 1],
    ['invalid state', 409, { success: false, error: 'no', code: 'INVALID_STATE' }, 'INVALID_STATE', 0],
    ['rate limited', 429, { success: false, error: 'Too many requests', code: 'RATE_LIMIT_EXCEEDED', retryAfter: 7 }, 'RATE_LIMIT_EXCEEDED', 0],
    ['internal', 500, { success: false, error: 'internal error', code: 'INTERNAL' }, 'INTERNAL', 0],
  ])('turns an error envelope into ApiError: %s', async (_name, status, body, code, details) => {
    fetchMock.mockResolvedValue(reply(status, body))
    const err = await api('GET', '/v1/x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    const e = err as ApiError
    expect(e.code).toBe(code)
    expect(e.status).toBe(status)
    expect(e.details).toHaveLength(details)
    if (code === 'RATE_LIMIT_EXCEEDED') expect(e.retryAfter).toBe(7)
  })

  it('reports a network failure as NETWORK', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'))
    await expect(api('GET', '/v1/me')).rejects.toMatchObject({ code: 'NETWORK', status: 0 })
  })

  it('reports a non-JSON gateway error as UNAVAILABLE and a non-envelope as BAD_RESPONSE', async () => {
    fetchMock.mockResolvedValueOnce(reply(502, '<html>Bad Gateway</html>', true))
    await expect(api('GET', '/v1/me')).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 502 })
    fetchMock.mockResolvedValueOnce(reply(200, { hello: 'world' }))
    await expect(api('GET', '/v1/me')).rejects.toMatchObject({ code: 'BAD_RESPONSE' })
  })

  it('answers 204 with undefined', async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }))
    await expect(api('DELETE', '/v1/contacts/1')).resolves.toBeUndefined()
  })

  it('calls the unauthorized handler for a 401 on the session key, not on a key being checked', async () => {
    const handler = vi.fn()
    setUnauthorizedHandler(handler)
    setSession({ key: 'revoked', role: 'tenant' })
    fetchMock.mockResolvedValue(reply(401, { success: false, error: 'no', code: 'UNAUTHORIZED' }))
    await expect(api('GET', '/v1/me', { key: 'typed' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(handler).not.toHaveBeenCalled()
    fetchMock.mockResolvedValue(reply(401, { success: false, error: 'no', code: 'UNAUTHORIZED' }))
    await expect(api('GET', '/v1/me')).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(handler).toHaveBeenCalledTimes(1)
  })

  it('builds query strings without empty values', () => {
    expect(withQuery('/v1/contacts', { limit: 50, cursor: null, importId: '' })).toBe('/v1/contacts?limit=50')
    expect(withQuery('/v1/x', { status: 'failed', cursor: 'a b' })).toBe('/v1/x?status=failed&cursor=a+b')
    expect(withQuery('/v1/x', {})).toBe('/v1/x')
  })
})
