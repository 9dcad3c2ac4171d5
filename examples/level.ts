/**
 * A small inventory app written against classic-level, switched to caskdb by
 * changing one import line. Everything below that line is plain
 * abstract-level code: JSON values, sublevels, atomic batches, range
 * iteration, snapshots, getMany, clear.
 *
 * Run: node --import tsx examples/level.ts
 * (In an app that installed caskdb, the import is `from 'caskdb/level'`.)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// import { ClassicLevel as Level } from 'classic-level'
import { CaskLevel as Level } from '../adapters/level/index.js'

interface Item {
  name: string
  price: number
  stock: number
}

const dir = mkdtempSync(join(tmpdir(), 'level-example-'))
const location = join(dir, 'inventory')

async function main(): Promise<void> {
  const db = new Level<string, Item | string>(location, { valueEncoding: 'json' })
  const items = db.sublevel<string, Item>('items', { valueEncoding: 'json' })
  const log = db.sublevel<string, string>('log', { valueEncoding: 'utf8' })

  // One atomic batch across two sublevels.
  await db.batch([
    { type: 'put', sublevel: items, key: 'apple', value: { name: 'Apple', price: 0.5, stock: 120 } },
    { type: 'put', sublevel: items, key: 'banana', value: { name: 'Banana', price: 0.25, stock: 80 } },
    { type: 'put', sublevel: items, key: 'cherry', value: { name: 'Cherry', price: 3, stock: 15 } },
    { type: 'put', sublevel: items, key: 'damson', value: { name: 'Damson', price: 2, stock: 0 } },
    { type: 'put', sublevel: log, key: new Date(0).toISOString(), value: 'stocked four items' },
  ])

  console.log('banana:', await items.get('banana'))
  console.log('missing:', await items.get('elderberry'))

  // A point-in-time view, then a sale.
  const before = db.snapshot()
  const apple = (await items.get('apple'))!
  await items.batch()
    .put('apple', { ...apple, stock: apple.stock - 20 })
    .del('damson')
    .write()
  await log.put(new Date(1).toISOString(), 'sold 20 apples, dropped damson')

  console.log('apple stock now:', (await items.get('apple'))?.stock)
  console.log('apple stock in the snapshot:', (await items.get('apple', { snapshot: before }))?.stock)
  await before.close()

  // Range iteration in key order.
  console.log('items a..c:')
  for await (const [key, item] of items.iterator({ gte: 'a', lt: 'c' })) {
    console.log(`  ${key}: ${item.stock} × ${item.price.toFixed(2)}`)
  }
  const values = await items.getMany(['apple', 'cherry', 'damson'])
  console.log('getMany:', values.map((v) => v?.name ?? '(none)').join(', '))
  console.log('log:', await log.values().all())

  await log.clear()
  console.log('log after clear:', await log.keys().all())
  await db.close()

  // Reopen: the data is on disk.
  const reopened = new Level<string, Item>(location, { valueEncoding: 'json' })
  const count = (await reopened.sublevel('items').keys().all()).length
  console.log('items after reopen:', count)
  await reopened.close()
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }))
