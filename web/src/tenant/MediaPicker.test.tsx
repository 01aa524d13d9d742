import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { MediaBubble, MediaPicker, type Attached } from './MediaPicker'
import { setLang } from '../lib/i18n'
import { resetSessionMemory, setSession } from '../lib/keystore'
import type { Media } from '../lib/types'

const media = (m: Partial<Media>): Media => ({
  id: 'm1', fileName: 'f', contentType: 'image/png', kind: 'image', size: 1000, status: 'ready', error: null,
  createdAt: '2026-12-01T00:00:00Z', checkedAt: null, expiresAt: '2027-03-01T00:00:00Z', ...m,
})
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

function mount(onChange: (a: Attached) => void, value: Attached = { state: 'none' }) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  render(<QueryClientProvider client={qc}><MediaPicker value={value} onChange={onChange} /></QueryClientProvider>)
}

describe('media picker: reuse a ready media', () => {
  let fetchMock: ReturnType<typeof vi.fn>
  beforeEach(() => {
    setLang('pt-BR')
    resetSessionMemory()
    setSession({ role: 'tenant', key: 'wm_test' })
    fetchMock = vi.fn()
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => { cleanup(); vi.unstubAllGlobals() })

  it('lists only ready media and attaches the chosen one without uploading', async () => {
    const items = [
      media({ id: 'pdf', fileName: 'tabela.pdf', contentType: 'application/pdf', kind: 'document', size: 2048 }),
      media({ id: 'img', fileName: 'oferta.png', url: 'http://s3/oferta.png?X-Amz-Signature=x' }),
      media({ id: 'bad', fileName: 'ruim.png', status: 'rejected', error: 'x' }),
      media({ id: 'old', fileName: 'velho.png', status: 'expired' }),
    ]
    fetchMock.mockResolvedValue(json(200, { success: true, data: { items, nextCursor: null } }))
    const onChange = vi.fn()
    mount(onChange)
    const select = await screen.findByLabelText('Ou use uma mídia já enviada')
    expect(String(fetchMock.mock.calls[0]?.[0])).toContain('/v1/media?limit=50')
    expect([...(select as HTMLSelectElement).options].map((o) => o.textContent)).toEqual(['Escolha uma mídia…', 'tabela.pdf (2 kB)', 'oferta.png (1 kB)'])
    fireEvent.change(select, { target: { value: 'pdf' } })
    expect(onChange).toHaveBeenLastCalledWith({ state: 'ready', media: items[0], file: null, preview: null })
    fireEvent.change(select, { target: { value: 'img' } })
    // An image shows through its download link: nothing is read from disk.
    expect(onChange).toHaveBeenLastCalledWith({ state: 'ready', media: items[1], file: null, preview: 'http://s3/oferta.png?X-Amz-Signature=x' })
    expect(fetchMock).toHaveBeenCalledTimes(1) // no POST /v1/media, no PUT
  })

  it('offers nothing to reuse when no media is ready', async () => {
    fetchMock.mockResolvedValue(json(200, { success: true, data: { items: [media({ status: 'pending' })], nextCursor: null } }))
    mount(vi.fn())
    await vi.waitFor(() => expect(fetchMock).toHaveBeenCalled())
    expect(screen.queryByLabelText('Ou use uma mídia já enviada')).toBeNull()
  })

  it("a document's bubble is its file chip with the caption", () => {
    render(<ol><MediaBubble kind="document" fileName="tabela.pdf" preview={null} caption="Oi Ana" /></ol>)
    expect(screen.getByTestId('media-bubble').textContent).toBe('📄 tabela.pdfOi Ana')
  })
})
