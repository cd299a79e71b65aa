/**
 * A batch of like tasks, and their results, as columns on the wire.
 *
 * A batch crosses to a worker thread as one message, but as an array of
 * task objects it costs per task on both sides: structured clone writes
 * and reads every object's keys, and Deno's `node:worker_threads` walks
 * every object of every message it delivers, looking for ports. With 32
 * tasks of 100 µs a worker, that was a tenth of the map's time
 * (measured: 3.6 ms for two workers' batches as columns, 3.9-4.2 ms as
 * objects). So a batch whose tasks share their function and mode, and
 * carry nothing but plain arguments (or, all of them, a map chunk of
 * numbers packed in shared memory), crosses as three arrays: the ids,
 * every task's arguments one after the other, and how many each has. The
 * results of such tasks come back the same way when they all succeeded.
 * Anything else (kwargs, primitives to revive, packed numbers, errors)
 * crosses as objects.
 *
 * @module
 */

import type {
  DoneColumnsMessage,
  RunColumnsMessage,
  WireResult,
  WireTask,
} from "./protocol.ts";

/**
 * The items of several tasks in one array, one task after the other, and
 * how many each has (`null` while every task has one).
 */
class Spread {
  readonly values: unknown[] = [];
  counts: number[] | null = null;

  /**
   * Adds a task's items.
   *
   * @param i The task's place (tasks are added in order).
   * @param items Its items.
   */
  add(i: number, items: ArrayLike<unknown>): void {
    if (items.length !== 1 && this.counts === null) {
      this.counts = new Array(i).fill(1);
    }
    this.counts?.push(items.length);
    for (let j = 0; j < items.length; j++) this.values.push(items[j]);
  }
}

/** Reads back, task by task, what {@linkcode Spread} put together. */
class Unspread {
  readonly #values: unknown[];
  readonly #counts: number[] | null;
  /** Where each task's items start; `null` while each has one. */
  readonly #starts: number[] | null = null;

  /**
   * @param values The items, one task after the other.
   * @param counts How many each task has; `null`: one each.
   */
  constructor(values: unknown[], counts: number[] | null) {
    this.#values = values;
    this.#counts = counts;
    if (counts !== null) {
      let at = 0;
      this.#starts = counts.map((n) => (at += n) - n);
    }
  }

  /**
   * A task's items, as an array of their own.
   *
   * @param i The task's place.
   * @returns Its items.
   */
  items(i: number): unknown[] {
    const starts = this.#starts;
    return starts === null
      ? [this.#values[i]]
      : this.#values.slice(starts[i], starts[i] + this.#counts![i]);
  }
}

/**
 * The task at place `i` of a batch that crossed as columns.
 *
 * @param m The batch.
 * @param args Its arguments, read back.
 * @param i The task's place.
 * @returns The task, without its function's reference.
 */
function taskAt(m: RunColumnsMessage, args: Unspread, i: number): WireTask {
  return {
    id: m.ids[i],
    fn: m.fn,
    mode: m.mode,
    args: m.packed ? m.args[i] as SharedArrayBuffer : args.items(i),
    shared: false,
  };
}

/**
 * A batch as columns, when its tasks allow it.
 *
 * @param tasks The batch (only the first may carry its function's ref).
 * @returns The message, or `null` for a batch that crosses as objects.
 */
export function toRunColumns(tasks: WireTask[]): RunColumnsMessage | null {
  if (tasks.length < 2) return null;
  const { fn, mode } = tasks[0];
  // Packed chunks (each a SharedArrayBuffer) go one an entry.
  const packed = !Array.isArray(tasks[0].args);
  const ids = new Array<number>(tasks.length);
  const args = new Spread();
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i];
    if (
      t.fn !== fn || t.mode !== mode || t.shared ||
      t.kwargs !== undefined || (i > 0 && t.ref !== undefined) ||
      Array.isArray(t.args) === packed ||
      (packed && !(t.args instanceof SharedArrayBuffer))
    ) {
      return null;
    }
    ids[i] = t.id;
    args.add(i, packed ? [t.args] : t.args as unknown[]);
  }
  const m: RunColumnsMessage = {
    t: "run-columns",
    ids,
    fn,
    mode,
    args: args.values,
    counts: args.counts,
  };
  if (packed) m.packed = true;
  if (tasks[0].ref !== undefined) m.ref = tasks[0].ref;
  return m;
}

/**
 * The tasks of a batch that crossed as columns.
 *
 * @param m The message.
 * @returns The tasks, in order.
 */
export function fromRunColumns(m: RunColumnsMessage): WireTask[] {
  const args = new Unspread(m.args, m.counts);
  const tasks = m.ids.map((_, i) => taskAt(m, args, i));
  if (m.ref !== undefined) tasks[0].ref = m.ref;
  return tasks;
}

/**
 * A shared batch, in the worker: its tasks are taken one at a time, each
 * by the first of the pool's workers to claim its index (see
 * `_pool/share.ts`).
 */
export class ClaimedTasks {
  /** The batch's id, to say when this worker is done with it. */
  readonly id: number;
  readonly #m: RunColumnsMessage;
  readonly #next: Int32Array;
  readonly #args: Unspread;

  /** @param m The batch; its `share` is set. */
  constructor(m: RunColumnsMessage) {
    this.#m = m;
    this.id = m.share!.id;
    this.#next = new Int32Array(m.share!.next);
    this.#args = new Unspread(m.args, m.counts);
  }

  /**
   * Takes the next task no worker has taken. It carries no function
   * reference: the worker keeps the batch's (`ref`) for its function.
   *
   * @returns The task, or `null` once every task is taken.
   */
  take(): WireTask | null {
    const i = Atomics.add(this.#next, 0, 1);
    return i < this.#m.ids.length ? taskAt(this.#m, this.#args, i) : null;
  }
}

/**
 * Results as columns, when every one succeeded with a plain value, and
 * they are all a map chunk's arrays (spread one after the other) or none
 * is.
 *
 * @param results The results.
 * @returns The message, or `null` for results that cross as objects.
 */
export function toDoneColumns(
  results: WireResult[],
): DoneColumnsMessage | null {
  if (results.length < 2) return null;
  const first = results[0];
  if (!first.ok) return null;
  const spread = first.chunk === true;
  const ids = new Array<number>(results.length);
  const values = new Spread();
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (
      !r.ok || r.shared || r.packed || (r.chunk === true) !== spread
    ) {
      return null;
    }
    ids[i] = r.id;
    if (spread) values.add(i, r.value as unknown[]);
    else values.values.push(r.value);
  }
  return {
    t: "done-columns",
    ids,
    values: values.values,
    spread,
    counts: values.counts,
  };
}

/**
 * The results that crossed as columns.
 *
 * @param m The message.
 * @returns The results, in order.
 */
export function fromDoneColumns(m: DoneColumnsMessage): WireResult[] {
  const { ids, values } = m;
  if (!m.spread) {
    return ids.map((id, i): WireResult => ({ id, ok: true, value: values[i] }));
  }
  const chunks = new Unspread(values, m.counts);
  return ids.map((id, i): WireResult => ({
    id,
    ok: true,
    value: chunks.items(i),
    chunk: true,
  }));
}
