// A small i18n: one catalogue (messages.ts), Brazilian Portuguese first.
// The browser's language picks (pt* → pt-BR, anything else → en) unless the
// user chose with the switch; the choice is kept in localStorage (a
// preference, not a secret). No library: the catalogue is typed, so a key
// missing in one language fails the type check.
import { useSyncExternalStore } from 'react'
import { messages, type MessageKey } from './messages'

export type Lang = 'pt-BR' | 'en'
export const LANGS: Lang[] = ['pt-BR', 'en']
const PREF = 'wuzapi.lang'

/** The language for a list of browser languages (navigator.languages). */
export function pickLang(browser: readonly string[]): Lang {
  for (const l of browser) {
    const low = l.toLowerCase()
    if (low.startsWith('pt')) return 'pt-BR'
    if (low.startsWith('en')) return 'en'
  }
  return 'pt-BR'
}

function initial(): Lang {
  try {
    const saved = globalThis.localStorage?.getItem(PREF)
    if (saved === 'pt-BR' || saved === 'en') return saved
  } catch {
    // storage disabled: the browser decides
  }
  const nav = globalThis.navigator
  return pickLang(nav?.languages?.length ? nav.languages : [nav?.language ?? 'pt-BR'])
}

let lang: Lang = initial()
const listeners = new Set<() => void>()

export function getLang(): Lang {
  return lang
}

/** Switches the language and remembers the choice. */
export function setLang(l: Lang): void {
  lang = l
  try {
    globalThis.localStorage?.setItem(PREF, l)
  } catch {
    // not remembered; still switched
  }
  if (typeof document !== 'undefined') document.documentElement.lang = l
  for (const fn of listeners) fn()
}

/** Translates key in language l, replacing {name} placeholders by params. */
export function translate(l: Lang, key: MessageKey, params?: Record<string, string | number>): string {
  const s: string = messages[l][key] ?? messages['pt-BR'][key] ?? key
  if (!params) return s
  return s.replace(/\{(\w+)\}/g, (m, p: string) => (p in params ? formatParam(l, params[p]!) : m))
}

function formatParam(l: Lang, v: string | number): string {
  return typeof v === 'number' ? v.toLocaleString(l) : v
}

/** t() in the current language (outside React). */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  return translate(lang, key, params)
}

function subscribe(fn: () => void): () => void {
  listeners.add(fn)
  return () => {
    listeners.delete(fn)
  }
}

/** The current language and its t(), re-rendering on a switch. */
export function useI18n(): { lang: Lang; t: typeof t } {
  const l = useSyncExternalStore(subscribe, getLang, getLang)
  return { lang: l, t: (key, params) => translate(l, key, params) }
}

export type { MessageKey }
