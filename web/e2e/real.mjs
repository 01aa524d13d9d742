#!/usr/bin/env node
// Browser tests against the real local platform (`make run`: the function
// binaries under the Lambda runtime emulator, the gateway, the embedded AWS
// emulator, Postgres, Redis) serving the real build. It starts the platform
// itself (E2E_BASE_URL + E2E_ADMIN_KEY point it at a running one instead),
// on free ports and its own stack name and database, and covers what the API
// serves today: keys, tenants, instances (no WuzAPI reachable), campaigns from
// pasted phones, pause / resume / cancel, pairing and sending through a fake
// WuzAPI (fake-wuzapi.mjs), reports, offline and a second key.
// Prints `real: N passed, N failed`; writes test-results/real-summary.json.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { assert, open, root, runAll, until } from './harness.mjs'
import { startFakeWuzapi } from './fake-wuzapi.mjs'
import { startPlatform } from './platform.mjs'

const repo = root + '..'
if (!existsSync(root + 'dist/index.html') || !existsSync(repo + '/.build/local/api/bootstrap')) {
  console.error('real: run `make build-local web-build` first')
  process.exit(2)
}

let base = process.env.E2E_BASE_URL ?? ''
let adminKey = process.env.E2E_ADMIN_KEY ?? ''
let stopPlatform = () => {}
if (!base) {
  adminKey = 'adm_e2e_' + randomBytes(16).toString('hex')
  const p = startPlatform({
    API_ADDR: '127.0.0.1:0', AWS_EMULATOR_ADDR: '127.0.0.1:0', STACK_NAME: `web-e2e-${process.pid}`,
    DATABASE_URL: process.env.E2E_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wuzapi_manager_web_e2e',
    ADMIN_API_KEY: adminKey, PUBLIC_BASE_URL: '', LOG_LEVEL: 'warn',
  })
  stopPlatform = p.stop
  base = await p.ready.catch((e) => {
    console.error(`real: ${e.message}`)
    console.log('real: 0 passed, 1 failed')
    p.stop()
    process.exit(1)
  })
}
process.on('exit', stopPlatform)

const wuzapi = await startFakeWuzapi({ sendDelayMs: 800 }) // sends that take a moment: time to pause
const { browser, context, page, shot, pageErrors } = await open()
page.on('dialog', (d) => void d.accept()) // "cancel the campaign?"
const tests = []
const test = (name, fn) => tests.push({ name, fn })
const figures = {}
let keyA = ''
let keyB = ''
const campaignName = 'Campanha real e2e'

async function signIn(key, role = 'tenant') {
  await page.goto(`${base}/signin`)
  if (role === 'admin') await page.getByLabel('Administrador (chave de admin)', { exact: true }).check()
  await page.getByLabel('Chave de API', { exact: true }).fill(key)
  await page.getByRole('button', { name: 'Entrar', exact: true }).click()
}
async function signOut() {
  await page.getByRole('button', { name: 'Sair' }).click()
  await page.getByRole('heading', { name: 'Entrar' }).waitFor()
}

test('real: a wrong key is refused in Portuguese', async () => {
  await signIn('wm_wrong')
  await page.getByText('Chave de API inválida ou revogada.').waitFor()
})

test('real: the admin key is checked, then two tenants are created', async () => {
  await signIn('adm_wrong', 'admin')
  await page.getByText('Chave de API inválida ou revogada.').waitFor()
  await signIn(adminKey, 'admin')
  await page.getByRole('heading', { name: 'Administração' }).waitFor()
  for (const name of ['Real A', 'Real B']) {
    await page.getByLabel('Nome da conta', { exact: true }).fill(name)
    await page.getByRole('button', { name: 'Criar conta' }).click()
    await page.getByRole('article').filter({ hasText: name }).waitFor()
    const key = (await page.getByTestId('shown-key').textContent()).trim()
    if (name === 'Real A') keyA = key
    else keyB = key
  }
  assert(keyA && keyB && keyA !== keyB, 'two keys shown')
  await shot('real-01-admin')
  await signOut()
})

test('real: an instance whose WuzAPI cannot be reached says so', async () => {
  await signIn(keyA)
  await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
  await page.getByRole('link', { name: 'Instâncias' }).click()
  await page.getByLabel('Nome', { exact: true }).fill('Sem WuzAPI')
  await page.getByLabel('Endereço do WuzAPI', { exact: true }).fill('http://127.0.0.1:9')
  await page.getByLabel('Token do usuário WuzAPI', { exact: true }).fill('tok')
  await page.getByLabel(/Configurar o webhook/).uncheck()
  await page.getByRole('button', { name: 'Cadastrar instância' }).click()
  await page.getByText('Instância Sem WuzAPI cadastrada.').waitFor()
  await page.getByRole('article').getByText('WuzAPI inacessível').waitFor()
  await page.getByRole('button', { name: 'Conectar / parear' }).click()
  await page.getByRole('article').getByRole('alert').waitFor() // a message, not a blank page
  await shot('real-02-instance')
})

test('real: a CSV goes straight to the emulated S3; the import worker reports its counts', async () => {
  await page.getByRole('link', { name: 'Contatos' }).click()
  const csv = 'telefone,nome,cidade\n11 97777-0001,Ana,Recife\n11 97777-0002,Bia,Olinda\n123,Curto,Recife\n11 97777-0001,Ana Maria,Recife\n'
  await page.locator('input[type=file]').setInputFiles({ name: 'clientes.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
  await page.getByText('Arquivo enviado; a importação começou.').waitFor({ timeout: 15000 })
  await page.getByText('Concluída').first().waitFor({ timeout: 30000 })
  assert((await page.getByTestId('import-total').textContent()) === '4', 'four rows')
  assert((await page.getByTestId('import-imported').textContent()) === '2', 'two new contacts (the repeat is an update)')
  await page.getByRole('link', { name: 'Baixar linhas rejeitadas' }).waitFor()
  await page.getByText('+5511977770002').waitFor()
  await shot('real-08-import')
})

test('real: a campaign from pasted phones with preview; pause, resume, cancel', async () => {
  await page.getByRole('link', { name: 'Campanhas' }).click()
  await page.getByRole('link', { name: 'Nova campanha' }).click()
  await page.getByLabel('Nome', { exact: true }).fill(campaignName)
  await page.getByLabel('Instância (número que envia)', { exact: true }).selectOption({ label: 'Sem WuzAPI' })
  await page.getByLabel('Colar telefones', { exact: true }).check()
  await page.getByLabel('Telefones', { exact: true }).fill('11 98765-4321, Ana\n11 98765-4322, Bia\n123')
  await page.getByLabel('Mensagem', { exact: true }).fill('{Oi|Olá} {{name}}!')
  await page.getByTestId('preview').getByText('Olá Ana!').waitFor()
  await page.getByRole('button', { name: 'Criar campanha' }).dblclick()
  await page.getByRole('heading', { name: 'Campanha criada' }).waitFor()
  await page.getByText('2 destinatários; 0 descadastrados ignorados; 1 telefones inválidos.').waitFor()
  await page.getByRole('button', { name: 'Acompanhar' }).click()
  await page.getByRole('heading', { name: campaignName }).waitFor()
  await page.getByTestId('count-total').getByText('2').waitFor()
  await page.getByRole('button', { name: 'Pausar' }).click()
  await page.getByTestId('campaign-state').getByText('Pausada').waitFor()
  await page.getByRole('button', { name: 'Retomar' }).click()
  await page.getByRole('button', { name: 'Pausar' }).waitFor()
  await page.getByRole('button', { name: 'Cancelar campanha' }).click()
  await page.getByTestId('campaign-state').getByText('Cancelada').waitFor()
  await shot('real-03-campaign')
  await page.getByRole('link', { name: 'Campanhas' }).first().click()
  await page.getByTestId('campaign-list').getByText(campaignName).waitFor()
  const n = await page.getByTestId('campaign-list').getByRole('row').count()
  assert(n === 2, `one campaign after a double click (${n - 1} rows)`)
})

test('real: a campaign report is generated by the report worker and downloadable', async () => {
  await page.getByTestId('campaign-list').getByRole('link', { name: campaignName }).click()
  await page.getByRole('button', { name: 'Gerar relatório CSV' }).click()
  const link = page.getByTestId('report-download')
  await link.waitFor({ timeout: 30000 })
  const href = await link.getAttribute('href')
  const csv = await (await fetch(href)).text()
  assert(csv.startsWith('phone,name,status,attempts,last_error,message_id,sent_at,delivered_at,read_at'), `report header: ${csv.slice(0, 80)}`)
  assert(csv.trim().split('\n').length === 3, 'two recipients in the report')
})

test('real: campaign list first contentful paint within 1 s', async () => {
  await page.goto(`${base}/campaigns`)
  await page.getByTestId('campaign-list').getByText(campaignName).waitFor()
  const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1)
  figures.campaignListFcpMs = Math.round(fcp)
  assert(fcp > 0 && fcp <= 1000, `FCP ${fcp} ms`)
})

test('real: pair an instance by QR code on a fake WuzAPI; faster limits for the test', async () => {
  await page.getByRole('link', { name: 'Instâncias' }).click()
  await page.getByLabel('Nome', { exact: true }).fill('WuzAPI de teste')
  await page.getByLabel('Endereço do WuzAPI', { exact: true }).fill(wuzapi.url)
  await page.getByLabel('Token do usuário WuzAPI', { exact: true }).fill('tok-real')
  const limits = { 'Mensagens por minuto': '60', 'Intervalo mínimo entre envios (ms)': '1500', 'Intervalo máximo entre envios (ms)': '2000',
    'Máximo por hora': '1000', 'Máximo por dia': '1000', 'Dias de aquecimento': '0' }
  const form = page.locator('form').filter({ hasText: 'Nova instância WuzAPI' })
  for (const [label, v] of Object.entries(limits)) await form.getByLabel(label, { exact: true }).fill(v)
  await page.getByRole('button', { name: 'Cadastrar instância' }).click()
  await page.getByText('Instância WuzAPI de teste cadastrada.').waitFor()
  const card = page.getByRole('article').filter({ hasText: 'WuzAPI de teste' })
  await card.getByText('Aguardando pareamento').or(card.getByText('Desconectado')).waitFor()
  await card.getByRole('button', { name: 'Conectar / parear' }).click()
  await card.getByAltText('QR code para parear o WhatsApp').waitFor()
  await card.getByText('Número conectado.').waitFor({ timeout: 15000 })
  await card.getByText('Conectado ao WhatsApp').waitFor()
  await shot('real-05-paired')
})

test('real: a campaign goes out through the worker to 100 %, with pause and resume', async () => {
  await page.getByRole('link', { name: 'Campanhas' }).first().click()
  await page.getByRole('link', { name: 'Nova campanha' }).click()
  await page.getByLabel('Nome', { exact: true }).fill('Envio real')
  await page.getByLabel('Instância (número que envia)', { exact: true }).selectOption({ label: 'WuzAPI de teste' })
  await page.getByLabel('Colar telefones', { exact: true }).check()
  await page.getByLabel('Telefones', { exact: true }).fill(['Ana', 'Bia', 'Caio', 'Duda', 'Eva', 'Fabi', 'Gil', 'Hugo'].map((n, i) => `11 98888-000${i}, ${n}`).join('\n'))
  await page.getByLabel('Mensagem', { exact: true }).fill('{Oi|Olá} {{name}}!')
  await page.getByRole('button', { name: 'Criar campanha' }).click()
  await page.getByText('8 destinatários').waitFor()
  await page.getByRole('button', { name: 'Acompanhar' }).click()
  await page.getByRole('heading', { name: 'Envio real' }).waitFor()
  await until(async () => Number(await page.getByTestId('count-sent').textContent()) >= 1, 'a first send', 30000)
  await page.getByRole('button', { name: 'Pausar' }).click()
  await page.getByTestId('campaign-state').getByText('Pausada').waitFor()
  const atPause = wuzapi.sends.length
  await new Promise((r) => setTimeout(r, 2500))
  assert(wuzapi.sends.length <= atPause + 1, `at most the send in flight goes out while paused (${atPause} → ${wuzapi.sends.length})`)
  await shot('real-06-paused')
  await page.getByRole('button', { name: 'Retomar' }).click()
  await page.getByTestId('campaign-state').getByText('Concluída').waitFor({ timeout: 45000 })
  await page.getByRole('progressbar', { name: 'Progresso' }).and(page.locator('[aria-valuenow="100"]')).waitFor()
  const phones = new Set(wuzapi.sends.filter((x) => x.token === 'tok-real').map((x) => x.phone))
  assert(phones.size === 8, `eight numbers messaged (${phones.size})`)
  assert(wuzapi.sends.some((x) => /^(Oi|Olá) Ana!$/.test(x.body)), 'variables and spintax rendered by the worker')
  await page.getByTestId('timeline-chart').locator('canvas').waitFor()
  await page.getByTestId('recipients').getByText('Enviadas').first().waitFor() // reloaded when it completed
  await shot('real-07-completed')
})

test('real: offline shell and list; a second key sees none of it', async () => {
  await page.goto(`${base}/campaigns`)
  await until(() => page.evaluate(() => !!navigator.serviceWorker.controller), 'service worker controls the page')
  await page.reload()
  await page.getByTestId('campaign-list').getByText(campaignName).waitFor()
  await context.setOffline(true)
  try {
    await page.reload()
    await page.getByText('Você está offline').waitFor()
    await page.getByTestId('campaign-list').getByText(campaignName).waitFor()
    const probe = await page.evaluate(async (kb) => {
      try {
        return await (await fetch('/v1/campaigns?limit=25', { headers: { Authorization: `Bearer ${kb}` } })).text()
      } catch {
        return 'network error'
      }
    }, keyB)
    assert(!probe.includes(campaignName), 'B never gets A from the cache')
    await shot('real-04-offline')
    await signOut()
    await signIn(keyB)
    await page.getByText('Não foi possível falar com o servidor').waitFor()
    assert(!(await page.content()).includes(campaignName), 'no trace of A')
  } finally {
    await context.setOffline(false)
  }
  await signIn(keyB)
  await page.getByText('Nenhuma campanha ainda.').waitFor()
})

const { failed } = await runAll(tests, { label: 'real', shot, pageErrors, figures, summaryFile: 'real-summary.json' })
await browser.close()
await wuzapi.close()
stopPlatform()
process.exit(failed ? 1 : 0)
