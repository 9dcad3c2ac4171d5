/**
 * Runs background jobs (sealing, compaction, backups) one at a time, so they
 * never race each other over the same files.
 */
export class TaskQueue {
  #tail: Promise<unknown> = Promise.resolve()
  #pending = 0

  run<T>(task: () => Promise<T>): Promise<T> {
    this.#pending++
    const result = this.#tail.then(task)
    this.#tail = result.then(
      () => this.#pending--,
      () => this.#pending--,
    )
    return result
  }

  get pending(): number {
    return this.#pending
  }

  /** Resolves once every job queued so far has finished (successfully or not). */
  async idle(): Promise<void> {
    while (this.#pending > 0) await this.#tail
  }
}
