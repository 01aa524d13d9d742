import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { useForm, useWatch } from 'react-hook-form'
import { AudienceCount, AudienceFilters, type LiveCount } from './AudienceBuilder'
import { audienceBody, EMPTY_AUDIENCE, type AudienceFields, type AudiencePreview, type WhereRow } from '../lib/audience'
import { ApiError } from '../lib/api'
import { setLang } from '../lib/i18n'

// The builder inside a form like the campaign form's; the audience it would send is written out.
function Harness(props: { apiError?: unknown; rows?: WhereRow[] }) {
  const { register, control } = useForm<{ seg: AudienceFields }>({ defaultValues: { seg: { ...EMPTY_AUDIENCE, where: props.rows ?? [] } } })
  const seg = useWatch({ control, name: 'seg' })
  return (
    <form>
      <AudienceFilters register={register} control={control} imports={[]} rows={seg.where} errors={{}} apiError={props.apiError} />
      <output data-testid="body">{JSON.stringify(audienceBody(seg))}</output>
    </form>
  )
}
const body = () => JSON.parse(screen.getByTestId('body').textContent ?? '') as unknown
const row = (n: number) => screen.getByRole('group', { name: `Condição ${n}` })

describe('audience builder: where conditions', () => {
  beforeEach(() => setLang('pt-BR'))
  afterEach(cleanup)

  it('adds and removes condition rows, each with the value input its op needs', () => {
    render(<Harness />)
    expect(body()).toEqual({ all: true })
    fireEvent.click(screen.getByRole('button', { name: 'Adicionar condição' }))
    fireEvent.change(within(row(1)).getByLabelText('Atributo'), { target: { value: 'city' } })
    fireEvent.change(within(row(1)).getByLabelText('Operador'), { target: { value: 'in' } })
    // in: a list of values, with how to type it.
    fireEvent.change(within(row(1)).getByLabelText('Valores'), { target: { value: 'SP, RJ' } })
    expect(within(row(1)).getByText('Separe os valores por vírgula (de 1 a 100).')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Adicionar condição' }))
    fireEvent.change(within(row(2)).getByLabelText('Atributo'), { target: { value: 'email' } })
    fireEvent.change(within(row(2)).getByLabelText('Operador'), { target: { value: 'exists' } })
    // exists: no value at all.
    expect(within(row(2)).queryByLabelText('Valor')).toBeNull()
    expect(body()).toEqual({ where: [{ attribute: 'city', op: 'in', value: ['SP', 'RJ'] }, { attribute: 'email', op: 'exists' }] })
    fireEvent.click(within(row(1)).getByRole('button', { name: 'Remover condição 1' }))
    expect(body()).toEqual({ where: [{ attribute: 'email', op: 'exists' }] })
    fireEvent.click(screen.getByRole('button', { name: 'Remover condição 1' }))
    expect(body()).toEqual({ all: true })
  })

  it('stops adding at 20 conditions', () => {
    render(<Harness rows={Array.from({ length: 19 }, () => ({ attribute: 'a', op: 'eq' as const, value: '1' }))} />)
    const add = screen.getByRole('button', { name: 'Adicionar condição' }) as HTMLButtonElement
    expect(add.disabled).toBe(false)
    fireEvent.click(add)
    expect(add.disabled).toBe(true)
    expect(screen.getByText('No máximo 20 condições.')).toBeTruthy()
  })

  it("shows the API's refusal of a condition at its row", () => {
    const err = new ApiError('VALIDATION_FAILED', 'bad', 400, [{ field: 'audience.where[1]', code: 'invalid_type', message: 'value must be a string, number or boolean' }])
    render(<Harness apiError={err} rows={[{ attribute: 'a', op: 'eq', value: '1' }, { attribute: 'b', op: 'eq', value: '2' }]} />)
    expect(within(row(1)).queryByRole('alert')).toBeNull()
    expect(within(row(2)).getByRole('alert').textContent).toBe('A API recusou esta condição (invalid_type). Motivo (em inglês): value must be a string, number or boolean')
  })
})

describe('audience count: the sample', () => {
  beforeEach(() => setLang('pt-BR'))
  afterEach(cleanup)
  const contact = (id: string, name: string, phone: string, tags: string[]) =>
    ({ id, name, phone, tags, attributes: {}, optedOutAt: null, createdAt: '2026-01-01T00:00:00Z' }) as AudiencePreview['sample'][number]

  it('lists the sample under the count: name, phone, tags', () => {
    const preview: AudiencePreview = { count: 12, optedOut: 1, countIsEstimate: false, sample: [contact('1', 'Ana', '5511976540101', ['vip', 'sp']), contact('2', '', '5511976540102', [])] }
    render(<AudienceCount live={{ state: 'ready', preview } satisfies LiveCount} />)
    expect(screen.getByTestId('audience-count-n').textContent).toBe('12 contatos receberão')
    const items = within(screen.getByTestId('audience-sample')).getAllByRole('listitem').map((li) => li.textContent)
    expect(items).toEqual(['Ana +5511976540101vipsp', '+5511976540102'])
  })
  it('says when nothing matches, and keeps the last sample while counting again', () => {
    const { rerender } = render(<AudienceCount live={{ state: 'ready', preview: { count: 0, optedOut: 0, countIsEstimate: false, sample: [] } }} />)
    expect(screen.getByTestId('audience-sample').textContent).toBe('Nenhum contato corresponde.')
    rerender(<AudienceCount live={{ state: 'loading', last: { count: 1, optedOut: 0, countIsEstimate: false, sample: [contact('1', 'Ana', '5511976540101', [])] } }} />)
    expect(within(screen.getByTestId('audience-sample')).getAllByRole('listitem')).toHaveLength(1)
  })
  it('says "about" when the count is an estimate', () => {
    render(<AudienceCount live={{ state: 'ready', preview: { count: 950000, optedOut: 0, countIsEstimate: true, sample: [] } }} />)
    expect(screen.getByTestId('audience-count-n').textContent).toBe('cerca de 950.000 contatos receberão (estimativa)')
  })
})
