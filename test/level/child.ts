/** Forking the CaskLevel fixture child (test/level/fixtures/child.ts) under tsx. */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CHILD = fileURLToPath(new URL('./fixtures/child.ts', import.meta.url))
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const cp of children) cp.kill('SIGKILL')
})

export interface ChildMessage {
  state: 'open' | 'closed' | 'error' | 'written' | 'crashed'
  code?: string
  causeCode?: string
  held?: string
  message?: string
}

export function forkChild(...args: string[]): ChildProcess {
  const cp = fork(CHILD, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(cp)
  cp.once('exit', () => children.delete(cp))
  return cp
}

/** The child's next message; rejects if it exits first. */
export function nextMessage(cp: ChildProcess): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`child exited (${code ?? signal}) before sending a message`))
    cp.once('exit', onExit)
    cp.once('message', (msg) => {
      cp.off('exit', onExit)
      resolve(msg as ChildMessage)
    })
  })
}

export function exited(cp: ChildProcess): Promise<void> {
  if (cp.exitCode !== null || cp.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => cp.once('exit', () => resolve()))
}

/** Runs a child to completion and returns its first message. */
export async function runChild(...args: string[]): Promise<ChildMessage> {
  const cp = forkChild(...args)
  const msg = await nextMessage(cp)
  await exited(cp)
  return msg
}
