#!/usr/bin/env node
// Browser tests: playwright-core driving Debian's Chromium (never a
// downloaded browser) against the built dashboard (dist/) served beside the
// fake API (fake-api.mjs). One journey, in order, as a user walks it: the
// operator creates two tenants, tenant A pairs an instance, imports a CSV,
// runs a campaign to 100 %, then goes offline. Prints `e2e: N passed, N failed`
// and writes test-results/e2e-summary.json; screenshots go to test-artifacts/.
import { readFileSync, existsSync } from 'node:fs'
import { ADMIN_KEY, startFake } from './fake-api.mjs'
import { assert, open, root, runAll, until } from './harness.mjs'

const dist = root + 'dist'
if (!existsSync(dist + '/index.html')) {
  console.error('e2e: dist/ missing: run `npm run build` first')
  process.exit(2)
}

const tests = []
const test = (name, fn) => tests.push({ name, fn })
const figures = {}

const fake = await startFake({ dist, tickMs: 250 })
const { browser, context, page, shot, pageErrors } = await open()
const base = fake.url
let keyA = ''
let keyB = ''
const campaignName = 'Black Friday e2e'

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

test('a wrong key gets a clear message in Portuguese', async () => {
  await signIn('wrong-key')
  await page.getByText('Chave de API inválida ou revogada.').waitFor()
  await shot('01-signin-wrong-key')
})

test('admin creates two tenants and changes a plan', async () => {
  await signIn(ADMIN_KEY, 'admin')
  await page.getByRole('heading', { name: 'Administração' }).waitFor()
  for (const name of ['Loja A', 'Loja B']) {
    await page.getByLabel('Nome da conta', { exact: true }).fill(name)
    await page.getByRole('button', { name: 'Criar conta' }).click()
    const key = await page.getByTestId('shown-key').textContent()
    await until(async () => (await page.getByTestId('shown-key').textContent()) !== (name === 'Loja A' ? '' : keyA), 'new key')
    if (name === 'Loja A') keyA = (await page.getByTestId('shown-key').textContent()).trim()
    else keyB = (await page.getByTestId('shown-key').textContent()).trim()
    assert(key.startsWith('wzm_'), 'key shown once')
  }
  assert(keyA !== keyB, 'two distinct keys')
  const card = page.getByRole('article').filter({ hasText: 'Loja B' })
  await card.getByLabel('Plano', { exact: true }).selectOption('pro')
  await card.getByRole('button', { name: 'Mudar plano' }).click()
  await card.getByText('Plano alterado').waitFor()
  const tb = [...fake.state.tenants.values()].find((t) => t.name === 'Loja B')
  assert(tb.plan === 'pro', 'plan changed on the server')
  await shot('02-admin')
  await signOut()
})

test('tenant signs in and creates an instance with the safe limits', async () => {
  await signIn(keyA)
  await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
  await page.getByRole('link', { name: 'Instâncias' }).click()
  await page.getByText('Nenhuma instância ainda').waitFor()
  // Every limit explains its safe default next to the field.
  await page.getByText('Padrão 2. Mais que isso parece robô.').waitFor()
  assert((await page.getByLabel('Máximo por dia', { exact: true }).inputValue()) === '200', 'daily cap default 200')
  await page.getByRole('button', { name: 'Cadastrar instância' }).click()
  await page.getByText('Campo obrigatório.').first().waitFor() // empty form: field errors, nothing sent
  assert(!fake.state.requests.some((r) => r.method === 'POST' && r.path === '/v1/instances'), 'invalid form not submitted')
  await page.getByLabel('Nome', { exact: true }).fill('Atendimento')
  await page.getByLabel('Endereço do WuzAPI', { exact: true }).fill('http://127.0.0.1:9999')
  await page.getByLabel('Token do usuário WuzAPI', { exact: true }).fill('tok-123')
  await page.getByRole('button', { name: 'Cadastrar instância' }).click()
  await page.getByText('Instância Atendimento cadastrada.').waitFor()
  const inst = [...fake.state.tenants.values()].find((t) => t.name === 'Loja A').instances[0]
  assert(inst.dailyCap === 200 && inst.minDelayMs === 45000 && inst.warmupDays === 10, 'safe defaults sent')
  await page.getByRole('article').getByText('Aguardando pareamento').or(page.getByRole('article').getByText('Desconectado')).waitFor()
  await page.getByRole('button', { name: 'Conectar / parear' }).click()
  await page.getByAltText('QR code para parear o WhatsApp').waitFor()
  await shot('03-instance-qr')
  await page.getByText('Número conectado.').waitFor({ timeout: 10000 })
  await page.getByRole('article').getByText('Conectado ao WhatsApp').waitFor()
  // Edit limits with PATCH.
  await page.getByRole('button', { name: 'Editar limites' }).click()
  await page.getByRole('article').getByLabel('Máximo por hora', { exact: true }).fill('20')
  await page.getByRole('article').getByRole('button', { name: 'Salvar' }).click()
  await page.getByText('20/hora').waitFor()
  assert(inst.hourlyCap === 20, 'limits patched')
  await shot('04-instances')
})

function csv(rows) {
  const lines = ['telefone,nome,cidade']
  for (let i = 0; i < rows; i++) lines.push(`11 9${String(87650000 + i).padStart(8, '0')},Cliente ${i},Recife`)
  lines.push('123,Curto Demais,Recife') // rejected
  lines.push('11 98765-4399,Sai Fora,Recife') // imported, opted out (the fake opts out numbers ending in 99)
  return lines.join('\n') + '\n'
}

test('a file that is not a CSV is refused before upload', async () => {
  await page.getByRole('link', { name: 'Contatos' }).click()
  await page.locator('input[type=file]').setInputFiles({ name: 'planilha.xlsx', mimeType: 'application/octet-stream', buffer: Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]) })
  await page.getByText('Isso não parece um CSV').waitFor()
  assert(!fake.state.requests.some((r) => r.path === '/v1/imports' && r.method === 'POST'), 'nothing requested')
})

test('an expired upload URL says so', async () => {
  await page.locator('input[type=file]').setInputFiles({ name: 'expired.csv', mimeType: 'text/csv', buffer: Buffer.from('phone\n11987650000\n') })
  await page.getByText('O link de envio expirou').waitFor()
})

test('CSV import: byte progress, then the import progress, counts and rejected rows', async () => {
  const body = Buffer.from(csv(12))
  // Pad the file with empty records (the importer skips them) so the upload takes a moment under a throttled uplink.
  const big = Buffer.concat([body, Buffer.from(',,\n'.repeat(6000))])
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 12 * 1024 })
  await page.evaluate(() => {
    window.__progress = []
    new MutationObserver(() => {
      const bar = document.querySelector('[role=progressbar][aria-label="Envio do arquivo"]')
      if (bar) window.__progress.push(Number(bar.getAttribute('aria-valuenow')))
    }).observe(document.body, { subtree: true, childList: true, attributes: true })
  })
  await page.locator('input[type=file]').setInputFiles({ name: 'clientes.csv', mimeType: 'text/csv', buffer: big })
  await page.getByRole('progressbar', { name: 'Envio do arquivo' }).waitFor()
  await shot('05-upload-progress')
  await page.getByText('Arquivo enviado; a importação começou.').waitFor({ timeout: 20000 })
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
  await cdp.detach() // leave network emulation to context.setOffline from here on
  const seen = await page.evaluate(() => window.__progress)
  assert(seen.some((v) => v > 0 && v < 100), `byte progress between 0 and 100 was shown (saw ${[...new Set(seen)].join(',')})`)
  await page.getByText('Concluída').first().waitFor({ timeout: 10000 })
  assert((await page.getByTestId('import-total').textContent()) === '14', 'rows total')
  assert((await page.getByTestId('import-imported').textContent()) === '13', 'imported')
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Baixar linhas rejeitadas' }).click()])
  const rejected = readFileSync(await dl.path(), 'utf8')
  assert(rejected.includes('123,Curto Demais'), 'rejected rows file holds the bad row')
  await page.getByText('+5511987650000').waitFor()
  const optedOut = page.getByRole('row').filter({ hasText: '+5511987654399' })
  await optedOut.getByText('Descadastrado').waitFor()
  await shot('06-contacts')
})

test('campaign form: missing fields are explained, nothing is sent', async () => {
  await page.getByRole('link', { name: 'Campanhas' }).click()
  await page.getByRole('link', { name: 'Nova campanha' }).click()
  await page.getByLabel('Mensagem', { exact: true }).fill('')
  await page.getByRole('button', { name: 'Criar campanha' }).click()
  await page.getByText('Escolha a instância.').waitFor()
  await page.getByText('Escreva a mensagem.').waitFor()
  assert(!fake.state.requests.some((r) => r.path === '/v1/campaigns' && r.method === 'POST'), 'no campaign POST')
})

test('campaign: live preview, one submit on a double click, then progress to 100 % with pause and resume', async () => {
  await page.getByLabel('Nome', { exact: true }).fill(campaignName)
  await page.getByLabel('Instância (número que envia)', { exact: true }).selectOption({ label: 'Atendimento' })
  await page.getByLabel('Mensagem', { exact: true }).fill('{Oi|Olá} {{name}}, ofertas em {{cidade}}!')
  const preview = page.getByTestId('preview')
  await preview.getByText('Oi Sai Fora, ofertas em Recife!').or(preview.getByText(/Oi Cliente \d+, ofertas em Recife!/)).waitFor()
  await preview.getByText('2 variação(ões) possível(is).').waitFor()
  await page.getByLabel('Mensagem', { exact: true }).fill('Oi {{name}} {{cupom}}')
  await preview.getByText('Sem valor para este contato: cupom').waitFor()
  await page.getByLabel('Mensagem', { exact: true }).fill('{Oi|Olá} {{name}}, ofertas em {{cidade}}!')
  await shot('07-campaign-new')
  await page.getByRole('button', { name: 'Criar campanha' }).dblclick()
  await page.getByRole('heading', { name: 'Campanha criada' }).waitFor()
  const posts = fake.state.requests.filter((r) => r.path === '/v1/campaigns' && r.method === 'POST')
  const tA = [...fake.state.tenants.values()].find((t) => t.name === 'Loja A')
  assert(tA.campaigns.length === 1, `one campaign created (POSTs: ${posts.length})`)
  await page.getByText('12 destinatários; 1 descadastrados ignorados').waitFor()
  await page.getByRole('button', { name: 'Acompanhar' }).click()
  await page.getByRole('heading', { name: campaignName }).waitFor()
  // Pause while it runs; the counts stop; resume; it reaches 100 %.
  await until(async () => Number(await page.getByTestId('count-sent').textContent()) >= 1, 'first send shown')
  await page.getByRole('button', { name: 'Pausar' }).click()
  await page.getByTestId('campaign-state').getByText('Pausada').waitFor()
  const c = tA.campaigns[0]
  const frozen = c.recipients.filter((r) => r.status !== 'pending').length
  // Polling budget: count the API requests of this tab over 6 s while it is paused (still live).
  const from = Date.now()
  await new Promise((r) => setTimeout(r, 6000))
  const inWindow = fake.state.requests.filter((r) => r.at >= from && r.auth === keyA).length
  figures.detailRequestsPer6s = inWindow
  assert(inWindow <= 4, `at most one request per 2 s while polling (saw ${inWindow} in 6 s)`)
  assert(c.recipients.filter((r) => r.status !== 'pending').length === frozen, 'nothing sent while paused')
  await shot('08-campaign-paused')
  await page.getByRole('button', { name: 'Retomar' }).click()
  await page.getByTestId('campaign-state').getByText('Concluída').waitFor({ timeout: 30000 })
  await page.getByRole('progressbar', { name: 'Progresso' }).and(page.locator('[aria-valuenow="100"]')).waitFor()
  assert((await page.getByTestId('count-failed').textContent()) === '1', 'one failed (the fake fails numbers ending in 0011)')
  await page.getByTestId('timeline-chart').locator('canvas').waitFor()
  await shot('09-campaign-completed')
})

test('campaign report: generate, poll, download the CSV', async () => {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 20000 }),
    (async () => {
      await page.getByRole('button', { name: 'Gerar relatório CSV' }).click()
      await page.getByTestId('report-download').click()
    })(),
  ])
  const text = readFileSync(await dl.path(), 'utf8')
  assert(text.startsWith('phone,name,status,attempts,last_error,message_id,sent_at,delivered_at,read_at\n'), 'campaign report header')
  assert(text.trim().split('\n').length === 13, 'one line per recipient')
})

test('recipients filtered by status', async () => {
  await page.getByLabel('Filtrar por situação', { exact: true }).selectOption('failed')
  const table = page.getByTestId('recipients')
  await until(async () => (await table.getByRole('row').count()) === 2, 'one failed row')
  await table.getByRole('row').filter({ hasText: '+5511987650011' }).waitFor()
})

test('campaign list: first contentful paint within 1 s on loopback', async () => {
  await page.goto(`${base}/campaigns`)
  await page.getByTestId('campaign-list').getByText(campaignName).waitFor()
  const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1)
  figures.campaignListFcpMs = Math.round(fcp)
  assert(fcp > 0 && fcp <= 1000, `FCP ${fcp} ms`)
  await page.getByTestId('campaign-list').getByText('Concluída').waitFor()
  await shot('10-campaign-list')
})

test('offline: the shell and the last campaign list come from the service worker', async () => {
  await until(() => page.evaluate(() => !!navigator.serviceWorker.controller), 'service worker controls the page')
  await page.reload()
  await page.getByTestId('campaign-list').getByText(campaignName).waitFor()
  await context.setOffline(true)
  await page.reload()
  assert(await page.evaluate(() => fetch('/health').then(() => false, () => true)), 'the network is really off')
  await page.getByText('Você está offline').waitFor()
  await page.getByTestId('campaign-list').getByText(campaignName).waitFor()
  await page.getByRole('link', { name: 'Contatos' }).click() // a lazy route, offline
  await page.getByRole('heading', { name: 'Contatos', level: 1 }).waitFor()
  await page.getByRole('link', { name: 'Campanhas' }).click()
  await shot('11-offline')
})

test('offline: a second key sees none of the first key\'s data', async () => {
  // Straight through the service worker: another key, or none, never matches A's cached answers.
  const probe = await page.evaluate(async ([kb]) => {
    const out = []
    for (const h of [{ Authorization: `Bearer ${kb}` }, {}]) {
      try {
        const r = await fetch('/v1/campaigns?limit=25', { headers: h })
        out.push(await r.text())
      } catch {
        out.push('network error')
      }
    }
    return out
  }, [keyB])
  for (const p of probe) assert(!p.includes(campaignName), `other key got A's data: ${p.slice(0, 80)}`)
  await signOut()
  const left = await page.evaluate(async () => (await (await caches.open('api-cache')).keys()).length)
  assert(left === 0, `API cache emptied on sign-out (${left} left)`)
  await signIn(keyB)
  await page.getByText('Não foi possível falar com o servidor').waitFor()
  assert(!(await page.content()).includes(campaignName), 'no trace of A')
  await shot('12-offline-second-key')
  await context.setOffline(false)
  await signIn(keyB)
  await page.getByText('Nenhuma campanha ainda.').waitFor()
  assert(!(await page.content()).includes(campaignName), 'B online sees only its own data')
})

test('the API down: a message, not a blank page', async () => {
  fake.setDown(true)
  try {
    await page.goto(`${base}/campaigns`)
    await page.getByText('O serviço está indisponível no momento').waitFor({ timeout: 15000 })
    await shot('13-api-down')
  } finally {
    fake.setDown(false)
  }
})

test('English on the switch; phone-sized screen', async () => {
  await page.setViewportSize({ width: 375, height: 740 })
  await page.getByLabel('Idioma', { exact: true }).selectOption('en')
  await page.getByRole('link', { name: 'Campaigns' }).waitFor()
  await page.getByRole('link', { name: 'Contacts' }).click()
  await page.getByRole('heading', { name: 'Import contacts (CSV)' }).waitFor()
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert(overflow <= 0, `no sideways scroll on a phone (${overflow}px)`)
  await shot('14-phone-english')
  await page.getByLabel('Language', { exact: true }).selectOption('pt-BR')
})

test('keyboard: skip link first, every control labelled', async () => {
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.goto(`${base}/campaigns/new`)
  await page.getByLabel('Mensagem', { exact: true }).waitFor()
  await page.keyboard.press('Tab')
  const first = await page.evaluate(() => document.activeElement?.textContent)
  assert(first === 'Pular para o conteúdo', `first tab stop is the skip link (${first})`)
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')].filter((el) => {
      if (el.type === 'hidden') return false
      const id = el.id
      const label = (id && document.querySelector(`label[for="${id}"]`)) || el.closest('label')
      return !label && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim()
    }).map((el) => el.outerHTML.slice(0, 80)),
  )
  assert(unlabelled.length === 0, `unlabelled controls: ${unlabelled.join(' | ')}`)
})

const { failed } = await runAll(tests, { label: 'e2e', shot, pageErrors, figures, summaryFile: 'e2e-summary.json' })
await browser.close()
await fake.close()
process.exit(failed ? 1 : 0)
