// Campaign media in the dashboard: an image attached in the campaign form is
// uploaded through the presigned PUT, checked by the platform, shown in a
// WhatsApp-like bubble with its caption, and sent to each recipient once as
// an image with our message id. A file of a type WhatsApp refuses is
// refused before any upload. A PDF is previewed as a file bubble and sent
// as a document; a ready media is chosen again from the list, not uploaded.
import { deflateSync } from 'node:zlib'
import { assert } from '../harness.mjs'

const FAST = {
  messagesPerMinute: 600, minDelayMs: 300, maxDelayMs: 600, hourlyCap: 900, dailyCap: 1000, warmupDays: 0,
  newContactsPerDay: 500, newContactsPerHour: 200, identicalPerHour: 1000, typing: false, checkNumbers: false,
}

/** A 48×32 PNG: a green band on white, enough to see in the screenshot. */
function png() {
  const w = 48, h = 32
  const raw = Buffer.alloc((w * 3 + 1) * h)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3
      const band = y > 10 && y < 22
      raw[o] = band ? 37 : 255; raw[o + 1] = band ? 211 : 255; raw[o + 2] = band ? 102 : 255
    }
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0 })
  const crc = (b) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0 }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type), data])
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td))
    return Buffer.concat([len, td, c])
  }
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

export default function media(test, env) {
  const { page, shot, wuzapi, api, newTenant, pairedInstance, signIn } = env

  test('an image attached to a campaign: uploaded, checked, previewed in a bubble and sent once per recipient with our id', async () => {
    const tenant = await newTenant('Loja Mídia')
    const key = tenant.apiKey
    const inst = await pairedInstance(key, { name: 'Mídia', ...FAST })
    await signIn(key)
    await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
    await page.getByRole('link', { name: 'Nova campanha' }).click()
    await page.getByLabel('Nome', { exact: true }).fill('Oferta com imagem')
    await page.getByLabel('Instância (número que envia)', { exact: true }).selectOption({ label: 'Mídia' })
    await page.getByLabel('Colar telefones', { exact: true }).check()
    await page.getByLabel('Telefones', { exact: true }).fill('11 98765-5101, Ana\n11 98765-5102, Bia')
    await page.getByLabel('Mensagem', { exact: true }).fill('Oi {{name}}, a oferta de hoje!')

    // A GIF is refused in the browser: WhatsApp's types only.
    await page.getByLabel('Anexar arquivo').setInputFiles({ name: 'x.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a') })
    await page.getByTestId('media-status').getByText('Este tipo de arquivo não é aceito.').waitFor()

    await page.getByLabel('Anexar arquivo').setInputFiles({ name: 'oferta.png', mimeType: 'image/png', buffer: png() })
    await page.getByTestId('media-status').getByText(/^Pronto: oferta\.png/).waitFor({ timeout: 60_000 })
    const bubble = page.getByTestId('media-bubble').first()
    await bubble.getByRole('img', { name: 'Imagem anexada' }).waitFor()
    await bubble.getByText('Oi Ana, a oferta de hoje!').waitFor()
    await shot('40-campaign-media-preview')

    await page.getByRole('button', { name: 'Criar campanha' }).click()
    await page.getByRole('heading', { name: 'Campanha criada' }).waitFor()
    const list = await api(key, 'GET', '/v1/campaigns')
    const c = list.data.items.find((x) => x.name === 'Oferta com imagem')
    assert(c?.media?.kind === 'image' && c.media.fileName === 'oferta.png', `the campaign carries the media: ${JSON.stringify(c)}`)
    for (let i = 0; ; i++) {
      const got = await api(key, 'GET', `/v1/campaigns/${c.id}`)
      if (got.data?.state === 'completed') break
      assert(i < 300, `campaign completed: ${JSON.stringify(got.body)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    await page.goto(`${env.base}/campaigns/${c.id}`)
    await page.getByText('Mensagem', { exact: true }).click()
    await page.getByTestId('campaign-media').getByText(/^Mídia: oferta\.png/).waitFor()
    const sends = wuzapi.sends.filter((s) => s.token === inst.token)
    assert(sends.length === 2, `two sends: ${JSON.stringify(sends)}`)
    for (const phone of ['5511987655101', '5511987655102']) {
      const mine = sends.filter((s) => s.phone === phone)
      assert(mine.length === 1 && mine[0].media === 'image' && /^https?:\/\//.test(mine[0].file) && mine[0].id.length > 0,
        `${phone} got one image by URL: ${JSON.stringify(mine)}`)
      const r = await api(key, 'GET', `/v1/campaigns/${c.id}/recipients`)
      const rec = r.data.items.find((x) => x.phone === phone)
      assert(rec?.messageId === mine[0].id, `the send carried our message id ${rec?.messageId}: ${mine[0].id}`)
    }
  })
  documentTests(test, env)
}

// A small PDF: what the check sniffs as application/pdf.
const PDF = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1')

export function documentTests(test, env) {
  const { page, shot, wuzapi, api, newTenant, pairedInstance, signIn } = env
  const waitCompleted = async (key, id) => {
    for (let i = 0; ; i++) {
      const got = await api(key, 'GET', `/v1/campaigns/${id}`)
      if (got.data?.state === 'completed') return
      assert(i < 300, `campaign completed: ${JSON.stringify(got.body)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  const newCampaign = async (name, phones) => {
    await page.goto(`${env.base}/campaigns/new`)
    await page.getByLabel('Nome', { exact: true }).fill(name)
    await page.getByLabel('Instância (número que envia)', { exact: true }).selectOption({ label: 'Documentos' })
    await page.getByLabel('Colar telefones', { exact: true }).check()
    await page.getByLabel('Telefones', { exact: true }).fill(phones)
    await page.getByLabel('Mensagem', { exact: true }).fill('Oi {{name}}, segue a tabela.')
  }

  test('a PDF attached: checked, previewed as a file bubble, sent as a document; a second campaign reuses it without uploading again', async () => {
    const tenant = await newTenant('Loja Documentos')
    const key = tenant.apiKey
    const inst = await pairedInstance(key, { name: 'Documentos', ...FAST })
    await signIn(key)
    await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
    await newCampaign('Tabela de preços', '11 98765-5201, Ana\n11 98765-5202, Bia')
    await page.getByLabel('Anexar arquivo').setInputFiles({ name: 'tabela.pdf', mimeType: 'application/pdf', buffer: PDF })
    await page.getByTestId('media-status').getByText(/^Pronto: tabela\.pdf/).waitFor({ timeout: 60_000 })
    const bubble = page.getByTestId('media-bubble').first()
    await bubble.getByText('tabela.pdf').waitFor()
    await bubble.getByText('Oi Ana, segue a tabela.').waitFor()
    await shot('41-campaign-media-pdf-preview')
    await page.getByRole('button', { name: 'Criar campanha' }).click()
    await page.getByRole('heading', { name: 'Campanha criada' }).waitFor()
    const first = (await api(key, 'GET', '/v1/campaigns')).data.items.find((x) => x.name === 'Tabela de preços')
    assert(first?.media?.kind === 'document' && first.media.fileName === 'tabela.pdf', `the campaign carries the PDF: ${JSON.stringify(first)}`)
    await waitCompleted(key, first.id)
    const want = 'data:application/octet-stream;base64,' + PDF.toString('base64')
    for (const phone of ['5511987655201', '5511987655202']) {
      const mine = wuzapi.sends.filter((s) => s.token === inst.token && s.phone === phone)
      assert(mine.length === 1 && mine[0].media === 'document' && mine[0].file === want && mine[0].fileName === 'tabela.pdf' &&
        mine[0].mimeType === 'application/pdf', `${phone} got the PDF once as a document: ${JSON.stringify(mine).slice(0, 300)}`)
    }

    // The second campaign picks the same ready media from the list: no new upload.
    await newCampaign('Tabela de novo', '11 98765-5203, Caio')
    const reuse = page.getByLabel('Ou use uma mídia já enviada', { exact: true })
    await reuse.locator('option', { hasText: 'tabela.pdf' }).waitFor({ state: 'attached' })
    await reuse.selectOption({ label: `tabela.pdf (${PDF.length} B)` })
    await page.getByTestId('media-status').getByText(/^Pronto: tabela\.pdf/).waitFor()
    await page.getByTestId('media-bubble').first().getByText('Oi Caio, segue a tabela.').waitFor()
    await shot('42-campaign-media-reuse')
    await page.getByRole('button', { name: 'Criar campanha' }).click()
    await page.getByRole('heading', { name: 'Campanha criada' }).waitFor()
    const second = (await api(key, 'GET', '/v1/campaigns')).data.items.find((x) => x.name === 'Tabela de novo')
    assert(second?.media?.mediaId === first.media.mediaId, `the same media is reused: ${JSON.stringify(second?.media)} vs ${JSON.stringify(first.media)}`)
    const all = await api(key, 'GET', '/v1/media')
    assert(all.data.items.length === 1, `one media uploaded in all: ${JSON.stringify(all.body).slice(0, 300)}`)
    await waitCompleted(key, second.id)
    const caio = wuzapi.sends.filter((s) => s.token === inst.token && s.phone === '5511987655203')
    assert(caio.length === 1 && caio[0].media === 'document' && caio[0].file === want, `Caio got the reused PDF once: ${JSON.stringify(caio).slice(0, 300)}`)
  })
}
