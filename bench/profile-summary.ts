/**
 * Prints the functions with the most self time in a V8 CPU profile (as
 * written by `bench/open-profile.ts --profile` or `node --cpu-prof`).
 *
 *   node --import tsx bench/profile-summary.ts file.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const file = process.argv[2]
if (file === undefined) throw new TypeError('usage: profile-summary.ts file.cpuprofile [--top N]')
const topAt = process.argv.indexOf('--top')
const top = topAt >= 0 ? Number(process.argv[topAt + 1]) : 30
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  // timeDeltas[i] is the time before sample i; charge it to the sampled function.
  const us = profile.timeDeltas[i] ?? 0
  const frame = nodes.get(profile.samples[i]!)!.callFrame
  const where = frame.url === '' ? '' : ` ${frame.url.split('/').slice(-2).join('/')}`
  const name = `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${where}`
  self.set(name, (self.get(name) ?? 0) + us)
  total += us
}
console.log(`${(total / 1000).toFixed(0)} ms sampled`)
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}`)
}
