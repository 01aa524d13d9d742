// What campaigns achieve: a contact's reply shows on the campaign page (the
// replies list, the replied count and rate), and a tenant registers a webhook
// endpoint (its secret shown once), opens its delivery log and deletes it.
// Set up through the API and the fake WuzAPI's incoming message, checked in
// the browser.
import { assert } from '../harness.mjs'

const FAST = {
  messagesPerMinute: 600, minDelayMs: 300, maxDelayMs: 600, hourlyCap: 900, dailyCap: 1000, warmupDays: 0,
  newContactsPerDay: 500, newContactsPerHour: 200, identicalPerHour: 1000, typing: false, checkNumbers: false,
}

export default function repliesWebhooks(test, env) {
  const { page, shot, wuzapi, api, newTenant, pairedInstance, signIn } = env
  let key

  test('a reply within 72 h shows on the campaign page: the replies list, the count and the rate', async () => {
    const tenant = await newTenant('Loja Respostas')
    key = tenant.apiKey
    const inst = await pairedInstance(key, { name: 'Respostas', ...FAST })
    const phone = '5511966660001'
    const created = await api(key, 'POST', '/v1/campaigns', { name: 'Promo respostas', instanceId: inst.id, message: 'Oi {{name}}', contacts: [{ phone, name: 'Ana' }] })
    assert(created.status === 202, `campaign created: ${created.status} ${JSON.stringify(created.body)}`)
    const id = created.data.jobId
    for (let i = 0; ; i++) {
      const c = await api(key, 'GET', `/v1/campaigns/${id}`)
      if (c.data?.state === 'completed') break
      assert(i < 300, `campaign completed: ${JSON.stringify(c.body)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    assert((await wuzapi.message(inst.token, phone, 'Quero saber mais')) === 200, 'the platform took the incoming message')
    await signIn(key)
    await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
    await page.goto(`${env.base}/campaigns/${id}`)
    const replies = page.getByTestId('replies')
    await replies.getByText('Quero saber mais').waitFor()
    await replies.getByText('Ana').waitFor()
    assert((await page.getByTestId('count-replied').textContent()) === '1', 'one recipient replied')
    assert((await page.getByTestId('reply-rate').textContent()).startsWith('100'), 'reply rate 100 %')
    await shot('30-campaign-replies')
  })

  test('a webhook endpoint: created with its secret shown once, its delivery log opened, then deleted', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click()
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor()
    await page.getByText('Nenhum endpoint ainda.').waitFor()
    const url = 'http://127.0.0.1:9/crm-hook'
    await page.getByLabel('URL').fill(url)
    await page.getByRole('checkbox', { name: 'message.sent' }).check()
    await page.getByLabel('Descrição').fill('CRM')
    await page.getByRole('button', { name: 'Criar endpoint' }).click()
    const secret = await page.getByTestId('webhook-secret').textContent()
    assert(/^whsec_[A-Za-z0-9+/]{43}=$/.test(secret), `the secret is shown once: ${secret}`)
    const card = page.getByRole('article', { name: url })
    await card.getByText('message.replied, message.sent').waitFor()
    const listed = await api(key, 'GET', '/v1/webhook-endpoints')
    assert(listed.data.items.length === 1 && listed.data.items[0].secret === undefined, 'listed without its secret')
    await card.getByRole('button', { name: 'Entregas' }).click()
    await card.getByText('Nenhuma entrega ainda.').waitFor()
    await shot('31-webhook-endpoint')
    await card.getByRole('button', { name: 'Excluir' }).click()
    await page.getByText('Nenhum endpoint ainda.').waitFor()
    assert((await api(key, 'GET', '/v1/webhook-endpoints')).data.items.length === 0, 'deleted')
  })
}
