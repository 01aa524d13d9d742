// The browser tests' small harness: Debian's Chromium with the flags that
// work here (web-toolchain.md), assertions, polling with a deadline, and a
// runner that prints one line per test and a plain `<label>: N passed, N failed`.
import { chromium } from 'playwright-core'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))
export const artifacts = root + 'test-artifacts'
export const results = root + 'test-results'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

/** A browser, one context (service workers allowed, Portuguese) and its page. */
export async function open() {
  mkdirSync(artifacts, { recursive: true })
  mkdirSync(results, { recursive: true })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  const context = await browser.newContext({ serviceWorkers: 'allow', locale: 'pt-BR', acceptDownloads: true, viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  page.setDefaultTimeout(10000)
  const pageErrors = []
  page.on('pageerror', (e) => pageErrors.push(String(e)))
  const shot = (name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true })
  return { browser, context, page, shot, pageErrors }
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

/** Runs tests in order (a journey: each builds on the ones before). E2E_ONLY=regexp runs up to its last match. */
export async function runAll(tests, { label, shot, pageErrors, figures = {}, summaryFile }) {
  let passed = 0
  let failed = 0
  const started = Date.now()
  const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null
  const last = only ? Math.max(...tests.map((x, j) => (only.test(x.name) ? j : -1))) : tests.length - 1
  for (const [i, t] of tests.entries()) {
    if (i > last) break
    const t0 = Date.now()
    let timer
    try {
      await Promise.race([t.fn(), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('test timed out after 60 s')), 60000)))])
      passed++
      console.log(`ok   ${t.name} (${Date.now() - t0} ms)`)
    } catch (e) {
      failed++
      console.log(`FAIL ${t.name} (${Date.now() - t0} ms)\n     ${String(e?.stack ?? e).split('\n').slice(0, 4).join('\n     ')}`)
      await shot(`FAIL-${label}-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {})
    } finally {
      clearTimeout(timer)
    }
  }
  if (pageErrors.length) console.log(`page errors:\n  ${pageErrors.join('\n  ')}`)
  figures.seconds = Math.round((Date.now() - started) / 100) / 10
  console.log(`${label} figures: ${JSON.stringify(figures)}`)
  writeFileSync(`${results}/${summaryFile}`, JSON.stringify({ passed, failed, figures }, null, 2))
  console.log(`${label}: ${passed} passed, ${failed} failed`)
  return { passed, failed }
}
