// A small fake WuzAPI (the same answers as internal/wuzapitest) for the
// browser tests on the real platform: Token auth, the {code, data, success}
// envelope, connect → QR → logged in after the first QR is fetched (the phone
// "scans" it), sends that succeed unless scripted, typing presence, number
// checks (phones without WhatsApp on demand), webhook settings, and the webhook
// posts WuzAPI makes (form-encoded jsonData): delivery and read receipts for
// each send, incoming messages, logouts and any other event.
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'

/**
 * sendDelayMs: how long a send takes (a campaign then lasts long enough to pause it).
 * receiptsMs: when > 0, each successful send is followed by a Delivered receipt after
 * receiptsMs and a Read receipt after twice that, posted to the user's webhook.
 */
export async function startFakeWuzapi({ sendDelayMs = 0, receiptsMs = 0, port = 0 } = {}) {
  const users = new Map() // token -> {connected, loggedIn, webhook, events, qrShown}
  const sends = []
  const scripts = new Map() // phone (digits) -> [{status, error}], one per send
  const absent = new Set() // phones (digits) /user/check says have no WhatsApp
  const checks = [] // {token, phones} per /user/check
  const presences = [] // {token, phone, state} per /chat/presence
  const timers = new Set()
  const later = (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t)
      fn()
    }, ms)
    timers.add(t)
  }
  const user = (token) => {
    if (!users.has(token)) users.set(token, { connected: false, loggedIn: false, webhook: '', events: [], qrShown: false })
    return users.get(token)
  }
  const respond = (res, status, data, error) => {
    res.writeHead(status, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify(status < 400 ? { code: status, success: true, data } : { code: status, success: false, error }))
  }
  /** Posts a webhook event as WuzAPI does when the user subscribed to its type; resolves with the status (0: not posted). */
  async function emit(token, type, jsonData) {
    const u = users.get(token)
    if (!u?.webhook || !(u.events.includes(type) || u.events.includes('All'))) return 0
    const form = new URLSearchParams({ jsonData: JSON.stringify(jsonData), userID: token, instanceName: token })
    const r = await fetch(u.webhook, { method: 'POST', body: form })
    return r.status
  }
  const receipt = (token, id, state) => emit(token, 'ReadReceipt', {
    type: 'ReadReceipt', state,
    event: { Chat: '', Sender: '', IsFromMe: false, IsGroup: false, MessageIDs: [id], Timestamp: new Date().toISOString(), Type: state === 'Read' ? 'read' : '', MessageSender: '' },
  }).catch(() => 0)

  const server = createServer(async (req, res) => {
    const chunks = []
    for await (const c of req) chunks.push(c)
    let body = {}
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}
    } catch {
      return respond(res, 400, null, 'could not decode Payload')
    }
    const url = new URL(req.url, 'http://x')
    const token = req.headers.token ?? url.searchParams.get('token')
    if (!token) return respond(res, 401, null, 'unauthorized')
    const u = user(token)
    const route = `${req.method} ${url.pathname}`
    switch (route) {
      case 'POST /session/connect':
        if (u.connected) return respond(res, 500, null, 'already connected')
        u.connected = true
        u.events = body.Subscribe ?? []
        return respond(res, 200, { details: 'Connected!', events: u.events.join(','), jid: '', webhook: u.webhook })
      case 'GET /session/status':
        return respond(res, 200, { id: token, name: token, connected: u.connected, loggedIn: u.loggedIn, jid: u.loggedIn ? '5511999990000@s.whatsapp.net' : '', webhook: u.webhook, events: u.events.join(','), qrcode: '' })
      case 'GET /session/qr':
        if (u.loggedIn) return respond(res, 500, null, 'already logged in')
        if (!u.connected) return respond(res, 500, null, 'not connected')
        if (!u.qrShown) later(500, () => (u.loggedIn = true)) // the phone scans the first code shown
        u.qrShown = true
        return respond(res, 200, { QRCode: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==' })
      case 'POST /chat/presence':
        if (!body.Phone) return respond(res, 400, null, 'missing Phone in Payload')
        if (!body.State) return respond(res, 400, null, 'missing State in Payload')
        if (!u.connected || !u.loggedIn) return respond(res, 500, null, 'failure sending chat presence to Whatsapp servers')
        presences.push({ token, phone: String(body.Phone).replace(/^\+/, ''), state: body.State })
        return respond(res, 200, { Details: 'Chat presence set successfuly' })
      case 'POST /chat/send/text': {
        if (!body.Phone) return respond(res, 400, null, 'missing Phone in Payload')
        if (!body.Body) return respond(res, 400, null, 'missing Body in Payload')
        if (!u.loggedIn) return respond(res, 500, null, "error sending message: the store doesn't contain a device JID")
        const id = body.Id || '3EB0' + randomBytes(9).toString('hex').toUpperCase()
        const phone = String(body.Phone).replace(/^\+/, '')
        const reply = scripts.get(phone)?.shift() ?? { status: 200 }
        if (sendDelayMs) await new Promise((r) => setTimeout(r, sendDelayMs))
        sends.push({ token, phone, body: body.Body, id, status: reply.status })
        if (reply.status !== 200) return respond(res, reply.status, null, reply.error)
        if (receiptsMs > 0) {
          later(receiptsMs, () => void receipt(token, id, 'Delivered'))
          later(2 * receiptsMs, () => void receipt(token, id, 'Read'))
        }
        return respond(res, 200, { Details: 'Sent', Id: id, Timestamp: Math.floor(Date.now() / 1000) })
      }
      case 'POST /chat/send/image': {
        // As WuzAPI: a data:image URL or an http(s) URL it fetches.
        if (!body.Phone) return respond(res, 400, null, 'missing Phone in Payload')
        if (!body.Image) return respond(res, 400, null, 'missing Image in Payload')
        if (!/^(data:image|https?:\/\/)/.test(body.Image)) return respond(res, 400, null, 'Image data should start with "data:image/png;base64,"')
        if (!u.loggedIn) return respond(res, 500, null, "failed to upload file: failed to refresh media connections: the store doesn't contain a device JID")
        const id = body.Id || '3EB0' + randomBytes(9).toString('hex').toUpperCase()
        const phone = String(body.Phone).replace(/^\+/, '')
        sends.push({ token, phone, body: body.Caption ?? '', id, status: 200, media: 'image', file: body.Image })
        return respond(res, 200, { Details: 'Sent', Id: id, Timestamp: Math.floor(Date.now() / 1000) })
      }
      case 'POST /chat/send/document': {
        // As WuzAPI (internal/wuzapitest/media.go): only a data URL that says
        // application/octet-stream, with FileName; the real type in MimeType.
        if (!body.Phone) return respond(res, 400, null, 'missing Phone in Payload')
        if (!body.Document) return respond(res, 400, null, 'missing Document in Payload')
        if (!body.FileName) return respond(res, 400, null, 'missing FileName in Payload')
        if (!String(body.Document).startsWith('data:application/octet-stream')) return respond(res, 400, null, 'document data should start with "data:application/octet-stream;base64,"')
        if (!u.loggedIn) return respond(res, 500, null, "failed to upload file: failed to refresh media connections: the store doesn't contain a device JID")
        const id = body.Id || '3EB0' + randomBytes(9).toString('hex').toUpperCase()
        const phone = String(body.Phone).replace(/^\+/, '')
        sends.push({ token, phone, body: body.Caption ?? '', id, status: 200, media: 'document', file: body.Document, fileName: body.FileName, mimeType: body.MimeType })
        return respond(res, 200, { Details: 'Sent', Id: id, Timestamp: Math.floor(Date.now() / 1000) })
      }
      case 'POST /user/check': {
        if (!Array.isArray(body.Phone) || body.Phone.length === 0) return respond(res, 400, null, 'missing Phone in Payload')
        if (!u.connected) return respond(res, 500, null, 'failed to check if users are on WhatsApp: failed to send usync query: websocket not connected')
        checks.push({ token, phones: body.Phone.map((p) => String(p).replace(/^\+/, '')) })
        return respond(res, 200, { Users: body.Phone.map((p) => {
          const d = String(p).replace(/^\+/, '')
          return { Query: p, IsInWhatsapp: !absent.has(d), JID: absent.has(d) ? '' : `${d}@s.whatsapp.net`, VerifiedName: '' }
        }) })
      }
      case 'POST /webhook':
        u.webhook = body.webhookURL ?? body.WebhookURL ?? ''
        if (body.events) u.events = body.events
        return respond(res, 200, { webhook: u.webhook })
      case 'GET /webhook':
        return respond(res, 200, { webhook: u.webhook, subscribe: u.events })
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n')
    }
  })
  await new Promise((r) => server.listen(port, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    sends,
    checks,
    presences,
    /** Makes /user/check answer that these phones (digits) have no WhatsApp account. */
    notOnWhatsApp: (...phones) => phones.forEach((p) => absent.add(String(p).replace(/^\+/, ''))),
    /** Posts any webhook event (e.g. 'TemporaryBan', {type, event: {Code: 104, Expire: ns}}); resolves with the status. */
    emit,
    /** The number is logged out on the phone: a LoggedOut event, and sends fail until it pairs again. */
    loggedOut(token) {
      const u = user(token)
      u.loggedIn = false
      u.qrShown = false
      return emit(token, 'LoggedOut', { type: 'LoggedOut', event: { OnConnect: true, Reason: 401 } })
    },
    /** Queues answers for the next sends to phone (digits), one per send: {status, error} (a 500 whose text has 463: the reach-out lock). */
    script: (phone, ...replies) => scripts.set(phone, [...(scripts.get(phone) ?? []), ...replies]),
    /** The contact with phone (digits) writes text to the user's number; resolves with the webhook's status. */
    message: (token, phone, text) => emit(token, 'Message', {
      type: 'Message',
      event: {
        Info: { Sender: `${phone}@s.whatsapp.net`, Chat: `${phone}@s.whatsapp.net`, IsFromMe: false, IsGroup: false, ID: '3EB0' + randomBytes(9).toString('hex').toUpperCase(), Timestamp: new Date().toISOString() },
        Message: { conversation: text },
      },
    }),
    close: () => new Promise((r) => {
      for (const t of timers) clearTimeout(t)
      server.closeAllConnections?.()
      server.close(r)
    }),
  }
}
