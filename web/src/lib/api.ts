// The client of the public API: every answer is an envelope
// {success, data} or {success:false, error, code, details}; this turns it
// into a value or an ApiError with the machine code, so the UI can show a
// message in the user's language instead of the server's English text.
import { getSession } from './keystore'

/** One field problem of a VALIDATION_FAILED answer. */
export interface FieldDetail {
  field: string
  code: string
  message: string
}

/** The API's error codes plus the client's own NETWORK (no answer) and BAD_RESPONSE (not an envelope). */
export type ErrorCode =
  | 'MALFORMED_JSON'
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'INVALID_STATE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMIT_EXCEEDED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'NETWORK'
  | 'BAD_RESPONSE'

/** A failed API call. */
export class ApiError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: FieldDetail[]
  readonly retryAfter?: number

  constructor(code: ErrorCode, message: string, status: number, details: FieldDetail[] = [], retryAfter?: number) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.details = details
    this.retryAfter = retryAfter
  }
}

/** A page of a list route. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
  /** Overrides the session key (sign-in checks a key before storing it). */
  key?: string
  signal?: AbortSignal
}

/** Called when an authenticated call answers 401 (the key was revoked): the app signs out. */
let onUnauthorized: (() => void) | null = null
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn
}

/** Calls the API and returns the envelope's data. */
export async function api<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers }
  const key = opts.key ?? getSession()?.key
  if (key) headers.Authorization = `Bearer ${key}`
  let body: string | undefined
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  let res: Response
  try {
    res = await fetch(path, { method, headers, body, signal: opts.signal, credentials: 'omit' })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError('NETWORK', 'network error', 0)
  }
  if (res.status === 204) return undefined as T
  let env: unknown
  try {
    env = await res.json()
  } catch {
    throw new ApiError(res.status >= 500 ? 'UNAVAILABLE' : 'BAD_RESPONSE', `HTTP ${res.status}`, res.status)
  }
  if (!isEnvelope(env)) {
    throw new ApiError('BAD_RESPONSE', `HTTP ${res.status}`, res.status)
  }
  if (env.success && res.ok) return env.data as T
  const code = (typeof env.code === 'string' ? env.code : 'BAD_RESPONSE') as ErrorCode
  const details = Array.isArray(env.details) ? (env.details as FieldDetail[]) : []
  const err = new ApiError(code, typeof env.error === 'string' ? env.error : `HTTP ${res.status}`, res.status, details,
    typeof env.retryAfter === 'number' ? env.retryAfter : undefined)
  if (res.status === 401 && !opts.key && key) onUnauthorized?.()
  throw err
}

interface Envelope {
  success: boolean
  data?: unknown
  error?: unknown
  code?: unknown
  details?: unknown
  retryAfter?: unknown
}

function isEnvelope(v: unknown): v is Envelope {
  return typeof v === 'object' && v !== null && typeof (v as Envelope).success === 'boolean'
}

/** Builds a path with query parameters, leaving out empty ones. */
export function withQuery(path: string, q: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  const s = p.toString()
  return s ? `${path}?${s}` : path
}

/** A fresh Idempotency-Key for one submit (a double click resends the same one). */
export function idempotencyKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`
}
