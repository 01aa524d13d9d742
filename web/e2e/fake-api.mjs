// A fake of the public API (design §6) for the browser tests, beside the
// built dashboard (static.mjs). Same envelopes, codes, paging and
// Vary: Authorization as internal/httpapi; campaigns advance on a ticker so
// the UI can watch progress; a fake object store takes the presigned PUT.
// It keeps everything in memory and is not a product: the real API replaces
// it once the local platform (infra/local) serves every route.
import { createServer } from 'node:http'
import { randomBytes, randomUUID } from 'node:crypto'
import { serveStatic } from './static.mjs'

export const ADMIN_KEY = 'admin-e2e-key'
const PLANS = { free: 100, pro: 500, enterprise: 2000 }
const SAFE = { messagesPerMinute: 2, minDelayMs: 45000, maxDelayMs: 90000, hourlyCap: 30, dailyCap: 200, warmupDays: 10, maxInFlight: 1 }
const QR = 'data:image/svg+xml;base64,' + Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#fff"/><path d="M0 0h3v3H0zM5 0h3v3H5zM0 5h3v3H0zM4 4h1v1H4zM6 6h2v2H6z"/></svg>').toString('base64')

class Fail extends Error {
  constructor(status, code, message, details) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
  }
}
const notFound = (what = 'resource') => new Fail(404, 'NOT_FOUND', `${what} not found`)
const invalid = (field, message) => new Fail(400, 'VALIDATION_FAILED', 'validation failed', [{ field, code: 'invalid', message }])

/** Starts the fake on port (0: any); returns {url, close, state}. tickMs: one recipient per tick. */
export async function startFake({ dist, port = 0, tickMs = 300 } = {}) {
  const state = { tenants: new Map(), keys: new Map(), down: false, requests: [] }
  let origin = ''

  function tenantData(id) {
    return state.tenants.get(id)
  }
  function newTenant({ name, plan = 'free', defaultCountry = 'BR', timezone = 'America/Sao_Paulo' }) {
    const t = {
      id: randomUUID(), name, plan, defaultCountry, timezone, quietHours: null, createdAt: new Date().toISOString(),
      instances: [], imports: [], contacts: [], campaigns: [], reports: [], idem: new Map(),
    }
    state.tenants.set(t.id, t)
    return t
  }
  function newKey(t) {
    const key = 'wzm_' + randomBytes(18).toString('base64url')
    const id = randomUUID()
    state.keys.set(key, { id, tenantId: t.id, revoked: false })
    return { id, apiKey: key }
  }
  const publicTenant = (t) => ({ id: t.id, name: t.name, plan: t.plan, defaultCountry: t.defaultCountry, timezone: t.timezone, quietHours: t.quietHours, createdAt: t.createdAt })
  const publicInstance = ({ token, pairing, loggedIn, qrCalls, ...i }) => i
  const counts = (c) => {
    const n = { total: c.recipients.length, pending: 0, sending: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: c.skipped, unknown: 0 }
    for (const r of c.recipients) {
      n[r.status]++
      if (r.status === 'delivered' || r.status === 'read') n.sent++
      if (r.status === 'read') n.delivered++
    }
    return n
  }
  const publicCampaign = (c) => ({
    id: c.id, name: c.name, instanceId: c.instanceId, message: c.message, state: c.state, reason: c.reason,
    scheduledAt: c.scheduledAt, createdAt: c.createdAt, startedAt: c.startedAt, finishedAt: c.finishedAt, counts: counts(c),
  })
  function page(items, url, idOf = (x) => x.id) {
    const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 50) || 50, 1), 1000)
    const cursor = url.searchParams.get('cursor')
    let start = 0
    if (cursor) {
      const at = items.findIndex((x) => idOf(x) === cursor)
      if (at < 0) throw invalid('cursor', 'unknown cursor')
      start = at + 1
    }
    const slice = items.slice(start, start + limit)
    const more = start + limit < items.length
    return { items: slice, nextCursor: more ? idOf(slice[slice.length - 1]) : null }
  }

  // The campaign engine: on each tick every running campaign sends one
  // recipient; receipts follow two and four ticks later.
  const ticker = setInterval(() => {
    for (const t of state.tenants.values()) {
      for (const c of t.campaigns) {
        if (c.state === 'scheduled' && Date.parse(c.scheduledAt) <= Date.now()) c.state = 'queued'
        if (c.state !== 'queued' && c.state !== 'running') continue
        if (c.state === 'queued') {
          c.state = 'running'
          c.startedAt ??= new Date().toISOString()
        }
        c.tick++
        const next = c.recipients.find((r) => r.status === 'pending')
        if (next) {
          next.attempts++
          next.sentAt = new Date().toISOString()
          if (next.phone.endsWith('0011')) {
            next.status = 'failed'
            next.lastError = 'number is not on WhatsApp'
          } else {
            next.status = 'sent'
            next.sentTick = c.tick
            next.messageId = '3EB0' + randomBytes(9).toString('hex').toUpperCase()
          }
        }
        for (const r of c.recipients) {
          if (r.status === 'sent' && c.tick - r.sentTick >= 2) {
            r.status = 'delivered'
            r.deliveredAt = new Date().toISOString()
          } else if (r.status === 'delivered' && c.tick - r.sentTick >= 4) {
            r.status = 'read'
            r.readAt = new Date().toISOString()
          }
        }
        if (!c.recipients.some((r) => r.status === 'pending' || r.status === 'sending')) {
          c.state = 'completed'
          c.finishedAt = new Date().toISOString()
        }
      }
    }
  }, tickMs)

  function parseCsv(text) {
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.split(/[,;]/).some((f) => f.trim() !== '')) // all-empty records are skipped, as the importer does
    const header = (lines.shift() ?? '').split(/[,;]/).map((h) => h.trim().toLowerCase())
    const pi = header.findIndex((h) => ['phone', 'telefone', 'celular', 'whatsapp', 'number'].includes(h))
    const ni = header.findIndex((h) => h === 'name' || h === 'nome')
    if (pi < 0) return { error: 'the header has no phone column', rows: [] }
    return {
      rows: lines.map((l) => {
        const f = l.split(/[,;]/).map((s) => s.trim())
        const attrs = {}
        header.forEach((h, i) => i !== pi && i !== ni && f[i] !== undefined && (attrs[h] = f[i]))
        return { raw: l, phone: f[pi] ?? '', name: ni >= 0 ? f[ni] : undefined, attributes: attrs }
      }),
    }
  }
  const normal = (p) => {
    const d = String(p).replace(/\D/g, '')
    if (d.length === 10 || d.length === 11) return '55' + d
    if (d.length >= 12 && d.length <= 15) return d
    return null
  }
  function upsert(t, { phone, name, attributes }, importId) {
    const existing = t.contacts.find((c) => c.phone === phone)
    const now = new Date().toISOString()
    if (existing) {
      Object.assign(existing, { name: name ?? existing.name, attributes: { ...existing.attributes, ...attributes }, updatedAt: now, importId })
      return 'updated'
    }
    t.contacts.unshift({ id: randomUUID(), phone, name: name ?? null, attributes, optedOutAt: phone.endsWith('99') ? now : null, createdAt: now, updatedAt: now, importId })
    return 'imported'
  }

  async function body(req) {
    const chunks = []
    for await (const c of req) chunks.push(c)
    return Buffer.concat(chunks)
  }
  async function json(req) {
    const b = (await body(req)).toString('utf8')
    if (b === '') throw new Fail(400, 'MALFORMED_JSON', 'request body is empty; a JSON object is required')
    try {
      return JSON.parse(b)
    } catch {
      throw new Fail(400, 'MALFORMED_JSON', 'request body is not valid JSON')
    }
  }
  function send(res, status, payload) {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', Vary: 'Authorization' })
    res.end(status === 204 ? undefined : JSON.stringify(payload))
  }
  const ok = (res, status, data) => send(res, status, status === 204 ? null : { success: true, data })
  const bearer = (req) => (req.headers.authorization ?? '').replace(/^Bearer /, '')
  function tenantOf(req) {
    const k = state.keys.get(bearer(req))
    if (!k || k.revoked) throw new Fail(401, 'UNAUTHORIZED', 'missing or invalid API key')
    return tenantData(k.tenantId)
  }
  function admin(req) {
    if (bearer(req) !== ADMIN_KEY) throw new Fail(401, 'UNAUTHORIZED', 'missing or invalid admin key')
  }
  const byId = (list, id, what) => {
    const x = list.find((i) => i.id === id)
    if (!x) throw notFound(what)
    return x
  }

  async function route(req, res, url) {
    const p = url.pathname
    const m = (re) => p.match(re)
    const M = req.method
    let g
    // --- admin
    if (M === 'POST' && p === '/v1/tenants') {
      admin(req)
      const b = await json(req)
      if (typeof b.name !== 'string' || !b.name.trim()) throw invalid('name', 'is required')
      if (b.plan !== undefined && !(b.plan in PLANS)) throw invalid('plan', 'must be free, pro or enterprise')
      const t = newTenant(b)
      return ok(res, 201, { ...publicTenant(t), apiKey: newKey(t).apiKey })
    }
    if ((g = m(/^\/v1\/tenants\/([^/]+)$/)) && M === 'PATCH') {
      admin(req)
      const t = tenantData(g[1])
      const b = await json(req)
      if (!t) throw notFound('tenant')
      if (b.plan !== undefined && !(b.plan in PLANS)) throw invalid('plan', 'must be free, pro or enterprise')
      Object.assign(t, Object.fromEntries(Object.entries({ plan: b.plan, name: b.name, timezone: b.timezone }).filter(([, v]) => v !== undefined)))
      return ok(res, 200, publicTenant(t))
    }
    if ((g = m(/^\/v1\/tenants\/([^/]+)\/api-keys$/)) && M === 'POST') {
      admin(req)
      const t = tenantData(g[1])
      if (!t) throw notFound('tenant')
      return ok(res, 201, newKey(t))
    }
    if ((g = m(/^\/v1\/api-keys\/([^/]+)$/)) && M === 'DELETE') {
      admin(req)
      const k = [...state.keys.values()].find((x) => x.id === g[1])
      if (!k) throw notFound('api key')
      k.revoked = true
      return ok(res, 204)
    }
    // --- tenant
    const t = tenantOf(req)
    if (p === '/v1/me' && M === 'GET') return ok(res, 200, { tenant: publicTenant(t), rateLimit: { limit: PLANS[t.plan], remaining: PLANS[t.plan] - 1, resetSeconds: 60 } })
    if (p === '/v1/me' && M === 'PATCH') {
      const b = await json(req)
      if (b.timezone !== undefined) t.timezone = b.timezone
      if (b.defaultCountry !== undefined) t.defaultCountry = b.defaultCountry
      if ('quietHours' in b) t.quietHours = b.quietHours
      return ok(res, 200, { tenant: publicTenant(t), rateLimit: { limit: PLANS[t.plan], remaining: PLANS[t.plan] - 1, resetSeconds: 60 } })
    }
    if (p === '/v1/instances' && M === 'POST') {
      const b = await json(req)
      if (!b.name) throw invalid('name', 'is required')
      if (!/^https?:\/\//.test(b.baseUrl ?? '')) throw invalid('baseUrl', 'must be an http(s) URL')
      if (!b.token) throw invalid('token', 'is required')
      const id = randomUUID()
      const limits = Object.fromEntries(Object.keys(SAFE).map((k) => [k, b[k] ?? SAFE[k]]))
      if (limits.minDelayMs > limits.maxDelayMs) throw invalid('maxDelayMs', 'must be at least minDelayMs')
      const i = { id, name: b.name, baseUrl: b.baseUrl, ...limits, createdAt: new Date().toISOString(),
        webhookUrl: `${origin}/v1/webhooks/wuzapi/${id}?secret=${randomBytes(32).toString('base64url')}`, token: b.token, loggedIn: false, qrCalls: 0 }
      t.instances.unshift(i)
      return ok(res, 201, publicInstance(i))
    }
    if (p === '/v1/instances' && M === 'GET') return ok(res, 200, page(t.instances.map(publicInstance), url))
    if ((g = m(/^\/v1\/instances\/([^/]+)$/))) {
      const i = byId(t.instances, g[1], 'instance')
      if (M === 'GET') return ok(res, 200, { ...publicInstance(i), session: { connected: !!i.pairing || i.loggedIn, loggedIn: i.loggedIn } })
      if (M === 'PATCH') {
        const b = await json(req)
        for (const k of Object.keys(SAFE)) if (b[k] !== undefined) {
          if (!Number.isInteger(b[k]) || b[k] < 0) throw invalid(k, 'must be a non-negative integer')
          i[k] = b[k]
        }
        if (i.minDelayMs > i.maxDelayMs) throw invalid('maxDelayMs', 'must be at least minDelayMs')
        return ok(res, 200, publicInstance(i))
      }
    }
    if ((g = m(/^\/v1\/instances\/([^/]+)\/connect$/)) && M === 'POST') {
      const i = byId(t.instances, g[1], 'instance')
      i.pairing = true
      return ok(res, 200, { connected: true, loggedIn: i.loggedIn })
    }
    if ((g = m(/^\/v1\/instances\/([^/]+)\/qr$/)) && M === 'GET') {
      const i = byId(t.instances, g[1], 'instance')
      if (i.loggedIn) throw new Fail(409, 'INVALID_STATE', 'the instance is already logged in')
      if (!i.pairing) throw new Fail(409, 'INVALID_STATE', 'connect the instance first')
      i.qrCalls++
      if (i.qrCalls >= 1) i.loggedIn = true // the phone scans the first code shown
      return ok(res, 200, { qrCode: QR })
    }
    if (p === '/v1/imports' && M === 'POST') {
      const b = await json(req)
      const id = randomUUID()
      const expired = (b.fileName ?? '').includes('expired')
      t.imports.unshift({ id, fileName: b.fileName ?? null, status: 'pending', rowsTotal: 0, imported: 0, updated: 0, rejected: 0, progress: 0, error: null, rejectedRows: [], createdAt: new Date().toISOString(), uploadedAt: null, expired })
      return ok(res, 201, {
        importId: id, uploadUrl: `${origin}/_s3/imports/${t.id}/${id}.csv?X-Amz-Signature=${randomBytes(8).toString('hex')}`, method: 'PUT',
        headers: { 'Content-Type': 'text/csv', 'x-amz-meta-import-id': id }, expiresAt: new Date(Date.now() + 900_000).toISOString(), maxBytes: 10 << 20,
      })
    }
    const publicImport = ({ rejectedRows, uploadedAt, expired, ...j }) => ({ ...j, rejectedRowsUrl: j.rejected > 0 ? `${origin}/_s3/rejected/${t.id}/${j.id}.csv` : null })
    if (p === '/v1/imports' && M === 'GET') return ok(res, 200, page(t.imports.map(publicImport), url))
    if ((g = m(/^\/v1\/imports\/([^/]+)$/)) && M === 'GET') {
      const j = byId(t.imports, g[1], 'import')
      if (j.status === 'running' && Date.now() - j.uploadedAt > 1500) {
        j.status = j.error ? 'failed' : 'completed'
        j.progress = 100
      }
      return ok(res, 200, publicImport(j))
    }
    if (p === '/v1/contacts' && M === 'GET') {
      const importId = url.searchParams.get('importId')
      const list = importId ? t.contacts.filter((c) => c.importId === importId) : t.contacts
      return ok(res, 200, page(list.map(({ importId: _x, ...c }) => c), url))
    }
    if (p === '/v1/campaigns' && M === 'POST') {
      const idem = req.headers['idempotency-key']
      const raw = (await body(req)).toString('utf8')
      if (idem && t.idem.has(idem)) {
        const prev = t.idem.get(idem)
        if (prev.raw !== raw) throw new Fail(409, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key reused with another body')
        return ok(res, 202, prev.out)
      }
      let b
      try {
        b = JSON.parse(raw)
      } catch {
        throw new Fail(400, 'MALFORMED_JSON', 'request body is not valid JSON')
      }
      const details = []
      if (!b.instanceId || !t.instances.some((i) => i.id === b.instanceId)) details.push({ field: 'instanceId', code: 'not_found', message: 'no such instance' })
      if (!b.message) details.push({ field: 'message', code: 'required', message: 'is required' })
      if (!!b.contacts === !!b.audience) details.push({ field: 'audience', code: 'one_of', message: 'give exactly one of contacts and audience' })
      if (details.length) throw new Fail(400, 'VALIDATION_FAILED', 'validation failed', details)
      let people = []
      const bad = []
      if (b.contacts) {
        b.contacts.forEach((c, index) => {
          const o = typeof c === 'string' ? { phone: c } : c
          const phone = normal(o.phone)
          if (!phone) bad.push({ index, phone: String(o.phone), code: 'invalid_phone' })
          else people.push({ phone, name: o.name, optedOut: t.contacts.find((x) => x.phone === phone)?.optedOutAt })
        })
      } else if (b.audience.all) people = t.contacts.map((c) => ({ phone: c.phone, name: c.name, optedOut: c.optedOutAt }))
      else people = t.contacts.filter((c) => c.importId === b.audience.importId).map((c) => ({ phone: c.phone, name: c.name, optedOut: c.optedOutAt }))
      const skipped = people.filter((x) => x.optedOut).length
      people = people.filter((x) => !x.optedOut)
      const scheduled = b.scheduledAt && Date.parse(b.scheduledAt) > Date.now()
      const c = {
        id: randomUUID(), name: b.name ?? null, instanceId: b.instanceId, message: b.message, state: scheduled ? 'scheduled' : 'queued', reason: null,
        scheduledAt: b.scheduledAt ?? null, createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, skipped, tick: 0,
        recipients: people.map((x) => ({ phone: x.phone, contactId: null, status: 'pending', attempts: 0, lastError: null, messageId: null, sentAt: null, deliveredAt: null, readAt: null })),
      }
      if (c.recipients.length === 0) {
        c.state = 'completed'
        c.finishedAt = c.createdAt
      }
      t.campaigns.unshift(c)
      const out = { jobId: c.id, status: scheduled ? 'scheduled' : 'queued', contactCount: c.recipients.length, skipped, invalid: bad }
      if (idem) t.idem.set(idem, { raw, out })
      return ok(res, 202, out)
    }
    if (p === '/v1/campaigns' && M === 'GET') return ok(res, 200, page(t.campaigns.map(publicCampaign), url))
    if ((g = m(/^\/v1\/campaigns\/([^/]+)(\/[a-z]+)?$/))) {
      const c = byId(t.campaigns, g[1], 'campaign')
      const sub = g[2] ?? ''
      if (M === 'GET' && sub === '') return ok(res, 200, publicCampaign(c))
      if (M === 'GET' && sub === '/status') {
        const n = counts(c)
        return ok(res, 200, { jobId: c.id, state: c.state, progress: n.total ? Math.round((100 * (n.sent + n.failed + n.unknown)) / n.total) : 100, result: { processed: n.sent, failed: n.failed, total: n.total } })
      }
      if (M === 'GET' && sub === '/timeline') {
        const bucket = (Number(url.searchParams.get('bucketSeconds')) || 60) * 1000
        const map = new Map()
        const add = (iso, k) => {
          if (!iso) return
          const at = Math.floor(Date.parse(iso) / bucket) * bucket
          const e = map.get(at) ?? { at: new Date(at).toISOString(), sent: 0, delivered: 0, read: 0, failed: 0 }
          e[k]++
          map.set(at, e)
        }
        for (const r of c.recipients) {
          if (r.status === 'failed') add(r.sentAt, 'failed')
          else add(r.sentAt, 'sent')
          add(r.deliveredAt, 'delivered')
          add(r.readAt, 'read')
        }
        return ok(res, 200, { items: [...map.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v) })
      }
      if (M === 'GET' && sub === '/recipients') {
        const s = url.searchParams.get('status')
        const list = s ? c.recipients.filter((r) => r.status === s || (s === 'sent' && (r.status === 'delivered' || r.status === 'read'))) : c.recipients
        return ok(res, 200, page(list.map(({ sentTick, ...r }) => r), url, (r) => r.phone))
      }
      if (M === 'POST' && ['/pause', '/resume', '/cancel'].includes(sub)) {
        const to = { '/pause': ['paused', ['queued', 'running']], '/resume': ['queued', ['paused']], '/cancel': ['cancelled', ['scheduled', 'queued', 'running', 'paused', 'failed']] }[sub]
        if (!to[1].includes(c.state)) throw new Fail(409, 'INVALID_STATE', `cannot ${sub.slice(1)} a campaign that is ${c.state}`)
        c.state = to[0]
        c.reason = to[0] === 'paused' ? 'paused by the user' : null
        if (to[0] === 'cancelled') c.finishedAt = new Date().toISOString()
        return ok(res, 200, publicCampaign(c))
      }
      if (M === 'POST' && sub === '/resend') {
        const b = await json(req)
        let n = 0
        for (const r of c.recipients) if ((b.statuses ?? []).includes(r.status)) {
          r.status = 'pending'
          n++
        }
        if (n && c.state === 'completed') c.state = 'queued'
        return ok(res, 202, { jobId: c.id, requeued: n })
      }
    }
    if (p === '/v1/reports' && M === 'POST') {
      const b = await json(req)
      if (b.type !== 'campaign' && b.type !== 'contacts') throw invalid('type', 'must be campaign or contacts')
      if (b.type === 'campaign') byId(t.campaigns, b.campaignId, 'campaign')
      const r = { id: randomUUID(), type: b.type, campaignId: b.campaignId, status: 'pending', at: Date.now() }
      t.reports.push(r)
      return ok(res, 202, { reportId: r.id, status: 'pending' })
    }
    if ((g = m(/^\/v1\/reports\/([^/]+)$/)) && M === 'GET') {
      const r = byId(t.reports, g[1], 'report')
      const done = Date.now() - r.at > 800
      const rows = r.type === 'campaign' ? byId(t.campaigns, r.campaignId).recipients.length : t.contacts.length
      return ok(res, 200, {
        id: r.id, type: r.type, status: done ? 'completed' : 'running', rows: done ? rows : 0, progress: done ? 100 : 40, error: null,
        downloadUrl: done ? `${origin}/_s3/reports/${t.id}/${r.id}.csv` : null, expiresAt: done ? new Date(Date.now() + 3600_000).toISOString() : null,
      })
    }
    throw new Fail(404, 'NOT_FOUND', 'no such route')
  }

  // The fake object store: presigned PUTs for imports, GETs for reports and rejected rows.
  async function store(req, res, url) {
    let g
    if ((g = url.pathname.match(/^\/_s3\/imports\/([^/]+)\/([^/]+)\.csv$/)) && req.method === 'PUT') {
      const t = tenantData(g[1])
      const j = t?.imports.find((x) => x.id === g[2])
      if (!j || !url.searchParams.get('X-Amz-Signature') || req.headers['content-type'] !== 'text/csv' || req.headers['x-amz-meta-import-id'] !== j.id) {
        res.writeHead(403, { 'Content-Type': 'application/xml' }).end('<Error><Code>SignatureDoesNotMatch</Code></Error>')
        return
      }
      if (j.expired) {
        res.writeHead(403, { 'Content-Type': 'application/xml' }).end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>')
        return
      }
      const text = (await body(req)).toString('utf8')
      const { rows, error } = parseCsv(text)
      j.uploadedAt = Date.now()
      j.status = 'running'
      j.progress = 50
      if (error) j.error = error
      j.rowsTotal = rows.length
      for (const r of rows) {
        const phone = normal(r.phone)
        if (!phone) {
          j.rejected++
          j.rejectedRows.push(r.raw + ',invalid_phone')
          continue
        }
        j[upsert(t, { phone, name: r.name, attributes: r.attributes }, j.id)]++
      }
      res.writeHead(200, { ETag: '"e2e"' }).end()
      return
    }
    if ((g = url.pathname.match(/^\/_s3\/reports\/([^/]+)\/([^/]+)\.csv$/)) && req.method === 'GET') {
      const t = tenantData(g[1])
      const r = t?.reports.find((x) => x.id === g[2])
      if (!r) return res.writeHead(404).end()
      let csv
      if (r.type === 'campaign') {
        csv = 'phone,name,status,attempts,last_error,message_id,sent_at,delivered_at,read_at\n' +
          byId(t.campaigns, r.campaignId).recipients.map((x) => [x.phone, '', x.status, x.attempts, x.lastError ?? '', x.messageId ?? '', x.sentAt ?? '', x.deliveredAt ?? '', x.readAt ?? ''].join(',')).join('\n') + '\n'
      } else csv = 'phone,name,attributes,opted_out_at,created_at\n' + t.contacts.map((c) => [c.phone, c.name ?? '', '', c.optedOutAt ?? '', c.createdAt].join(',')).join('\n') + '\n'
      res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Disposition': `attachment; filename="report-${r.id}.csv"` }).end(csv)
      return
    }
    if ((g = url.pathname.match(/^\/_s3\/rejected\/([^/]+)\/([^/]+)\.csv$/)) && req.method === 'GET') {
      const j = tenantData(g[1])?.imports.find((x) => x.id === g[2])
      if (!j) return res.writeHead(404).end()
      res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="rejected.csv"' }).end('row,code\n' + j.rejectedRows.join('\n') + '\n')
      return
    }
    res.writeHead(404).end()
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, origin)
    try {
      if (url.pathname.startsWith('/v1/')) {
        state.requests.push({ method: req.method, path: url.pathname, at: Date.now(), auth: bearer(req) })
        if (state.down) {
          res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>')
          return
        }
        await route(req, res, url)
      } else if (url.pathname.startsWith('/_s3/')) await store(req, res, url)
      else if (url.pathname === '/health') ok(res, 200, { status: 'ok', checks: {} })
      else serveStatic(dist, req, res)
    } catch (e) {
      if (e instanceof Fail) send(res, e.status, { success: false, error: e.message, code: e.code, ...(e.details ? { details: e.details } : {}) })
      else {
        console.error('fake api:', e)
        send(res, 500, { success: false, error: 'internal error', code: 'INTERNAL' })
      }
    }
  })
  await new Promise((r) => server.listen(port, '127.0.0.1', r))
  origin = `http://127.0.0.1:${server.address().port}`
  return {
    url: origin,
    state,
    setDown: (v) => (state.down = v),
    close: () => new Promise((r) => {
      clearInterval(ticker)
      server.closeAllConnections?.()
      server.close(r)
    }),
  }
}

// `node e2e/fake-api.mjs` serves the dashboard on the fake for trying it by hand.
if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await startFake({ dist: new URL('../dist/', import.meta.url).pathname, port: Number(process.env.PORT ?? 8090) })
  console.log(`fake API and dashboard on ${f.url} (admin key ${ADMIN_KEY})`)
}
