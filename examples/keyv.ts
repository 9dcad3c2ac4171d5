/**
 * A persistent cache with Keyv 5 on caskdb: TTLs, namespaces, bulk calls,
 * iteration, and expired entries actually leaving the disk.
 *
 * Run: node --import tsx examples/keyv.ts
 * (In an app that installed caskdb, the import is `from 'caskdb/keyv'`;
 * with Keyv 6, use `KeyvCaskV6` instead of `KeyvCask`.)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Keyv from 'keyv'
import { KeyvCask, createKeyv } from '../adapters/keyv/index.js'

const location = mkdtempSync(join(tmpdir(), 'caskdb-keyv-example-'))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

try {
  // One adapter object per Keyv instance; both name the same directory and share one engine.
  // clearExpiredInterval: sweep expired entries off the disk every 200 ms, even if never read.
  const users = new Keyv({
    store: new KeyvCask({ location, clearExpiredInterval: 200 }),
    namespace: 'users',
    ttl: 60 * 60_000, // default ttl: one hour
  })
  const sessions = createKeyv(location, { namespace: 'sessions' })

  await users.set('ada', { name: 'Ada Lovelace', langs: ['analytical engine'] })
  await sessions.set('ada', 'token-123', 100) // a session that lasts 100 ms
  await sessions.setMany([
    { key: 'grace', value: 'token-456' }, // no ttl
    { key: 'edsger', value: 'token-789', ttl: 100 },
  ])

  console.log('users/ada    =', await users.get('ada'))
  console.log('sessions/ada =', await sessions.get('ada'), '(same key, other namespace)')
  console.log('sessions     =', await sessions.getMany(['ada', 'grace', 'edsger']))

  await sleep(150)
  console.log('after 150 ms:')
  console.log('  sessions/ada  =', await sessions.get('ada'), '(expired)')
  console.log('  has edsger?   ', await sessions.has('edsger'))
  const live: string[] = []
  for await (const [key] of sessions.iterator!(undefined)) live.push(String(key))
  console.log('  live sessions:', live)

  // Clearing a namespace is a range delete: other namespaces are untouched.
  await sessions.clear()
  console.log('after sessions.clear(): users/ada =', (await users.get('ada'))?.name)

  // The sweep wrote tombstones for the expired sessions; compaction drops them from disk.
  await sleep(250)
  const db = await (users.store as KeyvCask).getEngine()
  const { bytesBefore, bytesAfter } = await db.compact()
  const stats = db.stats()
  console.log(`expired entries purged by the sweep: ${stats.expiredPurged}; disk ${bytesBefore} -> ${bytesAfter} bytes; keys left: ${stats.keys}`)

  await users.disconnect()
  await sessions.disconnect() // the last disconnect closes the engine

  // Everything acknowledged is on disk: a new process (here: a new adapter) sees it.
  const again = new Keyv({ store: new KeyvCask(location), namespace: 'users' })
  console.log('after reopen: users/ada =', (await again.get('ada'))?.name)
  await again.disconnect()
} finally {
  rmSync(location, { recursive: true, force: true })
}
