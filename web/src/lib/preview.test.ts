import { describe, expect, it } from 'vitest'
import { missingVariables, parse, variantCount, variants, variablesOf } from './preview'

const maria = { phone: '5511987654321', name: 'Maria', attributes: { cidade: 'Recife', pedido: 1234 } }

describe('message preview', () => {
  it.each([
    ['plain text', 'Bom dia', ['Bom dia']],
    ['variables', 'Oi {{name}}, seu pedido {{pedido}} sai de {{ cidade }}', ['Oi Maria, seu pedido 1234 sai de Recife']],
    ['phone', 'Número {{phone}}', ['Número 5511987654321']],
    ['spintax', '{Oi|Olá} {{name}}', ['Oi Maria', 'Olá Maria']],
    ['two groups', '{a|b}{1|2}', ['a1', 'a2', 'b1', 'b2']],
    ['nested', '{Oi|{Bom dia|Boa tarde}}!', ['Oi!', 'Bom dia!', 'Boa tarde!']],
    ['variable inside spintax', '{Oi {{name}}|Olá}', ['Oi Maria', 'Olá']],
    ['a lone brace stays text', 'preço {10} e {', ['preço {10} e {']],
    ['unclosed group stays text', 'abc {x|y', ['abc {x|y']],
    ['unknown variable is blank', 'Oi {{apelido}}!', ['Oi !']],
    ['duplicate variants collapse', '{a|a}', ['a']],
  ])('%s', (_n, msg, want) => {
    expect(variants(msg, maria)).toEqual(want)
  })

  it('counts variants, nested ones too', () => {
    expect(variantCount('x')).toBe(1)
    expect(variantCount('{a|b|c} {d|e}')).toBe(6)
    expect(variantCount('{a|{b|c}}')).toBe(3)
  })

  it('caps the list but not the count', () => {
    const msg = '{a|b|c|d}{a|b|c|d}{a|b|c|d}'
    expect(variantCount(msg)).toBe(64)
    expect(variants(msg, maria, 5)).toHaveLength(5)
  })

  it('lists variables and those the contact lacks', () => {
    expect(variablesOf('{{name}} {x {{cidade}}|y} {{name}}')).toEqual(['name', 'cidade'])
    expect(missingVariables('{{name}} {{email}} {{pedido}}', maria)).toEqual(['email'])
    expect(missingVariables('{{name}}', { phone: '55' })).toEqual(['name'])
  })

  it('parses into nodes', () => {
    expect(parse('a{{b}}{c|d}')).toEqual([
      { kind: 'text', text: 'a' },
      { kind: 'var', name: 'b' },
      { kind: 'spin', options: [[{ kind: 'text', text: 'c' }], [{ kind: 'text', text: 'd' }]] },
    ])
  })
})
