// The browser tests' small harness: Debian's Chromium with the flags that
// work here (web-toolchain.md), a fresh context per suite, assertions, polling
// with a deadline, and a runner that prints one line per test.
import { chromium } from 'playwright-core'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))
export const artifacts = root + 'test-artifacts'
export const results = root + 'test-results'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

/** One Chromium for every suite. */
export async function launch() {
  mkdirSync(artifacts, { recursive: true })
  mkdirSync(results, { recursive: true })
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS })
}

/**
 * A fresh context (its own storage and service worker; Portuguese) and its
 * page. requests lists the page's own API calls ({method, path, at, auth}),
 * as the server would see them, for tests that count or forbid requests.
 */
export async function session(browser) {
  const context = await browser.newContext({ serviceWorkers: 'allow', locale: 'pt-BR', acceptDownloads: true, viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  page.setDefaultTimeout(15000)
  const pageErrors = []
  page.on('pageerror', (e) => pageErrors.push(String(e)))
  const requests = []
  page.on('request', (r) => {
    const u = new URL(r.url())
    if (!u.pathname.startsWith('/v1/')) return
    requests.push({ method: r.method(), path: u.pathname, at: Date.now(), auth: (r.headers().authorization ?? '').replace(/^Bearer /, '') })
  })
  const shot = (name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true })
  return { context, page, shot, pageErrors, requests }
}

export function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`)
}

/** Polls fn until it returns a truthy value or timeout ms pass. */
export async function until(fn, msg, timeout = 15000) {
  const end = Date.now() + timeout
  let last
  for (;;) {
    try {
      last = await fn()
      if (last) return last
    } catch (e) {
      last = e
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${msg} (last: ${last})`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Runs a suite's tests in order (each may build on the ones before); a test
 * gets 90 s. only (a RegExp) runs the suite up to its last matching test.
 */
export async function runTests(tests, { suite, shot, pageErrors, only }) {
  let passed = 0
  let failed = 0
  const last = only ? Math.max(-1, ...tests.map((x, j) => (only.test(`${suite}: ${x.name}`) ? j : -1))) : tests.length - 1
  for (const [i, t] of tests.entries()) {
    if (i > last) break
    const t0 = Date.now()
    let timer
    try {
      await Promise.race([t.fn(), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('test timed out after 90 s')), 90000)))])
      passed++
      console.log(`ok   ${suite}: ${t.name} (${Date.now() - t0} ms)`)
    } catch (e) {
      failed++
      console.log(`FAIL ${suite}: ${t.name} (${Date.now() - t0} ms)\n     ${String(e?.stack ?? e).split('\n').slice(0, 4).join('\n     ')}`)
      await shot(`FAIL-${suite}-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {})
    } finally {
      clearTimeout(timer)
    }
  }
  if (pageErrors.length) console.log(`${suite}: page errors:\n  ${pageErrors.join('\n  ')}`)
  return { passed, failed }
}
