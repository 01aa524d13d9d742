import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { SignIn } from './SignIn'
import { getSession, resetSessionMemory, setSession } from './lib/keystore'
import { setLang } from './lib/i18n'

function mount() {
  const qc = new QueryClient()
  render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={['/signin']}>
        <Routes>
          <Route path="/signin" element={<SignIn />} />
          <Route path="/campaigns" element={<p>campaigns page</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  )
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

describe('sign-in form', () => {
  let fetchMock: ReturnType<typeof vi.fn>
  beforeEach(() => {
    setLang('pt-BR')
    sessionStorage.clear()
    resetSessionMemory()
    fetchMock = vi.fn()
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    cleanup()
    vi.unstubAllGlobals()
  })

  it('asks for the key without calling the API', async () => {
    mount()
    fireEvent.click(screen.getByRole('button', { name: 'Entrar' }))
    expect(await screen.findByText('Informe a chave.')).toBeTruthy()
    expect(fetchMock).not.toHaveBeenCalled()
    expect(screen.getByLabelText('Chave de API').getAttribute('aria-invalid')).toBe('true')
  })

  it('shows a wrong key in Portuguese and keeps nothing', async () => {
    fetchMock.mockResolvedValue(json(401, { success: false, error: 'invalid API key', code: 'UNAUTHORIZED' }))
    mount()
    fireEvent.change(screen.getByLabelText('Chave de API'), { target: { value: 'wrong' } })
    fireEvent.click(screen.getByRole('button', { name: 'Entrar' }))
    expect((await screen.findByRole('alert')).textContent).toContain('Chave de API inválida ou revogada.')
    expect(getSession()).toBeNull()
  })

  it('signs in once on a double click, clears the other key, and goes to campaigns', async () => {
    setSession({ key: 'previous', role: 'tenant' })
    const deleted: string[] = []
    vi.stubGlobal('caches', { delete: async (n: string) => { deleted.push(n); return true } })
    let release!: (r: Response) => void
    fetchMock.mockReturnValue(new Promise<Response>((r) => (release = r)))
    mount()
    fireEvent.change(screen.getByLabelText('Chave de API'), { target: { value: 'good-key' } })
    const button = screen.getByRole('button', { name: 'Entrar' })
    fireEvent.click(button)
    fireEvent.click(button)
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1))
    release(json(200, { success: true, data: { tenant: { id: 't', name: 'A' }, rateLimit: {} } }))
    expect(await screen.findByText('campaigns page')).toBeTruthy()
    expect(fetchMock).toHaveBeenCalledTimes(1)
    expect(getSession()).toEqual({ key: 'good-key', role: 'tenant' })
    expect(deleted).toEqual(['api-cache'])
  })
})
