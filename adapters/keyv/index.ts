/**
 * caskdb/keyv: Keyv storage adapters on caskdb.
 *
 * - `KeyvCask` (also the default export) is for **Keyv 5** (`keyv@^5.6`), the
 *   major used by cacheable, cache-manager 7 and got.
 * - `KeyvCaskV6` is for **Keyv 6** (`keyv@^6`).
 *
 * Both store the same bytes: a directory written through one can be read
 * through the other. Adapters naming the same directory in one process share
 * one engine, so each Keyv instance can have its own adapter object (and so
 * its own namespace).
 */
export { KeyvCask, createKeyv } from './keyv-cask.js'
export type { CreateKeyvOptions, KeyvCaskOpts, SetManyResult } from './keyv-cask.js'
export { KeyvCaskV6 } from './keyv6.js'
export type { KeyvCaskCapability, KeyvCaskV6Entry, KeyvCaskV6GetResult } from './keyv6.js'
export type { KeyvCaskOptions, LocationOrOptions } from './store.js'
export { KeyvCask as default } from './keyv-cask.js'
