/**
 * The abstract-level compliance suite, all of it (the root pass and the
 * sublevel pass), against CaskLevel with a fresh temporary directory per
 * factory call. Then once more with the engine in write-buffer mode
 * (acknowledged from RAM, flushed in batches, plus background fsync), whose
 * reads go through buffered values.
 */
import test from 'tape'
import suite from 'abstract-level/test/index.js'
import { CaskLevel } from '../../adapters/level/index.js'
import type { CaskLevelOpenOptions } from '../../adapters/level/index.js'
import { tempPath } from '../helpers/tmp.js'

suite({
  test,
  factory: (options?: Record<string, unknown>) => new CaskLevel(tempPath(), options),
})

/** Engine options added inside _open, so the suite's checks of open() options see only its own. */
class WriteBufferedLevel extends CaskLevel {
  override async _open(options: CaskLevelOpenOptions & Record<string, unknown>): Promise<void> {
    return super._open({ ...options, writeBuffer: true, flushInterval: 20, syncInterval: 50 })
  }
}

test('--- the compliance suite again, engine in writeBuffer mode ---', (t) => t.end())

suite({
  test,
  factory: (options?: Record<string, unknown>) => new WriteBufferedLevel(tempPath(), options),
})
