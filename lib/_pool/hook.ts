/**
 * How `./cluster` gives `Pool` another engine: its broker-backed `Pool`
 * extends the core `Pool` and passes an engine under
 * {@linkcode ENGINE} in the options, so the whole public surface (map
 * family, `AsyncResult`, close/join/terminate, validation, messages) is
 * the core's own. The core never imports the cluster code.
 *
 * @module
 */

import type { PoolStats, TaskSpec } from "./engine.ts";
import { TimeoutError } from "../errors.ts";
import { setLongTimeout } from "../_common/timer.ts";

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

/**
 * Watches a submitted task's `signal` and `timeout` for an engine: the
 * first to fire calls `cancel` with its reason (the signal's, or a
 * `TimeoutError` whose message ends with `stopped`, what the engine did to
 * the running task). A signal that has already fired is the engine's to
 * check before queueing the task.
 *
 * @returns The cleanup to run once the task settles, or `null` when there
 * is nothing to watch.
 */
export function watchTask(
  spec: Pick<TaskSpec, "signal" | "timeout" | "label">,
  stopped: string,
  cancel: (reason: unknown) => void,
): (() => void) | null {
  const { signal, timeout } = spec;
  if (signal === undefined && timeout === undefined) return null;
  const onAbort = () => cancel(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  // Any length, Infinity included (see `_common/timer.ts`).
  const timer = setLongTimeout(() => {
    cancel(
      new TimeoutError(
        `Cannot finish task '${spec.label}': it did not finish within ${timeout}s; ${stopped}`,
      ),
    );
  }, (timeout ?? Infinity) * 1000);
  return () => {
    signal?.removeEventListener("abort", onAbort);
    timer.clear();
  };
}
