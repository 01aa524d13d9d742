#!/usr/bin/env node
// `make demo`: the whole system for someone with no WuzAPI. Starts a fake
// WuzAPI (e2e/fake-wuzapi.mjs: pairs on the first QR code, every send
// succeeds and is delivered and read a few seconds later), runs the real local
// platform with the dashboard (as `make run`, same environment and defaults),
// creates a demo tenant and an instance on the fake, and prints where to go and
// the keys. Ctrl-C stops everything.
import { randomBytes } from 'node:crypto'
import { startFakeWuzapi } from '../e2e/fake-wuzapi.mjs'
import { startPlatform } from '../e2e/platform.mjs'

const wuzapi = await startFakeWuzapi({ port: Number(process.env.FAKE_WUZAPI_PORT ?? 0), sendDelayMs: 300, receiptsMs: 2000 })
const adminKey = process.env.ADMIN_API_KEY || 'adm_' + randomBytes(32).toString('hex')
const platform = startPlatform({ ADMIN_API_KEY: adminKey }, { echo: true })
const stop = async () => {
  platform.stop()
  await wuzapi.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

let base
try {
  base = await platform.ready
} catch (e) {
  console.error(`demo: ${e.message}`)
  await wuzapi.close()
  process.exit(1)
}

async function call(method, path, key, body) {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  const env = await res.json()
  if (!env.success) throw new Error(`${method} ${path}: ${res.status} ${env.code} ${env.error}`)
  return env.data
}

try {
  const tenant = await call('POST', '/v1/tenants', adminKey, { name: 'Demonstração', timezone: 'America/Sao_Paulo', defaultCountry: 'BR' })
  // Faster than the safe defaults so a demo campaign finishes while you watch; a fake number cannot be banned.
  await call('POST', '/v1/instances', tenant.apiKey, {
    name: 'WhatsApp de demonstração', baseUrl: wuzapi.url, token: 'demo-' + randomBytes(6).toString('hex'), configureWebhook: true,
    messagesPerMinute: 30, minDelayMs: 1000, maxDelayMs: 3000, warmupDays: 0,
  })
  console.log(`
wuzapi-manager demo is running
  Dashboard:      ${base}/
  Tenant API key: ${tenant.apiKey}
  Admin key:      ${adminKey}
  Fake WuzAPI:    ${wuzapi.url}  (pairs on the first QR code; every send succeeds)
Sign in with the tenant key, pair the instance under Instâncias, paste a few phones in a new campaign.
Press Ctrl-C to stop.`)
} catch (e) {
  console.error(`demo: ${e.message}`)
  await stop()
}
