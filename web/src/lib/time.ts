// Times in the tenant's time zone (schedules and quiet hours are
// the tenant's wall clock; the API speaks RFC 3339 UTC).

/** Offset of zone at instant ms, in ms (local wall clock minus UTC). */
function offsetAt(ms: number, zone: string): number {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  })
  const p: Record<string, number> = {}
  for (const part of f.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value)
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!)
  return wall - Math.floor(ms / 1000) * 1000
}

/** The UTC instant (RFC 3339) of wall-clock "YYYY-MM-DDTHH:mm" in zone, or
 * null when the text is not such a time. In a DST gap the later offset wins. */
export function zonedToUtc(local: string, zone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local)
  if (!m) return null
  const guess = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!)
  let ms = guess - offsetAt(guess, zone)
  ms = guess - offsetAt(ms, zone)
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/** Wall-clock "YYYY-MM-DDTHH:mm" in zone of the RFC 3339 instant iso. */
export function utcToZoned(iso: string, zone: string): string {
  const ms = Date.parse(iso)
  const d = new Date(ms + offsetAt(ms, zone))
  return d.toISOString().slice(0, 16)
}

/** A short date and time in zone for language lang ("—" for null). */
export function formatDateTime(iso: string | null | undefined, zone: string, lang: string): string {
  if (!iso) return '—'
  return new Intl.DateTimeFormat(lang, { timeZone: zone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(iso))
}

/** Whether zone is an IANA zone this browser knows. */
export function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}
