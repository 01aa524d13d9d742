#!/usr/bin/env node
// Browser tests on the real local platform (what `make run` runs: the function
// binaries under the Lambda runtime emulator, the gateway, the embedded AWS
// emulator, Postgres, Redis) serving the real build, with a fake WuzAPI
// process (fake-wuzapi.mjs). The platform starts once and every suite in
// suites/ shares it; each suite gets its own browser context (storage, service
// worker) and makes its own tenants, so suites do not see each other.
// page.route / context.route only stand in for what the platform cannot show
// on demand (the API down, an expired upload link).
//
// A suite is a module whose default export registers its tests:
//   export default function (test, env) { test('does x', async () => { ... }) }
// env: base, adminKey, wuzapi, api(key, method, path, body), newTenant(name),
// pairedInstance(key, fields), sql(statement) (psql on the platform's database,
// for what no API call can cause in a test's time), page, context, shot(name), requests (the
// page's API calls), figures (reported at the end), signIn(key, role), signOut().
// Suites run in file-name order, their tests in order.
//
// E2E_ONLY=regexp runs each suite up to its last test whose "suite: name"
// matches (suites without a match are skipped). Prints `e2e: N passed, N failed`
// and writes test-results/e2e-summary.json; screenshots go to test-artifacts/.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { launch, results, root, runTests, session } from './harness.mjs'
import { startFakeWuzapi } from './fake-wuzapi.mjs'
import { startStack } from './platform.mjs'

const started = Date.now()
if (!existsSync(root + 'dist/index.html') || !existsSync(root + '../.build/local/api/bootstrap')) {
  console.error('e2e: run `make build-local web-build` first')
  process.exit(2)
}
const summary = { passed: 0, failed: 0, figures: {} }
function finish() {
  mkdirSync(results, { recursive: true })
  summary.figures.seconds = Math.round((Date.now() - started) / 100) / 10
  console.log(`e2e figures: ${JSON.stringify(summary.figures)}`)
  writeFileSync(`${results}/e2e-summary.json`, JSON.stringify(summary, null, 2))
  console.log(`e2e: ${summary.passed} passed, ${summary.failed} failed`)
}

// Sends that take a moment (time to pause a campaign); receipts shortly after.
const wuzapi = await startFakeWuzapi({ sendDelayMs: 400, receiptsMs: 500 })
let stack
try {
  stack = await startStack({ wuzapi })
} catch (e) {
  console.error(`e2e: ${e.message}`)
  summary.failed = 1
  finish()
  await wuzapi.close()
  process.exit(1)
}
summary.figures.platformStartSeconds = Math.round((Date.now() - started) / 100) / 10

const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null
let browser
try {
  browser = await launch()
} catch (e) {
  console.error(`e2e: ${e.message}`)
  summary.failed = 1
  finish()
  await wuzapi.close()
  stack.stop()
  process.exit(1)
}
const files = readdirSync(new URL('./suites/', import.meta.url)).filter((f) => f.endsWith('.mjs')).sort()
for (const file of files) {
  const suite = file.replace(/\.mjs$/, '')
  const tests = []
  const s = await session(browser)
  const { page } = s
  page.on('dialog', (d) => void d.accept()) // confirmations ("cancel the campaign?")
  const env = {
    ...stack, wuzapi, ...s, figures: summary.figures,
    async signIn(key, role = 'tenant') {
      await page.goto(`${stack.base}/signin`)
      if (role === 'admin') await page.getByLabel('Administrador (chave de admin)', { exact: true }).check()
      await page.getByLabel('Chave de API', { exact: true }).fill(key)
      await page.getByRole('button', { name: 'Entrar', exact: true }).click()
    },
    async signOut() {
      await page.getByRole('button', { name: 'Sair' }).click()
      await page.getByRole('heading', { name: 'Entrar' }).waitFor()
    },
  }
  try {
    const { default: register } = await import(`./suites/${file}`)
    register((name, fn) => tests.push({ name, fn }), env)
  } catch (e) {
    console.log(`FAIL ${suite}: the suite does not load\n     ${String(e?.stack ?? e).split('\n').slice(0, 4).join('\n     ')}`)
    summary.failed++
    await s.context.close()
    continue
  }
  if (only && !tests.some((t) => only.test(`${suite}: ${t.name}`))) {
    await s.context.close()
    continue
  }
  const r = await runTests(tests, { suite, shot: s.shot, pageErrors: s.pageErrors, only })
  summary.passed += r.passed
  summary.failed += r.failed
  await s.context.close()
}
await browser.close()
await wuzapi.close()
stack.stop()
finish()
process.exit(summary.failed ? 1 : 0)
