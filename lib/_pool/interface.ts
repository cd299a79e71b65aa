/**
 * The engine interface: what `Pool` (the public class in `pool.ts`, which
 * validates, documents and orders results) needs from whatever runs its
 * tasks. `engine.ts` is the local implementation (worker threads or
 * `deno` children); `./cluster`'s broker engine (`_cluster/caller.ts`) is
 * the other. Its `Pool` extends the core `Pool` and passes its engine
 * under {@linkcode ENGINE} in the options, so the whole public surface
 * (map family, `AsyncResult`, close/join/terminate, validation, messages)
 * is the core's own. The core never imports the cluster code.
 *
 * How the calls map to the engine's duties:
 *
 * - submit: {@linkcode Engine.submit}, one task; its promise is the
 *   task's only event (result or failure).
 * - cancel: through the task's own `signal` and `timeout`
 *   ({@linkcode TaskSpec}), which the engine watches (see `ledger.ts`).
 * - close, terminate, join: the pool's lifecycle.
 * - stats, broken: what `Pool.stats()` and every later call report.
 *
 * @module
 */

import type { FunctionRef, TaskMode } from "../_launch/protocol.ts";

/** A task as `Pool` submits it to an engine. */
export interface TaskSpec {
  /** The function. */
  fn: FunctionRef;
  /** A key that identifies `fn` (same function, same key). */
  fnKey: number;
  /** How to apply it. */
  mode: TaskMode;
  /**
   * Arguments, or the chunk of items: an array made for this task alone,
   * with nothing but its items, or a map chunk of numbers packed in a
   * `Float64Array` (`_common/columns.ts`).
   */
  args: unknown[] | Float64Array<SharedArrayBuffer>;
  /** Keyword arguments. */
  kwargs?: Record<string, unknown>;
  /** Stops the task. */
  signal?: AbortSignal;
  /** Seconds from submission after which the task fails. */
  timeout?: number;
  /** Objects to transfer with the arguments. */
  transfer?: Transferable[];
  /** The function's name, for messages. */
  label: string;
}

/** Counts of `Pool.stats()`. */
export interface PoolStats {
  /** Tasks waiting for a worker. */
  queued: number;
  /** Tasks sent to a worker and not finished. */
  running: number;
  /** Tasks that finished with a result. */
  done: number;
  /** Tasks that failed (threw, lost their worker, timed out, cancelled). */
  failed: number;
  /** Live workers. */
  workers: number;
  /**
   * Workers taken out of service (a task's timeout or signal, `close()`,
   * `terminate()`, `maxtasksperchild`) whose threads have not ended yet.
   * A worker thread busy in synchronous code cannot be stopped (Deno does
   * not interrupt it): it stays here, replaced, until its code returns to
   * its event loop. Not counted in `workers`.
   */
  stopping: number;
}

/** What `Pool` needs from an engine. */
export interface Engine {
  /**
   * Queues a task. The promise settles with its outcome (a map chunk's:
   * its results, as an array or, when they are all numbers, a
   * `Float64Array`); the task's `signal` and `timeout` cancel it.
   */
  submit(spec: TaskSpec): Promise<unknown>;
  /** Counts for `Pool.stats()`. */
  stats(): PoolStats;
  /** No more tasks; the queued ones still run. */
  close(): void;
  /** Ends everything now; unfinished tasks reject with `err`. */
  terminate(err: Error): void;
  /** Settles once every task settled and everything stopped. */
  join(): Promise<void>;
  /** Set when the engine cannot run tasks any more. */
  readonly broken: Error | null;
}

/** The options key under which a subclass of `Pool` passes its engine. */
export const ENGINE: unique symbol = Symbol("mp.pool.engine");
