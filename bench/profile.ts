/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with
 * the most self time and the most inclusive time.
 *   node --import tsx bench/profile.ts bench/results/profiles/put1.caskdb.cpuprofile [top]
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

function frameName(node: ProfileNode): string {
  const f = node.callFrame
  const name = f.functionName || '(anonymous)'
  if (!f.url) return name
  let url = f.url.replace(/^file:\/\//, '')
  if (url.startsWith('/')) url = relative(process.cwd(), url)
  url = url.replace(/^.*node_modules\//, '~/')
  // tsx emits each module on one line: a line number would say nothing then.
  return f.lineNumber > 0 ? `${name} ${url}:${f.lineNumber + 1}` : `${name} ${url}`
}

/** Sampled time that was not idle (ms). */
export function busyMs(path: string): number {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
  let us = 0
  for (let i = 0; i < profile.samples.length; i++) if (!idle.has(profile.samples[i]!)) us += profile.timeDeltas[i] ?? 0
  return us / 1000
}

export function summarizeProfile(path: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const byId = new Map<number, ProfileNode>()
  for (const n of profile.nodes) byId.set(n.id, n)
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  // Self time per node, from the sample stream (timeDeltas are µs).
  const selfUs = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  // Percentages are of the time the thread was not idle; samples inside the
  // inspector's own `post` (starting and stopping the profiler) are left out.
  const inInspector = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame
      if (f.url === 'node:inspector') return true
    }
    return false
  }
  for (const [id] of selfUs) if (byId.get(id)?.callFrame.functionName === '(idle)' || inInspector(id)) selfUs.delete(id)
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!
    self.set(frameName(node), (self.get(frameName(node)) ?? 0) + us)
    // Inclusive: credit each distinct function once per sample path.
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = frameName(byId.get(cur)!)
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + us)
    }
  }
  const pct = (us: number): string => ((us / total) * 100).toFixed(1).padStart(5) + ' %'
  const lines = [`busy (not idle): ${(total / 1000).toFixed(0)} ms; percentages are of that`, '', 'self time:']
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${name}`)
  lines.push('', 'inclusive time:')
  for (const [name, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${name}`)
  return lines.join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = process.argv[2]
  if (!path) throw new Error('usage: bench/profile.ts FILE.cpuprofile [top]')
  console.log(summarizeProfile(path, Number(process.argv[3] ?? 25)))
}
