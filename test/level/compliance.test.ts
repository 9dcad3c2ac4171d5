/**
 * The abstract-level compliance suite, all of it (the root pass and the
 * sublevel pass), against CaskLevel with a fresh temporary directory per
 * factory call.
 */
import test from 'tape'
import suite from 'abstract-level/test/index.js'
import { CaskLevel } from '../../adapters/level/index.js'
import { tempPath } from '../helpers/tmp.js'

suite({
  test,
  factory: (options?: Record<string, unknown>) => new CaskLevel(tempPath(), options),
})
