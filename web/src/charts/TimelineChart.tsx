// The sent/delivered/read/failed chart (uPlot: 21 KiB gzip), a lazy chunk of its own.
import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { TimelinePoint } from '../lib/types'

export default function TimelineChart(props: {
  points: TimelinePoint[]
  zone: string
  title: string
  labels: { time: string; sent: string; delivered: string; read: string; failed: string }
}) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (!el) return
    const xs = props.points.map((p) => Date.parse(p.at) / 1000)
    const data: uPlot.AlignedData = [
      xs,
      props.points.map((p) => p.sent),
      props.points.map((p) => p.delivered),
      props.points.map((p) => p.read),
      props.points.map((p) => p.failed),
    ]
    // uPlot's auto range stretches a single bucket over years: pad short spans to a few minutes.
    const now = Date.now() / 1000
    const lo = xs.length ? Math.min(...xs) : now - 300
    const hi = xs.length ? Math.max(...xs) : now
    const span: [number, number] = hi - lo < 600 ? [lo - 300, hi + 300] : [lo, hi]
    const width = Math.max(280, el.clientWidth || 600)
    const plot = new uPlot(
      {
        width,
        height: 240,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), props.zone),
        scales: { x: { time: true, range: () => span } },
        series: [
          { label: props.labels.time },
          { label: props.labels.sent, stroke: '#0369a1', width: 2 },
          { label: props.labels.delivered, stroke: '#0f766e', width: 2 },
          { label: props.labels.read, stroke: '#7c3aed', width: 2 },
          { label: props.labels.failed, stroke: '#b91c1c', width: 2 },
        ],
      },
      data,
      el,
    )
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 240 })) : null
    ro?.observe(el)
    return () => {
      ro?.disconnect()
      plot.destroy()
    }
  }, [props.points, props.zone, props.labels.sent, props.labels.delivered, props.labels.read, props.labels.failed])
  const totals = props.points.reduce((a, p) => ({ sent: a.sent + p.sent, delivered: a.delivered + p.delivered, read: a.read + p.read, failed: a.failed + p.failed }), { sent: 0, delivered: 0, read: 0, failed: 0 })
  return (
    <figure className="chart">
      <div ref={box} role="img" aria-label={`${props.title}: ${props.labels.sent} ${totals.sent}, ${props.labels.delivered} ${totals.delivered}, ${props.labels.read} ${totals.read}, ${props.labels.failed} ${totals.failed}`} data-testid="timeline-chart" />
    </figure>
  )
}
