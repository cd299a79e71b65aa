/**
 * The book both engines keep of their tasks (the local one in `engine.ts`
 * and `./cluster`'s in `_cluster/caller.ts`): a task's signal and timeout
 * watched, each task settled exactly once, the done/failed counts, and
 * the waiters of `join()` woken when nothing is outstanding.
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import { setLongTimeout } from "../_common/timer.ts";
import type { TaskSpec } from "./interface.ts";

/** What the ledger needs of an engine's task record. */
export interface Entry {
  /** The task as submitted. */
  readonly spec: TaskSpec;
  /** Set once the task resolved or rejected. */
  settled: boolean;
  /** Stops watching the signal and timeout. */
  cleanup: (() => void) | null;
  /** Resolves the task's promise. */
  resolve(value: unknown): void;
  /** Rejects the task's promise. */
  reject(err: unknown): void;
}

/**
 * Counts and settles one engine's tasks.
 *
 * @typeParam T The engine's task record.
 */
export class Ledger<T extends Entry> {
  /** Tasks that finished with a result. */
  done = 0;
  /** Tasks that failed (threw, lost their worker, timed out, cancelled). */
  failed = 0;
  /** Tasks opened and not settled. */
  outstanding = 0;
  #drained: Array<() => void> = [];
  #stopped: string;
  #cancel: (task: T, reason: unknown) => void;
  #busy: (busy: boolean) => void;

  /**
   * Makes the book.
   *
   * @param stopped What the engine does to a running task it cancels, for
   *   the timeout's message ("its worker was replaced").
   * @param cancel Stops a task whose signal or timeout fired (the ledger
   *   has not settled it).
   * @param busy Called with `true` when a task is opened, `false` when the
   *   last outstanding one settled (to keep the program alive meanwhile).
   */
  constructor(
    stopped: string,
    cancel: (task: T, reason: unknown) => void,
    busy: (busy: boolean) => void,
  ) {
    this.#stopped = stopped;
    this.#cancel = cancel;
    this.#busy = busy;
  }

  /**
   * Counts a new task as outstanding and watches its signal and timeout;
   * one whose signal has already fired rejects at once instead.
   *
   * @param task The new task.
   * @returns `false` when the task was rejected (do not queue it).
   */
  open(task: T): boolean {
    const signal = task.spec.signal;
    if (signal?.aborted) {
      task.settled = true;
      this.failed++;
      task.reject(signal.reason);
      return false;
    }
    task.cleanup = watchTask(
      task.spec,
      this.#stopped,
      (reason) => this.#cancel(task, reason),
    );
    this.outstanding++;
    this.#busy(true);
    return true;
  }

  /**
   * Settles a task once (later calls do nothing).
   *
   * @param task The task.
   * @param ok Whether `value` is a result (else an error).
   * @param value The result or the error.
   * @returns Whether this call settled it.
   */
  settle(task: T, ok: boolean, value: unknown): boolean {
    if (task.settled) return false;
    task.settled = true;
    task.cleanup?.();
    if (ok) {
      this.done++;
      task.resolve(value);
    } else {
      this.failed++;
      task.reject(value);
    }
    if (--this.outstanding === 0) {
      this.#busy(false);
      const waiters = this.#drained;
      this.#drained = [];
      for (const w of waiters) w();
    }
    return true;
  }

  /** Settles once no task is outstanding. */
  async drained(): Promise<void> {
    if (this.outstanding === 0) return;
    await new Promise<void>((resolve) => this.#drained.push(resolve));
  }
}

/**
 * Watches a submitted task's `signal` and `timeout`: the first to fire
 * calls `cancel` with its reason (the signal's, or a `TimeoutError` whose
 * message ends with `stopped`, what the engine did to the running task).
 * A signal that has already fired is the caller's to check first.
 *
 * @returns The cleanup to run once the task settles, or `null` when there
 * is nothing to watch.
 */
function watchTask(
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
