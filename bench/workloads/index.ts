/** Every workload, in report order. */
import { writeWorkloads } from './writes.js'
import { readWorkloads } from './reads.js'
import { maintenanceWorkloads } from './maintenance.js'
import { keyvWorkloads } from './keyv.js'
import type { Workload } from './types.js'

export const workloads: Workload[] = [...writeWorkloads, ...readWorkloads, ...maintenanceWorkloads, ...keyvWorkloads]

export function workload(id: string): Workload {
  const w = workloads.find((x) => x.id === id)
  if (!w) throw new Error(`unknown workload ${id}; known: ${workloads.map((x) => x.id).join(', ')}`)
  return w
}
