import { describe, expect, it } from 'vitest'
import { utcToZoned, validZone, zonedToUtc } from './time'

describe('tenant time zone', () => {
  it.each([
    ['São Paulo (UTC-3)', '2026-12-02T09:00', 'America/Sao_Paulo', '2026-12-02T12:00:00Z'],
    ['UTC', '2026-01-01T00:00', 'UTC', '2026-01-01T00:00:00Z'],
    ['Berlin winter', '2026-01-15T10:30', 'Europe/Berlin', '2026-01-15T09:30:00Z'],
    ['Berlin summer', '2026-07-15T10:30', 'Europe/Berlin', '2026-07-15T08:30:00Z'],
    ['Manaus (UTC-4)', '2026-03-01T23:59', 'America/Manaus', '2026-03-02T03:59:00Z'],
  ])('wall clock to UTC: %s', (_n, local, zone, want) => {
    expect(zonedToUtc(local, zone)).toBe(want)
    expect(utcToZoned(want, zone)).toBe(local)
  })

  it('rejects text that is not a wall-clock time', () => {
    expect(zonedToUtc('amanhã', 'UTC')).toBeNull()
    expect(zonedToUtc('2026-12-02 09:00', 'UTC')).toBeNull()
  })

  it('knows IANA zones', () => {
    expect(validZone('America/Sao_Paulo')).toBe(true)
    expect(validZone('Mars/Olympus')).toBe(false)
  })
})
