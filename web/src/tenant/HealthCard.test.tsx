import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { HealthCard } from './HealthCard'
import { setLang } from '../lib/i18n'
import { resetSessionMemory, setSession } from '../lib/keystore'
import type { Instance, InstanceHealth } from '../lib/types'

const instance = { id: '0193a5b4-8d2f-7e3a-8b4c-2d3e4f5a6b7c', name: 'Vendas' } as Instance
const health = (h: Partial<InstanceHealth>): InstanceHealth => ({
  state: 'ok', reason: null, until: null, today: { sent: 42, newContacts: 12, newContactsBudget: 20, dailyCap: 200 }, deliveryRate: 0.86, ...h,
})
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

function mount(h: InstanceHealth) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  // The tenant's time zone comes from /v1/me; the browser's until it answers.
  qc.setQueryData(['me'], { tenant: { timezone: 'UTC' } })
  render(<QueryClientProvider client={qc}><HealthCard instance={instance} health={h} /></QueryClientProvider>)
}

describe('instance health card', () => {
  let fetchMock: ReturnType<typeof vi.fn>
  beforeEach(() => {
    setLang('pt-BR')
    resetSessionMemory()
    setSession({ role: 'tenant', key: 'wm_test' })
    fetchMock = vi.fn()
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    cleanup()
    vi.unstubAllGlobals()
  })

  it('shows a healthy number: budgets, delivery rate, no Resume', () => {
    mount(health({}))
    expect(screen.getByTestId('health-state').textContent).toBe('Saudável')
    expect(screen.getByText('42 de 200')).toBeTruthy()
    expect(screen.getByText('12 de 20')).toBeTruthy()
    expect(screen.getByTestId('delivery-rate').textContent).toMatch(/^Taxa de entrega: 86\s?%/)
    expect(screen.queryByRole('button')).toBeNull()
  })

  it('says "not enough sends yet" for a null rate, and in English too', () => {
    mount(health({ deliveryRate: null, today: null }))
    expect(screen.getByText('Taxa de entrega: ainda não há envios suficientes')).toBeTruthy()
    expect(screen.getByText('As contagens de hoje não estão disponíveis agora.')).toBeTruthy()
    cleanup()
    setLang('en')
    mount(health({ deliveryRate: null }))
    expect(screen.getByText('Delivery rate: not enough sends yet')).toBeTruthy()
    expect(screen.getByTestId('health-state').textContent).toBe('Healthy')
  })

  it('labels the API reason, counts down to until, offers Resume only when paused', () => {
    const until = new Date(Date.now() + (6 * 60 + 5) * 60_000 - 10_000).toISOString()
    const reason = 'new-contact sending paused: only 2 of 10 recent first messages were delivered'
    mount(health({ state: 'paused', reason, until }))
    expect(screen.getByText('Motivo (em inglês):')).toBeTruthy()
    expect(screen.getByText(reason).getAttribute('lang')).toBe('en')
    expect(screen.getByTestId('health-until').textContent).toMatch(/^Um envio de teste tenta de novo em 6 h 05 min \(/)
    expect(screen.getByRole('button', { name: 'Retomar novos contatos' })).toBeTruthy()
    cleanup()
    mount(health({ state: 'locked', reason: 'locked', until }))
    expect(screen.queryByRole('button', { name: 'Retomar novos contatos' })).toBeNull()
  })

  it('explains a 409 from Resume with the server text labelled', async () => {
    fetchMock.mockResolvedValue(json(409, { success: false, error: 'nothing to resume: new-contact sending is open', code: 'INVALID_STATE' }))
    mount(health({ state: 'paused', reason: 'paused', until: new Date(Date.now() + 3_600_000).toISOString() }))
    fireEvent.click(screen.getByRole('button', { name: 'Retomar novos contatos' }))
    expect(await screen.findByText(/^Não há nada pausado para retomar/)).toBeTruthy()
    expect(screen.getByText('nothing to resume: new-contact sending is open')).toBeTruthy()
    const [url, init] = fetchMock.mock.calls[0]!
    expect(String(url)).toBe(`/v1/instances/${instance.id}/resume`)
    expect(init.method).toBe('POST')
  })
})
