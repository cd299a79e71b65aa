/**
 * `AsyncResult`: the handle `Pool.applyAsync` and the `*Async` map calls
 * return, as Python's. Public; re-exported by `pool.ts`.
 *
 * @module
 */

import { TimeoutError, ValueError } from "./errors.ts";
import { timeoutMs } from "./_common/check.ts";
import { settlesWithin } from "./_common/timer.ts";

/**
 * The handle of a task started with `applyAsync` or `mapAsync`, as
 * Python's `AsyncResult`. It is also awaitable: `await result` gives the
 * value or throws the task's error.
 *
 * @typeParam T The result's type.
 *
 * @example Usage
 * ```ts
 * import { Pool } from "@seed/multiprocessing";
 *
 * await using pool = new Pool(1);
 * const r = pool.applyAsync((a: number, b: number) => a + b, [2, 3]);
 * console.log(await r.get(5)); // 5
 * console.log(r.ready(), r.successful()); // true true
 * ```
 */
export class AsyncResult<T> implements PromiseLike<T> {
  #promise: Promise<T>;
  #state: "pending" | "ok" | "failed" = "pending";

  /**
   * Wraps a promise (made by the pool).
   *
   * @param promise The task's promise.
   */
  constructor(promise: Promise<T>) {
    this.#promise = promise;
    promise.then(
      () => (this.#state = "ok"),
      () => (this.#state = "failed"),
    );
  }

  /**
   * The result, waiting at most `timeout` seconds.
   *
   * @param timeout Seconds; no limit when omitted.
   * @returns The task's result.
   * @throws {TimeoutError} When the result is not ready in time (the task
   *   keeps running).
   * @throws {ProcessError} When the task threw.
   */
  async get(timeout?: number): Promise<T> {
    const ms = timeoutMs(timeout, "get the result");
    if (await settlesWithin(this.#promise, ms)) return await this.#promise;
    throw new TimeoutError(
      `Cannot get the result: it was not ready within ${timeout}s; the task is still running`,
    );
  }

  /**
   * Waits until the result is ready or `timeout` seconds pass; never
   * throws the task's error.
   *
   * @param timeout Seconds; no limit when omitted.
   */
  async wait(timeout?: number): Promise<void> {
    try {
      await this.get(timeout);
    } catch {
      // wait() only waits; get() reports.
    }
  }

  /**
   * Whether the task has finished (either way).
   *
   * @returns `true` once finished.
   */
  ready(): boolean {
    return this.#state !== "pending";
  }

  /**
   * Whether the task finished without throwing.
   *
   * @returns `true` when it succeeded.
   * @throws {ValueError} When the task has not finished yet.
   */
  successful(): boolean {
    if (this.#state === "pending") {
      throw new ValueError(
        "Cannot tell whether the task succeeded: it has not finished; await it or call wait() first",
      );
    }
    return this.#state === "ok";
  }

  /**
   * Makes the result awaitable.
   *
   * @param onfulfilled Called with the result.
   * @param onrejected Called with the error.
   * @returns A promise of what the callback returns.
   */
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onfulfilled, onrejected);
  }
}
