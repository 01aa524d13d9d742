// A number logged out on the phone: WuzAPI posts LoggedOut to the platform's
// webhook, and the instance page stops saying it is connected; pairing again
// by QR code brings it back. Set up through the API (newTenant,
// pairedInstance), checked in the browser.
import { assert } from '../harness.mjs'

export default function instanceLogout(test, env) {
  const { page, shot, wuzapi, newTenant, pairedInstance, signIn } = env
  let inst

  test('a paired instance shows as connected', async () => {
    const tenant = await newTenant('Loja Logout')
    inst = await pairedInstance(tenant.apiKey, { name: 'Vendas' })
    await signIn(tenant.apiKey)
    await page.getByRole('heading', { name: 'Campanhas' }).waitFor()
    await page.getByRole('link', { name: 'Instâncias' }).click()
    await page.getByRole('article').filter({ hasText: 'Vendas' }).getByText('Conectado ao WhatsApp').waitFor()
  })

  test('logged out on the phone: the webhook takes the event and the page says so; a new QR code pairs it again', async () => {
    assert((await wuzapi.loggedOut(inst.token)) === 200, 'the platform accepted the LoggedOut event')
    await page.reload()
    const card = page.getByRole('article').filter({ hasText: 'Vendas' })
    await card.getByText('Aguardando pareamento').or(card.getByText('Desconectado')).waitFor()
    assert(!(await card.getByText('Conectado ao WhatsApp').isVisible()), 'no longer shown as connected')
    await card.getByTestId('health-state').getByText('Sessão encerrada no celular').waitFor() // the health card: no sends until paired again
    await shot('15-instance-logged-out')
    await card.getByRole('button', { name: 'Conectar / parear' }).click()
    await card.getByAltText('QR code para parear o WhatsApp').waitFor()
    await card.getByText('Conectado ao WhatsApp').waitFor()
  })
}
