import { describe, expect, it } from 'vitest'
import { getLang, pickLang, setLang, t, translate } from './i18n'
import { messages } from './messages'

describe('i18n', () => {
  it('picks Portuguese for pt browsers, English for en, Portuguese otherwise', () => {
    expect(pickLang(['pt-BR', 'en'])).toBe('pt-BR')
    expect(pickLang(['pt-PT'])).toBe('pt-BR')
    expect(pickLang(['en-US', 'pt-BR'])).toBe('en')
    expect(pickLang(['de-DE', 'en-GB'])).toBe('en')
    expect(pickLang(['ja'])).toBe('pt-BR')
    expect(pickLang([])).toBe('pt-BR')
  })

  it('has every key in both languages, none empty', () => {
    const pt = Object.keys(messages['pt-BR']).sort()
    const en = Object.keys(messages.en).sort()
    expect(en).toEqual(pt)
    for (const l of ['pt-BR', 'en'] as const) for (const k of pt) expect(messages[l][k as keyof (typeof messages)['en']].trim()).not.toBe('')
  })

  it('uses the same placeholders in both languages', () => {
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
    for (const k of Object.keys(messages['pt-BR']) as (keyof (typeof messages)['en'])[]) {
      expect(ph(messages.en[k]), k).toEqual(ph(messages['pt-BR'][k]))
    }
  })

  it('fills placeholders and formats numbers per language', () => {
    expect(translate('pt-BR', 'campaign.createdCounts', { n: 12345, skipped: 2, invalid: 0 })).toBe(
      '12.345 destinatários; 2 descadastrados ignorados; 0 telefones inválidos.',
    )
    expect(translate('en', 'campaign.createdCounts', { n: 12345, skipped: 2, invalid: 0 })).toBe(
      '12,345 recipients; 2 opted-out skipped; 0 invalid numbers.',
    )
    expect(translate('en', 'campaign.message.help')).toContain('{{name}}') // no params: braces untouched
  })

  it('switches language and remembers the choice', () => {
    setLang('en')
    expect(getLang()).toBe('en')
    expect(t('nav.campaigns')).toBe('Campaigns')
    expect(localStorage.getItem('wuzapi.lang')).toBe('en')
    expect(document.documentElement.lang).toBe('en')
    setLang('pt-BR')
    expect(t('nav.campaigns')).toBe('Campanhas')
  })
})
