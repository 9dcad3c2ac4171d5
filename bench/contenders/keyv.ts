/**
 * Keyv 5 with each storage adapter. Every figure goes through `keyv.set` /
 * `keyv.get`, so Keyv's own serialisation and namespacing are included.
 */
import { join } from 'node:path'
import type { Keyv } from 'keyv'

export type KeyvContenderId = 'keyv-map' | 'keyv-file' | 'keyv-sqlite' | 'keyv-caskdb'

export interface KeyvContender {
  id: KeyvContenderId
  label: string
  durability: string
  persistent: boolean
  open(dir: string): Promise<Keyv>
}

async function keyvWith(store?: unknown): Promise<Keyv> {
  const { Keyv } = await import('keyv')
  return store === undefined ? new Keyv() : new Keyv({ store: store as never })
}

export const keyvMap: KeyvContender = {
  id: 'keyv-map',
  label: 'Keyv + Map',
  durability: 'RAM only',
  persistent: false,
  open: () => keyvWith(),
}

export const keyvFile: KeyvContender = {
  id: 'keyv-file',
  label: 'keyv-file 5',
  durability: 'whole JSON file rewritten 100 ms after a change, no fsync; an awaited set waits for the rewrite',
  persistent: true,
  async open(dir) {
    const { KeyvFile } = await import('keyv-file')
    return keyvWith(new KeyvFile({ filename: join(dir, 'keyv.json') }))
  },
}

export const keyvSqlite: KeyvContender = {
  id: 'keyv-sqlite',
  label: '@keyv/sqlite 4',
  durability: 'SQLite defaults (rollback journal, synchronous=FULL): fsync per set',
  persistent: true,
  async open(dir) {
    const { default: KeyvSqlite } = await import('@keyv/sqlite')
    return keyvWith(new KeyvSqlite({ uri: 'sqlite://' + join(dir, 'keyv.sqlite') }))
  },
}

export const keyvCask: KeyvContender = {
  id: 'keyv-caskdb',
  label: 'KeyvCask (caskdb/keyv)',
  durability: 'caskdb default: no fsync (write handed to the OS)',
  persistent: true,
  async open(dir) {
    const { KeyvCask } = await import('../../adapters/keyv/index.js')
    return keyvWith(new KeyvCask(dir))
  },
}

export const keyvContenders: KeyvContender[] = [keyvMap, keyvFile, keyvSqlite, keyvCask]

export function keyvContender(id: string): KeyvContender {
  const c = keyvContenders.find((x) => x.id === id)
  if (!c) throw new Error(`unknown Keyv contender ${id}`)
  return c
}
