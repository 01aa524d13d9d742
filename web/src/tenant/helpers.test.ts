import { describe, expect, it } from 'vitest'
import { parsePasted } from './CampaignNew'
import { progressOf } from './Campaigns'
import type { Campaign } from '../lib/types'

describe('pasted recipients', () => {
  it('reads phone or phone and name per line, any separator, skipping blanks', () => {
    expect(parsePasted('11 98765-4321, Ana\n\n  5511987650000 \n11987650001;Bia Souza\n11987650002\tCarlos Lima\n')).toEqual([
      { phone: '11 98765-4321', name: 'Ana' },
      { phone: '5511987650000' },
      { phone: '11987650001', name: 'Bia Souza' },
      { phone: '11987650002', name: 'Carlos Lima' },
    ])
    expect(parsePasted('')).toEqual([])
  })
})

describe('campaign progress', () => {
  const c = (counts: Partial<Campaign['counts']>) =>
    ({ counts: { total: 0, pending: 0, sending: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0, unknown: 0, ...counts } }) as Campaign
  it('counts sent, failed and unknown as settled, as GET /status does', () => {
    expect(progressOf(c({ total: 4, sent: 1, delivered: 1, failed: 1, pending: 2 }))).toBe(50)
    expect(progressOf(c({ total: 3, sent: 1, unknown: 1, pending: 1 }))).toBe(67)
    expect(progressOf(c({ total: 0 }))).toBe(100)
  })
})
