// Sending safety in the dashboard, on the real platform: the instance form's
// five sending-safety fields (defaults explained, bounds enforced, stored);
// the health card of a healthy number; a reach-out lock caused by the real
// campaign worker (WuzAPI's 463 answer) shown with its reason and countdown on
// the instance and as the campaign's reason; a new-contact lane the delivery
// guard paused, resumed from the card, and a Resume that comes too late (409);
// a campaign over a pool of two instances with a staged rollout made in the
// form (stored as asked, the uniform-text warning, counts per instance); a
// recipient whose number is not on WhatsApp shown as skipped in words.
import { assert, until } from '../harness.mjs'

// Limits that let the worker send at once (a fake number cannot be banned).
const FAST = {
  messagesPerMinute: 600, minDelayMs: 300, maxDelayMs: 600, hourlyCap: 900, dailyCap: 1000, warmupDays: 0,
  newContactsPerDay: 500, newContactsPerHour: 200, identicalPerHour: 1000, typing: false, checkNumbers: false,
}

export default function sendingSafety(test, env) {
  const { page, shot, wuzapi, api, sql, requests, newTenant, pairedInstance, signIn } = env
  let key = ''
  const ids = {} // instance name -> id
  const posted = (method, path) => requests.some((r) => r.method === method && r.path === path && r.auth === key)
  const card = (name) => page.getByRole('article').filter({ has: page.getByRole('heading', { name, exact: true }) })
  const health = (name) => card(name).getByTestId('health')
  const openInstances = async () => {
    await page.getByRole('link', { name: 'Instâncias' }).click()
    await page.getByRole('heading', { name: 'Instâncias', level: 1 }).waitFor()
  }

  test('the instance form explains the sending-safety defaults, refuses values out of range and stores them', async () => {
    key = (await newTenant('Loja Segura', { plan: 'pro' })).apiKey // pro: up to 10 instances
    await signIn(key)
    await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
    await openInstances()
    await page.getByText('Padrão 20 (1 a 500): primeiras mensagens a quem nunca escreveu para o número', { exact: false }).waitFor()
    await page.getByText('Padrão: ligado. Mandar para números sem WhatsApp leva a bloqueios', { exact: false }).waitFor()
    const want = { 'Novos contatos por dia': '20', 'Novos contatos por hora': '8', 'Textos idênticos por hora': '10' }
    for (const [label, v] of Object.entries(want)) {
      const got = await page.getByLabel(label, { exact: true }).inputValue()
      assert(got === v, `${label} defaults to ${v} (${got})`)
    }
    assert(await page.getByLabel('Verificar se o número tem WhatsApp antes do primeiro envio').isChecked(), 'number checks on by default')
    assert(await page.getByLabel('Mostrar “digitando…” antes de cada envio').isChecked(), 'typing on by default')
    await page.getByLabel('Nome', { exact: true }).fill('Vendas')
    await page.getByLabel('Endereço do WuzAPI', { exact: true }).fill(wuzapi.url)
    await page.getByLabel('Token do usuário WuzAPI', { exact: true }).fill(`tok-safety-${process.pid}`)
    await page.getByLabel('Novos contatos por hora', { exact: true }).fill('201')
    await page.getByRole('button', { name: 'Cadastrar instância' }).click()
    await page.getByText('Valor fora do intervalo permitido.').waitFor()
    assert(!posted('POST', '/v1/instances'), 'a value out of range is not sent')
    await page.getByLabel('Novos contatos por hora', { exact: true }).fill('12')
    await page.getByLabel('Mostrar “digitando…” antes de cada envio').uncheck()
    await page.getByRole('button', { name: 'Cadastrar instância' }).click()
    await page.getByText('Instância Vendas cadastrada.').waitFor()
    const inst = (await api(key, 'GET', '/v1/instances')).data.items.find((i) => i.name === 'Vendas')
    assert(inst.newContactsPerHour === 12 && inst.typing === false && inst.newContactsPerDay === 20 && inst.identicalPerHour === 10 && inst.checkNumbers === true,
      `sending-safety fields stored: ${JSON.stringify(inst)}`)
    // Not paired yet: the card says the number cannot send, with the API's reason labelled.
    const h = health('Vendas')
    await h.getByText('Sem conexão').waitFor()
    await h.getByText('Motivo (em inglês):').waitFor()
    await shot('20-instance-safety-fields')
  })

  test('a healthy number: state, today’s budgets and "not enough sends yet"', async () => {
    ids['Saudável SA'] = (await pairedInstance(key, { name: 'Saudável SA', ...FAST })).id
    await page.reload()
    const h = health('Saudável SA')
    await h.getByTestId('health-state').getByText('Saudável').waitFor()
    await h.getByText('Taxa de entrega: ainda não há envios suficientes').waitFor()
    await h.getByRole('definition').filter({ hasText: '0 de 1.000' }).waitFor() // sends today of the daily cap
    await h.getByRole('definition').filter({ hasText: '0 de 500' }).waitFor() // new contacts today of the budget
    assert(!(await h.getByRole('button', { name: 'Retomar novos contatos' }).isVisible()), 'no Resume for a healthy number')
  })

  test('a reach-out lock from the real worker: the campaign says what it waits for, the card counts down to the probe', async () => {
    const inst = await pairedInstance(key, { name: 'Bloqueio SA', ...FAST })
    const phone = '5511955550001'
    wuzapi.script(phone, { status: 500, error: 'error sending message: server returned error 463' })
    const created = await api(key, 'POST', '/v1/campaigns', { name: 'Campanha bloqueada', instanceId: inst.id, message: 'Oi {{name}}', contacts: [{ phone, name: 'Ana' }] })
    assert(created.status === 202, `campaign created: ${created.status} ${JSON.stringify(created.body)}`)
    await page.goto(`${env.base}/campaigns/${created.data.jobId}`)
    const reason = page.getByTestId('campaign-reason')
    await reason.getByText('Aguardando').waitFor({ timeout: 45000 })
    await reason.getByText('O WhatsApp impediu um número de iniciar conversas novas', { exact: false }).waitFor()
    await reason.getByText('Motivo (do servidor, em inglês):').waitFor()
    const text = await reason.getByTestId('campaign-reason-text').textContent()
    assert(text.startsWith('waiting: new-contact lock on Bloqueio SA until '), `the worker's reason kept as it is: ${text}`)
    assert((await page.getByTestId('count-pending').textContent()) === '1', 'the recipient waits (pending), never failed')
    await shot('21-campaign-waiting-lock')
    await openInstances()
    const h = health('Bloqueio SA')
    await h.getByTestId('health-state').getByText('Novos contatos bloqueados').waitFor()
    const countdown = await h.getByTestId('health-until').textContent()
    assert(/^Um envio de teste tenta de novo em (1 d|23 h \d\d min) \(/.test(countdown), `a first lock lasts 24 h: ${countdown}`)
    await h.getByText('Motivo (em inglês):').waitFor()
    assert(!(await h.getByRole('button', { name: 'Retomar novos contatos' }).isVisible()), 'a lock cannot be resumed: no button')
    await h.scrollIntoViewIfNeeded()
    await shot('22-instance-locked')
    assert((await api(key, 'POST', `/v1/campaigns/${created.data.jobId}/cancel`)).status === 200, 'campaign cancelled')
  })

  test('a lane the delivery guard paused: reason, countdown, Resume reopens it', async () => {
    const inst = await pairedInstance(key, { name: 'Pausa SA', ...FAST })
    ids['Pausa SA'] = inst.id
    // The delivery guard pauses after 10 first messages older than 15 minutes, more than a
    // browser test can wait: this is its own statement (queries/safety.sql, pause-new-lane).
    pauseLane(sql, inst.id)
    await page.reload()
    const h = health('Pausa SA')
    await h.getByTestId('health-state').getByText('Novos contatos pausados').waitFor()
    await h.getByText('only 2 of 10 recent first messages were delivered', { exact: false }).waitFor()
    const countdown = await h.getByTestId('health-until').textContent()
    assert(/^Um envio de teste tenta de novo em (6 h 00 min|5 h 59 min) \(/.test(countdown), `the probe in 6 h: ${countdown}`)
    await h.scrollIntoViewIfNeeded()
    await shot('23-instance-paused')
    await h.getByRole('button', { name: 'Retomar novos contatos' }).click()
    await h.getByText('Envio a novos contatos retomado.').waitFor()
    await h.getByTestId('health-state').getByText('Saudável').waitFor()
    assert(!(await h.getByRole('button', { name: 'Retomar novos contatos' }).isVisible()), 'the button goes once resumed')
    const got = await api(key, 'GET', `/v1/instances/${inst.id}`)
    assert(got.data.health.state === 'ok', `the lane reopened on the server: ${JSON.stringify(got.data.health)}`)
    await shot('24-instance-resumed')
  })

  test('Resume after someone else resumed: the 409 is explained and the card catches up', async () => {
    const inst = (await api(key, 'GET', '/v1/instances')).data.items.find((i) => i.name === 'Pausa SA')
    pauseLane(sql, inst.id)
    await page.reload()
    const h = health('Pausa SA')
    await h.getByRole('button', { name: 'Retomar novos contatos' }).waitFor()
    const other = await api(key, 'POST', `/v1/instances/${inst.id}/resume`) // another tab, or a script
    assert(other.status === 200, `resumed behind the page: ${other.status}`)
    await h.getByRole('button', { name: 'Retomar novos contatos' }).click()
    await h.getByText('Não há nada pausado para retomar', { exact: false }).waitFor()
    await h.getByText('Servidor (em inglês):').waitFor()
    await h.getByTestId('health-state').getByText('Saudável').waitFor()
    await h.scrollIntoViewIfNeeded()
    await shot('25-instance-resume-conflict')
  })

  test('a pool campaign with a staged rollout: picked in the form, stored as asked, the uniform-text warning, counts per instance', async () => {
    const name = 'Campanha em grupo'
    await page.getByRole('link', { name: 'Campanhas' }).first().click()
    await page.getByRole('link', { name: 'Nova campanha' }).click()
    await page.getByLabel('Nome', { exact: true }).fill(name)
    await page.getByLabel('Um grupo de instâncias (2 a 20)').check()
    await page.getByLabel('Saudável SA', { exact: true }).check()
    await page.getByLabel('Colar telefones', { exact: true }).check()
    await page.getByLabel('Telefones', { exact: true }).fill('5511955550101, Ana\n5511955550102, Bia\n5511955550103, Caio')
    await page.getByLabel('Mensagem', { exact: true }).fill('Promoção de Natal hoje na loja!') // neither a variable nor spintax
    await page.getByRole('button', { name: 'Criar campanha' }).click()
    await page.getByText('Escolha ao menos 2 instâncias para o grupo.').waitFor()
    assert(!posted('POST', '/v1/campaigns'), 'a pool of one is not sent')
    await page.getByLabel('Pausa SA', { exact: true }).check()
    await page.getByLabel('Enviar primeiro para uma parte e conferir antes de seguir').check()
    const defaults = { 'Primeira parte (%)': '10', 'Espera depois da primeira parte (minutos)': '60', 'Falhas aceitas na primeira parte (%)': '20', 'Descadastros aceitos na primeira parte (%)': '2' }
    for (const [label, v] of Object.entries(defaults)) {
      const got = await page.getByLabel(label, { exact: true }).inputValue()
      assert(got === v, `${label} defaults to ${v} (${got})`)
    }
    await page.getByLabel('Primeira parte (%)', { exact: true }).fill('100')
    await page.getByRole('button', { name: 'Criar campanha' }).click()
    await page.getByText('Valor fora do intervalo permitido.').waitFor()
    assert(!posted('POST', '/v1/campaigns'), 'a first share of 100 % is not sent')
    await page.getByLabel('Primeira parte (%)', { exact: true }).fill('34')
    await page.getByLabel('Espera depois da primeira parte (minutos)', { exact: true }).fill('30')
    await shot('26-campaign-pool-rollout-form')
    await page.getByRole('button', { name: 'Criar campanha' }).click()
    await page.getByRole('heading', { name: 'Campanha criada' }).waitFor()
    await page.getByTestId('create-warning').getByText('Todos vão receber exatamente o mesmo texto', { exact: false }).waitFor()
    await shot('27-campaign-created-uniform-warning')
    const listed = (await api(key, 'GET', '/v1/campaigns')).data.items.find((c) => c.name === name)
    const got = (await api(key, 'GET', `/v1/campaigns/${listed.id}`)).data
    assert(JSON.stringify(got.instanceIds) === JSON.stringify([ids['Saudável SA'], ids['Pausa SA']]), `the pool stored in the order picked: ${JSON.stringify(got.instanceIds)}`)
    assert(JSON.stringify(got.rollout) === JSON.stringify({ share: 0.34, holdMinutes: 30, maxFailedShare: 0.2, maxOptOutShare: 0.02 }), `the rollout stored: ${JSON.stringify(got.rollout)}`)
    await page.getByRole('button', { name: 'Acompanhar' }).click()
    await page.getByRole('heading', { name }).waitFor()
    await page.getByTestId('rollout-summary').getByText(/34\s?% primeiro, espera de 30 min/).waitFor()
    const table = page.getByTestId('by-instance')
    await table.getByRole('rowheader', { name: 'Saudável SA' }).waitFor()
    await table.getByRole('rowheader', { name: 'Pausa SA' }).waitFor()
    // The worker sends at least the first slice; the table shows whose sends they are.
    await until(async () => {
      const cells = await table.locator('tbody tr td:first-of-type').allTextContents()
      return cells.reduce((n, c) => n + Number(c.replace(/\D/g, '')), 0) >= 1
    }, 'a send counted under an instance of the pool', 45000)
    await shot('28-campaign-pool-detail')
  })

  test('a number not on WhatsApp: the recipient is skipped and the table says why', async () => {
    const patched = await api(key, 'PATCH', `/v1/instances/${ids['Saudável SA']}`, { checkNumbers: true })
    assert(patched.status === 200, `number checks on: ${patched.status}`)
    wuzapi.notOnWhatsApp('5511955550201')
    const created = await api(key, 'POST', '/v1/campaigns', { name: 'Checagem', instanceId: ids['Saudável SA'], message: 'Oi {{name}}', contacts: [{ phone: '5511955550201', name: 'Duda' }, { phone: '5511955550202', name: 'Edu' }] })
    assert(created.status === 202, `campaign created: ${created.status} ${JSON.stringify(created.body)}`)
    await page.goto(`${env.base}/campaigns/${created.data.jobId}`)
    await page.getByTestId('campaign-state').getByText('Concluída').waitFor({ timeout: 45000 })
    await page.getByTestId('recipients').getByRole('row').filter({ hasText: '+5511955550201' }).getByText('Ignoradas — número sem WhatsApp').waitFor()
    assert(!wuzapi.sends.some((s) => s.phone === '5511955550201'), 'the number without WhatsApp is never messaged')
    await page.getByTestId('recipients').scrollIntoViewIfNeeded()
    await shot('29-recipient-not-on-whatsapp')
  })

  test('in English on a phone: the health card and the pool form, labelled, no sideways scroll', async () => {
    await page.setViewportSize({ width: 375, height: 740 })
    pauseLane(sql, ids['Pausa SA'])
    await page.getByLabel('Idioma', { exact: true }).selectOption('en')
    await page.getByRole('link', { name: 'Instances' }).click()
    const h = health('Pausa SA')
    await h.getByTestId('health-state').getByText('New contacts paused').waitFor()
    await h.getByText('Reason:').waitFor()
    await h.getByText(/^A probe send tries again in (6 h 00 min|5 h 59 min) \(/).waitFor()
    await h.getByRole('button', { name: 'Resume new contacts' }).waitFor()
    await health('Saudável SA').getByText(/^Delivery rate: /).waitFor()
    let overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert(overflow <= 0, `no sideways scroll on the instances page (${overflow}px)`)
    await h.scrollIntoViewIfNeeded()
    await shot('30-phone-english-health')
    await page.getByRole('link', { name: 'Campaigns' }).click()
    await page.getByRole('link', { name: 'New campaign' }).click()
    await page.getByLabel('A pool of instances (2 to 20)').check()
    await page.getByLabel('Send to a first share and check it before going on').check()
    await page.getByLabel('First share (%)', { exact: true }).waitFor()
    overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert(overflow <= 0, `no sideways scroll on the campaign form (${overflow}px)`)
    await shot('31-phone-english-pool-form')
    await page.getByLabel('Language', { exact: true }).selectOption('pt-BR')
    await page.setViewportSize({ width: 1280, height: 900 })
  })
}

/** The delivery guard's pause of an instance's new-contact lane, 6 h to its probe. */
function pauseLane(sql, id) {
  assert(/^[0-9a-f-]{36}$/.test(id), `an instance id: ${id}`)
  const got = sql(`UPDATE instances SET new_lane_state = 'paused', new_lane_since = now(), new_lane_until = now() + interval '6 hours',
    new_lane_reason = 'paused: only 2 of 10 recent first messages were delivered', new_lane_probe_at = NULL
    WHERE id = '${id}' AND new_lane_state IS NULL RETURNING id`)
  assert(got === id, `lane paused (${got})`)
}
