/**
 * A one-line progress bar with rate and ETA, drawn on stderr only when it is
 * a terminal. When it is not (a pipe, a file, CI), nothing is written, so
 * output stays nothing but results.
 */

export interface ProgressStream {
  isTTY?: boolean
  columns?: number
  write(chunk: string): boolean
}

export interface ProgressOptions {
  /** What is being done, e.g. "verify". */
  label: string
  /** Expected amount of work, if known: shows a bar, a percentage and an ETA. */
  total?: number | undefined
  /** `bytes` prints sizes (MiB); anything else is a noun for counted items ("keys"). */
  unit: string
  stream: ProgressStream
  /** Draw at all: defaults to `stream.isTTY`. */
  enabled?: boolean
  /** Clock in ms (tests inject one). */
  now?: () => number
  /** Minimum ms between redraws. @defaultValue 100 */
  interval?: number
  /** Redraw on a timer too, so rate and ETA move while a single step is slow. @defaultValue true */
  ticker?: boolean
}

export class Progress {
  readonly enabled: boolean
  readonly #options: ProgressOptions
  readonly #now: () => number
  readonly #start: number
  #done = 0
  #total: number | undefined
  #lastDraw = -Infinity
  #drawn = false
  #finished = false
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(options: ProgressOptions) {
    this.#options = options
    this.enabled = options.enabled ?? options.stream.isTTY === true
    this.#now = options.now ?? (() => performance.now())
    this.#start = this.#now()
    this.#total = options.total
    if (this.enabled && options.ticker !== false) {
      this.#timer = setInterval(() => this.#draw(true), 250)
      this.#timer.unref()
    }
  }

  get done(): number {
    return this.#done
  }

  setTotal(total: number | undefined): void {
    this.#total = total
  }

  add(n: number): void {
    this.#done += n
    this.#draw(false)
  }

  set(done: number): void {
    this.#done = done
    this.#draw(false)
  }

  /** Erases the bar (results follow on stdout); idempotent. */
  finish(): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    if (this.enabled && this.#drawn) this.#options.stream.write('\r\x1b[K')
  }

  /** The text of the bar as of now, without control characters. */
  line(): string {
    const { label, unit } = this.#options
    const elapsed = Math.max(1, this.#now() - this.#start) / 1000
    const rate = this.#done / elapsed
    const amount = (n: number) => (unit === 'bytes' ? formatBytes(n) : `${formatCount(n)}`)
    const rateText = unit === 'bytes' ? `${formatBytes(rate)}/s` : `${formatCount(Math.round(rate))} ${unit}/s`
    const total = this.#total
    if (total === undefined || total <= 0) {
      return `${label}  ${amount(this.#done)}${unit === 'bytes' ? '' : ` ${unit}`}  ${rateText}  ${formatDuration(elapsed)}`
    }
    const fraction = Math.min(1, this.#done / total)
    const width = 24
    const filled = Math.round(fraction * width)
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled)
    const eta = rate > 0 && this.#done < total ? formatDuration((total - this.#done) / rate) : fraction >= 1 ? '0s' : '--'
    const pct = `${Math.floor(fraction * 100)}%`.padStart(4)
    return `${label} ${bar} ${pct}  ${amount(Math.min(this.#done, total))}/${amount(total)}${unit === 'bytes' ? '' : ` ${unit}`}  ${rateText}  ETA ${eta}`
  }

  #draw(force: boolean): void {
    if (!this.enabled || this.#finished) return
    const now = this.#now()
    if (!force && now - this.#lastDraw < (this.#options.interval ?? 100)) return
    this.#lastDraw = now
    const columns = this.#options.stream.columns || 80
    let text = this.line()
    if (text.length > columns - 1) text = text.slice(0, Math.max(0, columns - 1))
    this.#options.stream.write(`\r${text}\x1b[K`)
    this.#drawn = true
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let i = 0
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024
    i++
  }
  return i === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[i]}`
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
