// CampaignService.sendMessage, which the seed leaves undefined: one
// WuzAPI POST /chat/send/text (Token header, {Phone, Body}), failing on a
// non-2xx answer. WUZAPI_URL and WUZAPI_TOKEN name the server and the
// instance's token. WUZAPI_CLIENT picks the HTTP client, both Node's own:
// "fetch" (the default: the global fetch, undici, keep-alive) or "http"
// (node:http with a keep-alive agent, the cheapest client Node has).
const http = require('node:http');

const base = new URL(process.env.WUZAPI_URL || 'http://127.0.0.1:8080');
const token = process.env.WUZAPI_TOKEN || '';
const agent = new http.Agent({ keepAlive: true });
const sendURL = new URL('/chat/send/text', base).href;

async function sendWithFetch(contact, message) {
  const res = await fetch(sendURL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Token: token },
    body: JSON.stringify({ Phone: contact, Body: message }),
  });
  const body = await res.text();
  if (!res.ok) {
    throw new Error(`wuzapi ${res.status}: ${body}`);
  }
  return JSON.parse(body);
}

function sendWithHTTP(contact, message) {
  const body = JSON.stringify({ Phone: contact, Body: message });
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: base.hostname,
      port: base.port,
      path: '/chat/send/text',
      method: 'POST',
      agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Token: token },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode < 200 || res.statusCode > 299) {
          reject(new Error(`wuzapi ${res.statusCode}: ${text}`));
          return;
        }
        resolve(JSON.parse(text));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const clients = { fetch: sendWithFetch, http: sendWithHTTP };
const sendMessage = clients[process.env.WUZAPI_CLIENT || 'fetch'];
if (!sendMessage) {
  throw new Error(`WUZAPI_CLIENT=${process.env.WUZAPI_CLIENT}: want fetch or http`);
}

module.exports = { sendMessage };
