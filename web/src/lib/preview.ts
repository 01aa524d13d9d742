// Message preview: the variables ({{name}}, {{phone}}, any contact attribute)
// and spintax ({a|b|c}, nestable) of a campaign message, rendered the way a
// recipient reads them. The worker picks one spintax variant per recipient;
// the preview lists the variants so the author sees every text that can go out.

/** A sample contact the preview renders for. */
export interface SampleContact {
  phone: string
  name?: string
  attributes?: Record<string, unknown>
}

/** A piece of a parsed message. */
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string }
  | { kind: 'spin'; options: Node[][] }

/** The most variants a preview lists (a message can have thousands). */
export const MAX_VARIANTS = 20

/** Parses a message into text, variables and spintax groups. A "{" without a
 * matching "}" or a group without "|" stays literal text. */
export function parse(message: string): Node[] {
  let i = 0
  const seq = (inGroup: boolean): { nodes: Node[][]; closed: boolean } => {
    const options: Node[][] = [[]]
    let text = ''
    const flush = () => {
      if (text) options[options.length - 1]!.push({ kind: 'text', text })
      text = ''
    }
    while (i < message.length) {
      const c = message[i]!
      if (c === '{' && message[i + 1] === '{') {
        const end = message.indexOf('}}', i + 2)
        const name = end >= 0 ? message.slice(i + 2, end).trim() : ''
        if (end >= 0 && /^[\p{L}\p{N}_.-]+$/u.test(name)) {
          flush()
          options[options.length - 1]!.push({ kind: 'var', name })
          i = end + 2
          continue
        }
        text += '{{'
        i += 2
        continue
      }
      if (c === '{') {
        const start = i
        i++
        const inner = seq(true)
        if (inner.closed && inner.nodes.length > 1) {
          flush()
          options[options.length - 1]!.push({ kind: 'spin', options: inner.nodes })
        } else {
          i = start + 1 // not a group: keep the brace as text and read on
          text += '{'
        }
        continue
      }
      if (inGroup && c === '|') {
        flush()
        options.push([])
        i++
        continue
      }
      if (inGroup && c === '}') {
        flush()
        i++
        return { nodes: options, closed: true }
      }
      text += c
      i++
    }
    flush()
    return { nodes: options, closed: false }
  }
  const out = seq(false)
  return out.nodes.flat()
}

/** The value of variable name for contact c ("" when it has none). */
export function variable(name: string, c: SampleContact): string {
  if (name === 'phone') return c.phone
  if (name === 'name') return c.name ?? ''
  const v = c.attributes?.[name]
  return v === undefined || v === null ? '' : String(v)
}

/** The variables a message uses, in order of first use. */
export function variablesOf(message: string): string[] {
  const seen = new Set<string>()
  const walk = (nodes: Node[]) => {
    for (const n of nodes) {
      if (n.kind === 'var') seen.add(n.name)
      else if (n.kind === 'spin') n.options.forEach(walk)
    }
  }
  walk(parse(message))
  return [...seen]
}

/** How many different texts the spintax can produce. */
export function variantCount(message: string): number {
  const count = (nodes: Node[]): number =>
    nodes.reduce((acc, n) => (n.kind === 'spin' ? acc * n.options.reduce((s, o) => s + count(o), 0) : acc), 1)
  return count(parse(message))
}

/** The rendered texts for contact c: every spintax combination, the first
 * `max` of them, in a stable order (first option first). */
export function variants(message: string, c: SampleContact, max = MAX_VARIANTS): string[] {
  const expand = (nodes: Node[]): string[] => {
    let acc = ['']
    for (const n of nodes) {
      let parts: string[]
      if (n.kind === 'text') parts = [n.text]
      else if (n.kind === 'var') parts = [variable(n.name, c)]
      else parts = n.options.flatMap(expand)
      const next: string[] = []
      for (const a of acc) {
        for (const p of parts) {
          next.push(a + p)
          if (next.length >= max) break
        }
        if (next.length >= max) break
      }
      acc = next
    }
    return acc
  }
  return [...new Set(expand(parse(message)))].slice(0, max)
}

/** The variables the message uses that contact c has no value for. */
export function missingVariables(message: string, c: SampleContact): string[] {
  return variablesOf(message).filter((v) => variable(v, c) === '')
}
