// y-leveldb ships typings its package.json "exports" map does not expose
// (TS7016 under NodeNext); this is the part the tests use.
declare module 'y-leveldb' {
  import type * as Y from 'yjs'

  export class LeveldbPersistence {
    constructor(location: string, options?: { Level?: unknown; levelOptions?: object })
    storeUpdate(docName: string, update: Uint8Array): Promise<number>
    getYDoc(docName: string): Promise<Y.Doc>
    getStateVector(docName: string): Promise<Uint8Array>
    getDiff(docName: string, stateVector: Uint8Array): Promise<Uint8Array>
    flushDocument(docName: string): Promise<void>
    clearDocument(docName: string): Promise<void>
    setMeta(docName: string, metaKey: string, value: unknown): Promise<void>
    getMeta(docName: string, metaKey: string): Promise<unknown>
    delMeta(docName: string, metaKey: string): Promise<void>
    getAllDocNames(): Promise<string[]>
    destroy(): Promise<void>
    clearAll(): Promise<void>
  }
}
