/**
 * How `./cluster` gives `Pool` another engine: its broker-backed `Pool`
 * extends the core `Pool` and passes an engine under
 * {@linkcode ENGINE} in the options, so the whole public surface (map
 * family, `AsyncResult`, close/join/terminate, validation, messages) is
 * the core's own. The core never imports the cluster code.
 *
 * @module
 */

import type { PoolStats, TaskSpec } from "./_pool_engine.ts";

/** What `Pool` needs from an engine. */
export interface Engine {
  /** Queues a task; the promise settles with its outcome. */
  submit(spec: TaskSpec): Promise<unknown>;
  /** Counts for `Pool.stats()`. */
  stats(): PoolStats;
  /** No more tasks. */
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
