// The audience builder in the campaign form: contacts tagged through the API,
// a tag picked in the form, the live count (debounced, one request per pause
// in typing) equal to the API's preview, and the campaign created with that
// audience has exactly that many recipients. Attribute conditions (where)
// added as rows change the count to the API's preview, and the preview's
// sample contacts are listed under it.
import { assert } from '../harness.mjs'

const FAST = {
  messagesPerMinute: 600, minDelayMs: 300, maxDelayMs: 600, hourlyCap: 900, dailyCap: 1000, warmupDays: 0,
  newContactsPerDay: 500, newContactsPerHour: 200, identicalPerHour: 1000, typing: false, checkNumbers: false,
}

export default function audience(test, env) {
  const { page, shot, api, requests, newTenant, pairedInstance, signIn } = env

  test('tags picked in the campaign form: the live count matches the preview and the campaign gets those recipients', async () => {
    const tenant = await newTenant('Loja Público')
    const key = tenant.apiKey
    await pairedInstance(key, { name: 'Público', ...FAST })
    const contacts = [
      { phone: '5511976540101', name: 'Ana', tags: ['vip', 'sp'] },
      { phone: '5511976540102', name: 'Bia', tags: ['vip'] },
      { phone: '5511976540103', name: 'Caio', tags: ['vip', 'churned'] },
      { phone: '5511976540104', name: 'Duda', tags: ['sp'] },
      { phone: '5511976540105', name: 'Edu' },
    ]
    const put = await api(key, 'POST', '/v1/contacts', { contacts })
    assert(put.status < 300, `contacts stored: ${JSON.stringify(put.body)}`)
    const audience = { tags: { any: ['vip'], none: ['churned'] } }
    const pre = await api(key, 'POST', '/v1/audiences/preview', { audience })
    assert(pre.data?.count === 2, `the API previews 2 contacts: ${JSON.stringify(pre.body)}`)

    await signIn(key)
    await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
    await page.getByRole('link', { name: 'Nova campanha' }).click()
    await page.getByLabel('Nome', { exact: true }).fill('Só VIPs')
    await page.getByLabel('Instância (número que envia)', { exact: true }).selectOption({ label: 'Público' })
    // "All contacts" is counted as soon as the form opens.
    await page.getByTestId('audience-count-n').getByText('5 contatos receberão').waitFor()
    await page.getByLabel('Filtrar por etiquetas', { exact: true }).check()
    await page.getByLabel('Com qualquer uma das etiquetas', { exact: true }).pressSequentially('vip', { delay: 40 })
    await page.getByTestId('audience-count-n').getByText('3 contatos receberão').waitFor()

    const before = requests.filter((r) => r.method === 'POST' && r.path === '/v1/audiences/preview').length
    await page.getByLabel('Sem nenhuma das etiquetas', { exact: true }).pressSequentially('churned', { delay: 40 })
    await page.getByTestId('audience-count-n').getByText(`${pre.data.count} contatos receberão`).waitFor()
    await page.waitForTimeout(500)
    const typed = requests.filter((r) => r.method === 'POST' && r.path === '/v1/audiences/preview').length - before
    assert(typed >= 1 && typed <= 2, `typing 7 letters asked for the count ${typed} time(s), not once per letter`)
    await shot('45-campaign-audience-builder')

    await page.getByRole('button', { name: 'Criar campanha' }).click()
    await page.getByRole('heading', { name: 'Campanha criada' }).waitFor()
    await page.getByText(/^2 destinatários;/).waitFor()
    const list = await api(key, 'GET', '/v1/campaigns')
    const c = list.data.items.find((x) => x.name === 'Só VIPs')
    assert(c?.counts?.total === 2, `the campaign has the 2 previewed recipients: ${JSON.stringify(c?.counts)}`)
    const rec = await api(key, 'GET', `/v1/campaigns/${c.id}/recipients`)
    const phones = (rec.data?.items ?? []).map((r) => r.phone).sort()
    assert(JSON.stringify(phones) === JSON.stringify(['5511976540101', '5511976540102']), `recipients are Ana and Bia: ${JSON.stringify(rec.body)}`)
  })

  test('attribute conditions in the builder: the count equals the preview, the sample is listed, the campaign gets them', async () => {
    const tenant = await newTenant('Loja Atributos')
    const key = tenant.apiKey
    await pairedInstance(key, { name: 'Atributos', ...FAST })
    const contacts = [
      { phone: '5511976540201', name: 'Ana', tags: ['vip'], city: 'SP', score: 700 },
      { phone: '5511976540202', name: 'Bia', city: 'RJ', score: 300 },
      { phone: '5511976540203', name: 'Caio', tags: ['vip'], city: 'RJ', score: 900 },
      { phone: '5511976540204', name: 'Duda', city: 'BH', score: 950 },
      { phone: '5511976540205', name: 'Edu' },
    ]
    const put = await api(key, 'POST', '/v1/contacts', { contacts })
    assert(put.status < 300, `contacts stored: ${JSON.stringify(put.body)}`)
    const where = [{ attribute: 'city', op: 'in', value: ['SP', 'RJ'] }, { attribute: 'score', op: 'gt', value: 500 }]
    const one = await api(key, 'POST', '/v1/audiences/preview', { audience: { where: where.slice(0, 1) } })
    const two = await api(key, 'POST', '/v1/audiences/preview', { audience: { where } })
    assert(one.data?.count === 3 && two.data?.count === 2, `the API previews 3 then 2: ${JSON.stringify([one.body, two.body])}`)

    await signIn(key)
    await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
    await page.getByRole('link', { name: 'Nova campanha' }).click()
    await page.getByLabel('Nome', { exact: true }).fill('SP e RJ acima de 500')
    await page.getByLabel('Instância (número que envia)', { exact: true }).selectOption({ label: 'Atributos' })
    await page.getByTestId('audience-count-n').getByText('5 contatos receberão').waitFor()
    await page.getByLabel('Filtrar por etiquetas', { exact: true }).check()
    await page.getByRole('button', { name: 'Adicionar condição' }).click()
    const row1 = page.getByRole('group', { name: 'Condição 1' })
    await row1.getByLabel('Atributo', { exact: true }).fill('city')
    await row1.getByLabel('Operador', { exact: true }).selectOption('in')
    await row1.getByLabel('Valores', { exact: true }).fill('SP, RJ')
    await page.getByTestId('audience-count-n').getByText(`${one.data.count} contatos receberão`).waitFor()
    await page.getByRole('button', { name: 'Adicionar condição' }).click()
    const row2 = page.getByRole('group', { name: 'Condição 2' })
    await row2.getByLabel('Atributo', { exact: true }).fill('score')
    await row2.getByLabel('Operador', { exact: true }).selectOption('gt')
    await row2.getByLabel('Valor', { exact: true }).fill('500')
    await page.getByTestId('audience-count-n').getByText(`${two.data.count} contatos receberão`).waitFor()
    // The sample under the count: the preview's contacts, in its order.
    const sample = page.getByTestId('audience-sample').getByRole('listitem')
    await sample.first().waitFor()
    const shown = await sample.allTextContents()
    const want = two.data.sample.map((c) => c.name)
    assert(shown.length === want.length && shown.every((text, i) => text.startsWith(want[i])), `sample ${JSON.stringify(shown)} = preview ${JSON.stringify(want)}`)
    await shot('46-campaign-audience-where')

    await page.getByRole('button', { name: 'Criar campanha' }).click()
    await page.getByRole('heading', { name: 'Campanha criada' }).waitFor()
    const list = await api(key, 'GET', '/v1/campaigns')
    const c = list.data.items.find((x) => x.name === 'SP e RJ acima de 500')
    const rec = await api(key, 'GET', `/v1/campaigns/${c?.id}/recipients`)
    const phones = (rec.data?.items ?? []).map((r) => r.phone).sort()
    assert(JSON.stringify(phones) === JSON.stringify(['5511976540201', '5511976540203']), `recipients are Ana and Caio: ${JSON.stringify(rec.body)}`)
  })
}
