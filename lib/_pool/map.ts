/**
 * The map family of `Pool` (`map`, `starmap`, `imap`, `imapUnordered`):
 * cutting the input in chunks, submitting them, putting the results back
 * together, and the progress report. `pool.ts` checks that the pool runs
 * and submits each chunk; this file does the rest.
 *
 * @module
 */

import type { MapOptions } from "./options.ts";
import { packNumbers } from "../_common/columns.ts";
import { ProgressBar, type ProgressOutcome } from "./progress.ts";

/**
 * Submits one chunk of a map call (its items, or a `Float64Array` when they
 * are all numbers); settles with the chunk's results.
 */
type SubmitChunk = (
  chunk: unknown[] | Float64Array<SharedArrayBuffer>,
  opts: { signal?: AbortSignal; timeout?: number },
) => Promise<unknown>;

/** A chunk's results: an array, or a `Float64Array` of numbers. */
type ChunkResults = ArrayLike<unknown> & Iterable<unknown>;

/**
 * Runs a `map` or `starmap` over items already checked: every chunk at
 * once; the first failure fails the call and stops the rest.
 *
 * @param submit Submits a chunk.
 * @param items The items.
 * @param opts The call's options, checked.
 * @param chunksize Items per chunk.
 * @param label The method's name, for the progress bar.
 * @returns The results, in input order.
 */
export async function mapChunks(
  submit: SubmitChunk,
  items: unknown[],
  opts: MapOptions,
  chunksize: number,
  label: string,
): Promise<unknown[]> {
  const total = items.length;
  let done = 0;
  const bar = startProgress(opts, label, total);
  const report = progressReporter(opts.onProgress, bar);
  const chunks: Promise<void>[] = [];
  // One failure fails the call: stop the rest instead of running on.
  const inner = new AbortController();
  const signal = opts.signal === undefined
    ? inner.signal
    : AbortSignal.any([opts.signal, inner.signal]);
  const chunkOpts = {
    signal: opts.signal === undefined && opts.timeout === undefined
      ? undefined
      : signal,
    timeout: opts.timeout,
  };
  // Each chunk's results go into place as they come, so that a chunk's
  // copy is let go before the last one arrives.
  const out: unknown[] = total > chunksize ? new Array(total) : [];
  for (let i = 0; i < total; i += chunksize) {
    const end = Math.min(i + chunksize, total);
    const chunk = packNumbers(items, i, end) ?? items.slice(i, end);
    chunks.push(
      submit(chunk, chunkOpts).then((results) => {
        place(out, results as ChunkResults, i);
        report?.(done += end - i, total);
      }),
    );
  }
  try {
    await Promise.all(chunks);
    bar?.end("done");
    return out;
  } catch (err) {
    bar?.end(opts.signal?.aborted ? "cancelled" : "failed");
    inner.abort(err);
    for (const c of chunks) c.catch(() => {});
    throw err;
  }
}

/**
 * Copies a chunk's results into the map's results.
 *
 * @param out The map's results.
 * @param results The chunk's.
 * @param at Where the chunk starts.
 */
function place(out: unknown[], results: ChunkResults, at: number): void {
  for (let i = 0; i < results.length; i++) out[at + i] = results[i];
}

/** A chunk of an `imap` in flight. */
interface Flight {
  p: Promise<ChunkResults>;
  n: number;
  id: number;
}

/**
 * Reads an `imap`'s input (sync or async) chunk by chunk and keeps up to
 * `window` chunks in flight: enough to keep every worker busy, without
 * reading an endless iterable into memory.
 */
class ChunkFeeder {
  /** Chunks submitted and not yet handed out, in input order. */
  readonly flights: Flight[] = [];
  /** The input has ended (or threw). */
  exhausted = false;
  /** What the input threw, raised once the results before it are out. */
  inputError: { error: unknown } | null = null;
  /** Items submitted so far. */
  submitted = 0;
  #source: AsyncGenerator<unknown>;
  #submit: SubmitChunk;
  #opts: MapOptions;
  #chunksize: number;
  #window: number;
  #nextId = 0;

  constructor(
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    submit: SubmitChunk,
    opts: MapOptions,
    window: number,
  ) {
    this.#source = (async function* () {
      yield* iterable as AsyncIterable<unknown>;
    })();
    this.#submit = submit;
    this.#opts = opts;
    this.#chunksize = opts.chunksize ?? 1;
    this.#window = window;
  }

  /** Submits chunks until the window is full or the input ends. */
  async fill(): Promise<void> {
    while (!this.exhausted && this.flights.length < this.#window) {
      const chunk = await this.#read();
      if (chunk.length === 0) break;
      this.submitted += chunk.length;
      const p = this.#submit(
        packNumbers(chunk, 0, chunk.length) ?? chunk,
        this.#opts,
      ) as Promise<ChunkResults>;
      p.catch(() => {});
      this.flights.push({ p, n: chunk.length, id: this.#nextId++ });
    }
  }

  async #read(): Promise<unknown[]> {
    const chunk: unknown[] = [];
    while (chunk.length < this.#chunksize) {
      let r: IteratorResult<unknown>;
      try {
        r = await this.#source.next();
      } catch (error) {
        // As Python: what was read before the failure still runs.
        this.inputError = { error };
        r = { done: true, value: undefined };
      }
      if (r.done) {
        this.exhausted = true;
        break;
      }
      chunk.push(r.value);
    }
    return chunk;
  }

  /**
   * The next chunk to hand out: the oldest (`ordered`), else the first
   * to settle.
   */
  async next(ordered: boolean): Promise<Flight> {
    if (ordered) return this.flights.shift()!;
    const id = await Promise.race(
      this.flights.map((e) => e.p.then(() => e.id, () => e.id)),
    );
    const i = this.flights.findIndex((e) => e.id === id);
    return this.flights.splice(i, 1)[0];
  }

  /** Stops reading the input. */
  async close(): Promise<void> {
    await this.#source.return(undefined);
  }
}

/**
 * Runs an `imap` or `imapUnordered` over an input already checked.
 *
 * @param submit Submits a chunk.
 * @param iterable The items.
 * @param opts The call's options, checked.
 * @param window Chunks to keep in flight.
 * @param ordered Whether results come in input order.
 * @returns The results, one at a time.
 */
export async function* imapChunks(
  submit: SubmitChunk,
  iterable: Iterable<unknown> | AsyncIterable<unknown>,
  opts: MapOptions,
  window: number,
  ordered: boolean,
): AsyncGenerator<unknown> {
  const feeder = new ChunkFeeder(iterable, submit, opts, window);
  let done = 0;
  const bar = startProgress(opts, ordered ? "imap" : "imapUnordered");
  const report = progressReporter(opts.onProgress, bar);
  // What the bar's final line says if the loop below does not finish:
  // the consumer stopped early (cancelled) unless an error is caught.
  let outcome: ProgressOutcome = "cancelled";
  try {
    await feeder.fill();
    while (feeder.flights.length > 0) {
      const entry = await feeder.next(ordered);
      const values = await entry.p;
      done += entry.n;
      report?.(done, feeder.exhausted ? feeder.submitted : undefined);
      // Refill before yielding so workers stay busy while the consumer
      // handles this result.
      await feeder.fill();
      yield* values;
    }
    if (feeder.inputError !== null) throw feeder.inputError.error;
    outcome = "done";
  } catch (err) {
    if (!opts.signal?.aborted) outcome = "failed";
    throw err;
  } finally {
    bar?.end(outcome);
    await feeder.close();
  }
}

/**
 * The items of a `map` call as an array.
 *
 * @param iterable What the caller passed.
 * @param what The call, for messages.
 * @returns The items.
 * @throws {TypeError} When it is not a (sync) iterable.
 */
export function toArray(iterable: Iterable<unknown>, what: string): unknown[] {
  if (Array.isArray(iterable)) return iterable;
  if (
    iterable === null || iterable === undefined ||
    typeof (iterable as Iterable<unknown>)[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(
      `Cannot ${what}: expected an iterable, got ${
        iterable === null ? "null" : typeof iterable
      }; for async iterables use imap()`,
    );
  }
  return Array.from(iterable);
}

/**
 * Checks that every item of a `starmap` is an argument list.
 *
 * @param items The items.
 * @throws {TypeError} Naming the first that is not an array.
 */
export function checkArgLists(items: unknown[]): void {
  for (let i = 0; i < items.length; i++) {
    if (!Array.isArray(items[i])) {
      throw new TypeError(
        `Cannot starmap: item ${i} must be an array of arguments, got ${typeof items[
          i
        ]}`,
      );
    }
  }
}

/**
 * The bar a map call draws, when its options ask for one. `label` is the
 * method's name unless `progress` is a label of the caller's.
 */
function startProgress(
  opts: MapOptions,
  label: string,
  total?: number,
): ProgressBar | undefined {
  if (opts.progress === undefined || opts.progress === false) return;
  return new ProgressBar(
    typeof opts.progress === "string" ? opts.progress : label,
    total,
  );
}

/** One callback that feeds both `onProgress` and the bar. */
function progressReporter(
  onProgress: MapOptions["onProgress"],
  bar: ProgressBar | undefined,
): ((done: number, total: number | undefined) => void) | undefined {
  if (bar === undefined) return onProgress;
  return (done, total) => {
    bar.update(done, total);
    onProgress?.(done, total);
  };
}
