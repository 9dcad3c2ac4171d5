/**
 * The ordered key-value contenders behind one small interface. Each worker
 * process loads exactly one of them, so every call site stays monomorphic.
 * Keys are 16-byte strings, values Buffers.
 */
import type { BatchOperation } from '../../src/db.js'

export type LevelContenderId = 'classic-level' | 'memory-level' | 'lmdb' | 'caskdb' | 'caskdb-level'

export interface PutOp {
  type: 'put'
  key: string
  value: Buffer
}

export interface Store {
  /** Resolves once the write is acknowledged in the store's default durability mode. */
  put(key: string, value: Buffer): Promise<unknown>
  /** Resolves once the write is durable (fsync / fdatasync, or a synced commit). */
  putDurable(key: string, value: Buffer): Promise<unknown>
  get(key: string): Promise<Buffer | undefined>
  getSync(key: string): Buffer | undefined
  batch(ops: PutOp[]): Promise<unknown>
  /** Reads every entry (keys and values) in order; returns the count. */
  iterateAll(): Promise<number>
  /** Reads up to `limit` entries from `gte` on; returns the count. */
  scan(gte: string, limit: number): Promise<number>
  /** Full compaction, where the store has one. */
  compact?(): Promise<void>
  /** Engine statistics (caskdb contenders only). */
  stats?(): Promise<{ cacheBytes: number; backgroundTasks?: number }>
  close(): Promise<void>
}

export interface LevelContender {
  id: LevelContenderId
  label: string
  /** Durability of an acknowledged `put` in the default mode. */
  durability: string
  /** Durability of `putDurable`. */
  durableMode: string
  persistent: boolean
  /** `options`: engine options, honoured by the caskdb contenders only (experiments, profiling). */
  open(dir: string, options?: Record<string, unknown>): Promise<Store>
}

/** The shared part of abstract-level databases (classic-level, memory-level, CaskLevel). */
interface LevelLike {
  open(): Promise<void>
  put(key: string, value: Buffer, options?: { sync?: boolean }): Promise<void>
  get(key: string): Promise<Buffer | undefined>
  getSync(key: string): Buffer | undefined
  batch(ops: PutOp[]): Promise<void>
  iterator(options?: { gte?: string; limit?: number }): { nextv(size: number): Promise<unknown[]>; close(): Promise<void> }
  close(): Promise<void>
}

async function drain(it: { nextv(size: number): Promise<unknown[]>; close(): unknown }, step: number): Promise<number> {
  let n = 0
  try {
    for (;;) {
      const entries = await it.nextv(step)
      if (entries.length === 0) break
      n += entries.length
    }
  } finally {
    await it.close()
  }
  return n
}

function levelStore(db: LevelLike, compact?: () => Promise<void>): Store {
  const durable = { sync: true }
  const store: Store = {
    put: (key, value) => db.put(key, value),
    putDurable: (key, value) => db.put(key, value, durable),
    get: (key) => db.get(key),
    getSync: (key) => db.getSync(key),
    batch: (ops) => db.batch(ops),
    iterateAll: () => drain(db.iterator(), 1000),
    scan: (gte, limit) => drain(db.iterator({ gte, limit }), limit),
    close: () => db.close(),
  }
  if (compact) store.compact = compact
  return store
}

export const classicLevel: LevelContender = {
  id: 'classic-level',
  label: 'classic-level 3',
  durability: 'default: no fsync (write reaches the OS; survives a process crash)',
  durableMode: 'sync: true (fsync per write)',
  persistent: true,
  async open(dir) {
    const { ClassicLevel } = await import('classic-level')
    const db = new ClassicLevel<string, Buffer>(dir, { valueEncoding: 'buffer' })
    await db.open()
    return levelStore(db as unknown as LevelLike, () => db.compactRange('\u0000', '\uffff'))
  },
}

export const memoryLevel: LevelContender = {
  id: 'memory-level',
  label: 'memory-level 3',
  durability: 'RAM only (no persistence)',
  durableMode: 'n/a',
  persistent: false,
  async open() {
    const { MemoryLevel } = await import('memory-level')
    const db = new MemoryLevel<string, Buffer>({ valueEncoding: 'buffer' })
    await db.open()
    return levelStore(db as unknown as LevelLike)
  },
}

export const lmdb: LevelContender = {
  id: 'lmdb',
  label: 'lmdb 3 (native API)',
  durability: 'default: awaited put waits for its synced commit',
  durableMode: 'default (synced commit)',
  persistent: true,
  async open(dir) {
    const { open } = await import('lmdb')
    const db = open<Buffer, string>({ path: dir, encoding: 'binary', compression: false })
    const get = (key: string): Buffer | undefined => db.get(key)
    return {
      put: (key, value) => db.put(key, value),
      putDurable: (key, value) => db.put(key, value),
      // lmdb-js reads synchronously; the async form awaits that.
      get: async (key) => get(key),
      getSync: get,
      batch: (ops) =>
        db.batch(() => {
          for (let i = 0; i < ops.length; i++) void db.put(ops[i]!.key, ops[i]!.value)
        }),
      async iterateAll() {
        let n = 0
        for (const entry of db.getRange()) if (entry.value !== undefined) n++
        return n
      },
      async scan(gte, limit) {
        let n = 0
        for (const entry of db.getRange({ start: gte, limit })) if (entry.value !== undefined) n++
        return n
      },
      close: () => db.close(),
    }
  },
}

export const caskdb: LevelContender = {
  id: 'caskdb',
  label: 'caskdb (raw engine)',
  durability: 'default: no fsync (write handed to the OS; survives a process crash)',
  durableMode: 'sync: true (fdatasync, group commit)',
  persistent: true,
  async open(dir, options) {
    const { CaskDB } = await import('../../src/index.js')
    const db = await CaskDB.open(dir, options)
    const durable = { sync: true }
    return {
      put: (key, value) => db.put(key, value),
      putDurable: (key, value) => db.put(key, value, durable),
      get: (key) => db.get(key),
      getSync: (key) => db.getSync(key),
      batch: (ops) => db.batch(ops as BatchOperation[]),
      iterateAll: () => drain(db.iterator(), 1000),
      scan: (gte, limit) => drain(db.iterator({ gte, limit }), limit),
      compact: async () => {
        await db.compact()
      },
      stats: async () => db.stats(),
      close: () => db.close(),
    }
  },
}

export const caskdbLevel: LevelContender = {
  id: 'caskdb-level',
  label: 'caskdb/level (CaskLevel)',
  durability: 'default: no fsync (write handed to the OS; survives a process crash)',
  durableMode: 'sync: true (fdatasync, group commit)',
  persistent: true,
  async open(dir, options) {
    const { CaskLevel } = await loadCaskLevel()
    const db = new CaskLevel<string, Buffer>(dir, { ...options, valueEncoding: 'buffer' })
    await db.open()
    const store = levelStore(db as unknown as LevelLike, async () => {
      await db.compact()
    })
    store.stats = () => db.stats()
    return store
  },
}

/** The adapter may not exist yet in a tree this bench runs on: the caller skips it then. */
export async function loadCaskLevel(): Promise<typeof import('../../adapters/level/index.js')> {
  return import('../../adapters/level/index.js')
}

export const levelContenders: LevelContender[] = [classicLevel, memoryLevel, lmdb, caskdb, caskdbLevel]

export function levelContender(id: string): LevelContender {
  const c = levelContenders.find((x) => x.id === id)
  if (!c) throw new Error(`unknown contender ${id}`)
  return c
}
