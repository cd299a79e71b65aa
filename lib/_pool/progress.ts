/**
 * The progress bar of the map family (`{ progress: true }`): one line on
 * stderr, redrawn at most every {@linkcode REDRAW_MS} ms, with done/total,
 * percent, rate and ETA; a final line when the map ends, fails or is
 * cancelled. When stderr is not a terminal (CI, a pipe) nothing is drawn
 * but the final line, so logs get one line per map instead of hundreds.
 *
 * Written by hand rather than with `@std/fmt`: the core module has no
 * runtime dependencies (SPEC), and the formatting is a few lines.
 *
 * @module
 */

/** Shortest time between two redraws, in milliseconds (~10 per second). */
const REDRAW_MS = 100;

/** Where a bar draws: stderr, or a test's stand-in. */
export interface ProgressSink {
  /** Whether the sink is a terminal (redraws in place) or a log. */
  readonly isTerminal: boolean;
  /** The terminal's width in columns. */
  columns(): number;
  /** Writes text as it is. */
  write(text: string): void;
}

/** How a map ended, for its final line. */
export type ProgressOutcome = "done" | "failed" | "cancelled";

const encoder = new TextEncoder();

/** The process's stderr as a {@linkcode ProgressSink}. */
function stderrSink(): ProgressSink {
  const isTerminal = Deno.stderr.isTerminal();
  return {
    isTerminal,
    columns() {
      // A pseudo-terminal that was never sized reports 0 columns.
      try {
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
    write(text) {
      const bytes = encoder.encode(text);
      let off = 0;
      while (off < bytes.length) {
        off += Deno.stderr.writeSync(bytes.subarray(off));
      }
    },
  };
}

/**
 * A progress line for one map call.
 *
 * `total` is `undefined` while unknown (an `imap` over an iterator that
 * has not ended yet): the line then shows a count and a rate.
 */
export class ProgressBar {
  #label: string;
  #sink: ProgressSink;
  #start = performance.now();
  #lastDraw = -Infinity;
  #done = 0;
  #total: number | undefined;
  #trailing: ReturnType<typeof setTimeout> | undefined;
  #ended = false;

  /**
   * @param label Shown first on the line ("map", or the caller's label).
   * @param total Items in all, when known.
   * @param sink Where to draw (stderr by default).
   */
  constructor(
    label: string,
    total: number | undefined,
    sink: ProgressSink = stderrSink(),
  ) {
    this.#label = label;
    this.#total = total;
    this.#sink = sink;
    this.update(0, total);
  }

  /**
   * Records progress; redraws when the last draw is old enough, else
   * schedules one trailing redraw so the line never stays stale.
   */
  update(done: number, total: number | undefined): void {
    if (this.#ended) return;
    this.#done = done;
    this.#total = total;
    if (!this.#sink.isTerminal) return;
    const now = performance.now();
    if (now - this.#lastDraw >= REDRAW_MS) {
      this.#draw(now);
    } else if (this.#trailing === undefined) {
      const timer = setTimeout(() => {
        this.#trailing = undefined;
        if (!this.#ended) this.#draw(performance.now());
      }, REDRAW_MS - (now - this.#lastDraw));
      // A bar must never keep the program alive on its own.
      Deno.unrefTimer(timer);
      this.#trailing = timer;
    }
  }

  /**
   * Ends the bar: a terminal's line is replaced by the final one, a log
   * gets the final line alone. Later calls do nothing.
   */
  end(outcome: ProgressOutcome): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#trailing);
    const line = this.#finalLine(performance.now(), outcome);
    this.#sink.write(
      this.#sink.isTerminal ? `\r${line}\x1b[K\n` : `${line}\n`,
    );
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    const width = Math.max(20, this.#sink.columns() - 1);
    const line = this.#line(now, width);
    this.#sink.write(`\r${line.slice(0, width)}\x1b[K`);
  }

  #line(now: number, width: number): string {
    const seconds = (now - this.#start) / 1000;
    const rate = seconds > 0 ? this.#done / seconds : 0;
    const total = this.#total;
    if (total === undefined) {
      return `${this.#label} ${this.#done} done  ${formatRate(rate)}  ${
        formatClock(seconds)
      } elapsed`;
    }
    const fraction = total === 0 ? 1 : Math.min(1, this.#done / total);
    const eta = rate > 0 ? (total - this.#done) / rate : undefined;
    const tail = ` ${this.#done}/${total}  ${formatRate(rate)}  ETA ${
      eta === undefined ? "--:--" : formatClock(eta)
    }`;
    const head = `${this.#label} ${formatPercent(fraction)} `;
    const barWidth = Math.min(30, width - head.length - tail.length - 2);
    const bar = barWidth >= 5 ? `|${drawBar(fraction, barWidth)}|` : "";
    return head + bar + tail;
  }

  #finalLine(now: number, outcome: ProgressOutcome): string {
    const seconds = (now - this.#start) / 1000;
    const rate = seconds > 0 ? this.#done / seconds : 0;
    const count = this.#total === undefined
      ? `${this.#done}`
      : `${this.#done}/${this.#total}`;
    return `${this.#label} ${count} ${outcome} in ${formatClock(seconds)} (${
      formatRate(rate)
    })`;
  }
}

/** `0.4567` → `" 45%"`: fixed width so the line does not jitter. */
function formatPercent(fraction: number): string {
  return `${Math.floor(fraction * 100)}%`.padStart(4);
}

/** Items per second: `"950 it/s"`, `"12.3k it/s"`, `"4.1M it/s"`. */
export function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(1)}M it/s`;
  if (rate >= 1e4) return `${(rate / 1e3).toFixed(1)}k it/s`;
  if (rate >= 10) return `${Math.round(rate)} it/s`;
  return `${rate.toFixed(1)} it/s`;
}

/** Seconds as `m:ss`, or `h:mm:ss` from an hour on. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** A bar of `width` cells, filled to `fraction` in eighths of a cell. */
export function drawBar(fraction: number, width: number): string {
  const eighths = Math.round(fraction * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part === 0 ? "" : " ▏▎▍▌▋▊▉"[part];
  return ("█".repeat(full) + partial).padEnd(width, " ");
}
