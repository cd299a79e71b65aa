/**
 * `Pool`: a fixed set of worker processes that run tasks, as Python's
 * `multiprocessing.Pool`. This file validates and documents; the
 * scheduling lives in `_pool/engine.ts`.
 *
 * @module
 */

import { checkArgLists, imapChunks, mapChunks, toArray } from "./_pool/map.ts";
import {
  type ApplyOptions,
  type MapOptions,
  mapOptions,
  type PoolFunction,
  type PoolOptions,
  poolSettings,
} from "./_pool/options.ts";
import { PoolTerminatedError, ValueError } from "./errors.ts";
import { TaskMode } from "./_launch/protocol.ts";
import { FunctionCache } from "./_pool/functions.ts";
import { PoolEngine } from "./_pool/engine.ts";
import {
  ENGINE,
  type Engine,
  type PoolStats,
  type TaskSpec,
} from "./_pool/interface.ts";
import { AsyncResult } from "./async_result.ts";
import { timeoutMs } from "./_common/check.ts";
import { cpuCount } from "./process.ts";

export type { PoolStats } from "./_pool/interface.ts";
export { AsyncResult } from "./async_result.ts";
export type { ResourceLimits } from "./_launch/worker_spawn.ts";
export type {
  ApplyOptions,
  MapOptions,
  PoolFunction,
  PoolOptions,
} from "./_pool/options.ts";

/**
 * A pool of worker processes, as Python's `multiprocessing.Pool`. Tasks
 * are spread over the workers; many small tasks travel in batches.
 *
 * Use `await using pool = new Pool()` so the workers end with the block
 * (disposing terminates the pool), or `close()` then `await join()`.
 *
 * @example Map a function over a list
 * ```ts
 * import { Pool } from "@seed/multiprocessing";
 *
 * await using pool = new Pool(2);
 * console.log(await pool.map((n: number) => n * n, [1, 2, 3])); // [1, 4, 9]
 * ```
 */
export class Pool {
  #engine: Engine;
  #size: number;
  #functions: FunctionCache;
  #state: "running" | "closed" | "terminated" = "running";

  /**
   * Starts the workers.
   *
   * @param processes The number of workers, or the options.
   * @param options Initializer, maxtasksperchild, start method, module.
   * @throws {RangeError} When `processes` is not a positive integer.
   * @throws {TypeError} When `permissions` is malformed, given with the
   *   `"worker"` start method, or asks for more than this program has.
   * @throws {Error} When called in a daemon process (pool workers are
   *   daemons) — daemonic processes may not have children.
   */
  constructor(processes?: number | PoolOptions, options: PoolOptions = {}) {
    if (typeof processes === "object" && processes !== null) {
      options = processes;
      processes = options.processes;
    }
    const settings = poolSettings(processes ?? cpuCount(), options);
    this.#size = settings.size;
    this.#functions = new FunctionCache(options.module);
    // `./cluster`'s Pool brings its own engine (see _pool/interface.ts).
    const given = (options as { [ENGINE]?: Engine })[ENGINE];
    this.#engine = given ?? new PoolEngine(settings);
  }

  /** The number of worker processes. */
  get processes(): number {
    return this.#size;
  }

  #checkRunning(action: string): void {
    if (this.#state !== "running") {
      throw new ValueError(
        `Cannot ${action}: the pool is ${this.#state}; make a new Pool`,
      );
    }
    const broken = this.#engine.broken;
    if (broken !== null) throw broken;
  }

  #submit(
    func: unknown,
    mode: TaskMode,
    args: TaskSpec["args"],
    kwargs: Record<string, unknown> | undefined,
    opts: { signal?: AbortSignal; timeout?: number; transfer?: Transferable[] },
  ): Promise<unknown> {
    const fn = this.#functions.get(func);
    timeoutMs(opts.timeout, "run a task", "reject");
    const spec: TaskSpec = {
      fn: fn.ref,
      fnKey: fn.key,
      mode,
      args,
      kwargs,
      signal: opts.signal,
      timeout: opts.timeout,
      transfer: opts.transfer,
      label: fn.label,
    };
    return this.#engine.submit(spec);
  }

  /**
   * Runs `func(...args, kwargs?)` in a worker and gives its result.
   *
   * @param func The function to run.
   * @param args Its arguments.
   * @param kwargs Keyword arguments, passed as a last object argument.
   * @param options Cancellation, timeout, transferables, callbacks.
   * @returns A promise of the result.
   * @throws {ProcessError} When the task threw.
   * @throws {WorkerLostError} When its worker died while running it.
   * @throws {ValueError} When the pool is closed.
   */
  apply<A extends unknown[], R>(
    func: (...args: A) => R,
    args?: readonly [...A] | readonly A[number][],
    kwargs?: undefined,
    options?: ApplyOptions<Awaited<R>>,
  ): Promise<Awaited<R>>;
  /**
   * Runs `func(...args, kwargs)` in a worker and gives its result: `kwargs`
   * is `func`'s last parameter.
   *
   * @param func The function to run.
   * @param args Its arguments.
   * @param kwargs Keyword arguments, passed as a last object argument.
   * @param options Cancellation, timeout, transferables, callbacks.
   * @returns A promise of the result.
   * @throws {ProcessError} When the task threw.
   * @throws {WorkerLostError} When its worker died while running it.
   * @throws {ValueError} When the pool is closed.
   */
  apply<A extends unknown[], K extends object, R>(
    func: (...args: [...A, K]) => R,
    args: readonly [...A] | readonly A[number][],
    kwargs: K,
    options?: ApplyOptions<Awaited<R>>,
  ): Promise<Awaited<R>>;
  /**
   * Runs the function `{ module, name }` names in a worker and gives its
   * result (its arguments cannot be checked here).
   *
   * @param func The function to run.
   * @param args Its arguments.
   * @param kwargs Keyword arguments, passed as a last object argument.
   * @param options Cancellation, timeout, transferables, callbacks.
   * @returns A promise of the result.
   * @throws {ProcessError} When the task threw.
   * @throws {WorkerLostError} When its worker died while running it.
   * @throws {ValueError} When the pool is closed.
   */
  apply<R = unknown>(
    func: { module: string | URL; name: string },
    args?: readonly unknown[],
    kwargs?: Record<string, unknown>,
    options?: ApplyOptions<Awaited<R>>,
  ): Promise<Awaited<R>>;
  apply<R>(
    // The overloads above type the calls; this one only forwards.
    // deno-lint-ignore no-explicit-any
    func: PoolFunction<any>,
    args?: readonly unknown[],
    kwargs?: object,
    options?: ApplyOptions<Awaited<R>>,
  ): Promise<Awaited<R>> {
    return this.applyAsync<R>(
      func as { module: string; name: string },
      args,
      kwargs as Record<string, unknown> | undefined,
      options,
    ).get();
  }

  /**
   * Starts `func(...args, kwargs?)` in a worker; returns at once.
   *
   * @param func The function to run.
   * @param args Its arguments.
   * @param kwargs Keyword arguments, passed as a last object argument.
   * @param options Callbacks, cancellation, timeout, transferables.
   * @returns The task's {@linkcode AsyncResult}.
   */
  applyAsync<A extends unknown[], R>(
    func: (...args: A) => R,
    args?: readonly [...A] | readonly A[number][],
    kwargs?: undefined,
    options?: ApplyOptions<Awaited<R>>,
  ): AsyncResult<Awaited<R>>;
  /**
   * Starts `func(...args, kwargs)` in a worker; returns at once. `kwargs`
   * is `func`'s last parameter.
   *
   * @param func The function to run.
   * @param args Its arguments.
   * @param kwargs Keyword arguments, passed as a last object argument.
   * @param options Callbacks, cancellation, timeout, transferables.
   * @returns The task's {@linkcode AsyncResult}.
   */
  applyAsync<A extends unknown[], K extends object, R>(
    func: (...args: [...A, K]) => R,
    args: readonly [...A] | readonly A[number][],
    kwargs: K,
    options?: ApplyOptions<Awaited<R>>,
  ): AsyncResult<Awaited<R>>;
  /**
   * Starts the function `{ module, name }` names in a worker; returns at
   * once (its arguments cannot be checked here).
   *
   * @param func The function to run.
   * @param args Its arguments.
   * @param kwargs Keyword arguments, passed as a last object argument.
   * @param options Callbacks, cancellation, timeout, transferables.
   * @returns The task's {@linkcode AsyncResult}.
   */
  applyAsync<R = unknown>(
    func: { module: string | URL; name: string },
    args?: readonly unknown[],
    kwargs?: Record<string, unknown>,
    options?: ApplyOptions<Awaited<R>>,
  ): AsyncResult<Awaited<R>>;
  applyAsync<R>(
    // The overloads above type the calls; this one checks at run time.
    // deno-lint-ignore no-explicit-any
    func: PoolFunction<any>,
    args?: readonly unknown[],
    kwargs?: object,
    options: ApplyOptions<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    let promise: Promise<Awaited<R>>;
    try {
      this.#checkRunning("apply a task");
      if (args !== undefined && !Array.isArray(args)) {
        throw new TypeError(
          `Cannot apply a task: 'args' must be an array, got ${typeof args}`,
        );
      }
      promise = this.#submit(
        func,
        TaskMode.Apply,
        args ?? [],
        kwargs as Record<string, unknown> | undefined,
        options,
      ) as Promise<
        Awaited<R>
      >;
    } catch (err) {
      promise = Promise.reject(err);
    }
    return this.#withCallbacks(
      promise,
      options.callback,
      options.errorCallback,
    );
  }

  #withCallbacks<T>(
    promise: Promise<T>,
    callback?: (value: T) => void,
    errorCallback?: (err: unknown) => void,
  ): AsyncResult<T> {
    if (callback !== undefined || errorCallback !== undefined) {
      promise.then(callback, errorCallback).catch((err) => {
        // A throwing callback must not become an unhandled rejection
        // that ends the program; report it as Python reports it.
        console.error("Error in a pool callback:", err);
      });
    }
    // The caller may never await an AsyncResult; a failed task must not
    // then end the program as an unhandled rejection.
    promise.catch(() => {});
    return new AsyncResult(promise);
  }

  /**
   * Applies `func` to every item, in parallel; results in input order.
   *
   * @param func The function, called with one item.
   * @param iterable The items.
   * @param options A `chunksize`, or the map options.
   * @returns A promise of the results.
   * @throws {ProcessError} When a call threw (the first failure).
   */
  map<T, R>(
    func: PoolFunction<[T], R>,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    return this.mapAsync(func, iterable, options).get();
  }

  /**
   * Starts a `map`; returns at once.
   *
   * @param func The function, called with one item.
   * @param iterable The items.
   * @param options A `chunksize`, or the map options.
   * @param callbacks Called with the results array or the first error.
   * @returns An {@linkcode AsyncResult} of the results.
   */
  mapAsync<T, R>(
    func: PoolFunction<[T], R>,
    iterable: Iterable<T>,
    options?: number | MapOptions,
    callbacks: Pick<ApplyOptions<Awaited<R>[]>, "callback" | "errorCallback"> =
      {},
  ): AsyncResult<Awaited<R>[]> {
    return this.#withCallbacks(
      this.#mapAll(func, iterable, options, TaskMode.Map) as Promise<
        Awaited<R>[]
      >,
      callbacks.callback,
      callbacks.errorCallback,
    );
  }

  /**
   * Like `map`, but each item is an argument list: `func(...item)`.
   *
   * @param func The function.
   * @param iterable Argument lists.
   * @param options A `chunksize`, or the map options.
   * @returns A promise of the results, in input order.
   */
  starmap<A extends unknown[], R>(
    func: PoolFunction<A, R>,
    iterable: Iterable<A>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    return this.starmapAsync(func, iterable, options).get();
  }

  /**
   * Starts a `starmap`; returns at once.
   *
   * @param func The function.
   * @param iterable Argument lists.
   * @param options A `chunksize`, or the map options.
   * @param callbacks Called with the results array or the first error.
   * @returns An {@linkcode AsyncResult} of the results.
   */
  starmapAsync<A extends unknown[], R>(
    func: PoolFunction<A, R>,
    iterable: Iterable<A>,
    options?: number | MapOptions,
    callbacks: Pick<ApplyOptions<Awaited<R>[]>, "callback" | "errorCallback"> =
      {},
  ): AsyncResult<Awaited<R>[]> {
    return this.#withCallbacks(
      this.#mapAll(func, iterable, options, TaskMode.Starmap) as Promise<
        Awaited<R>[]
      >,
      callbacks.callback,
      callbacks.errorCallback,
    );
  }

  async #mapAll(
    func: unknown,
    iterable: Iterable<unknown>,
    options: number | MapOptions | undefined,
    mode: TaskMode,
  ): Promise<unknown[]> {
    this.#checkRunning("map");
    const opts = mapOptions(options, "map");
    const items = toArray(iterable, "map");
    if (items.length === 0) return [];
    if (mode === TaskMode.Starmap) checkArgLists(items);
    return await mapChunks(
      (chunk, o) => this.#submit(func, mode, chunk, undefined, o),
      items,
      opts,
      opts.chunksize ?? Math.ceil(items.length / (this.#size * 4)),
      mode === TaskMode.Starmap ? "starmap" : "map",
    );
  }

  /**
   * Like `map`, but yields results one at a time, in input order, as they
   * become ready; items may come from an async iterable.
   *
   * @param func The function, called with one item.
   * @param iterable The items (sync or async iterable).
   * @param options A `chunksize` (default 1), or the map options.
   * @returns An async iterator of the results.
   * @throws {ProcessError} At the position of a task that threw.
   * @throws {unknown} What the input iterable threw, once the results of
   *   the items read before it are yielded (as Python).
   */
  imap<T, R>(
    func: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: number | MapOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#imap(func, iterable, options, true) as AsyncIterableIterator<
      Awaited<R>
    >;
  }

  /**
   * Like `imap`, but yields results as they complete, in any order.
   *
   * @param func The function, called with one item.
   * @param iterable The items (sync or async iterable).
   * @param options A `chunksize` (default 1), or the map options.
   * @returns An async iterator of the results.
   * @throws {unknown} What the input iterable threw, once the results of
   *   the items read before it are yielded.
   */
  imapUnordered<T, R>(
    func: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: number | MapOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#imap(func, iterable, options, false) as AsyncIterableIterator<
      Awaited<R>
    >;
  }

  async *#imap(
    func: unknown,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options: number | MapOptions | undefined,
    ordered: boolean,
  ): AsyncGenerator<unknown> {
    this.#checkRunning("imap");
    const opts = mapOptions(options, "imap");
    if (
      iterable === null ||
      (typeof (iterable as Iterable<unknown>)[Symbol.iterator] !== "function" &&
        typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] !==
          "function")
    ) {
      throw new TypeError(
        `Cannot imap: expected an iterable, got ${
          iterable === null ? "null" : typeof iterable
        }`,
      );
    }
    yield* imapChunks(
      (chunk, o) => this.#submit(func, TaskMode.Map, chunk, undefined, o),
      iterable,
      opts,
      // Enough chunks in flight to keep every worker busy.
      Math.max(4 * this.#size, 8),
      ordered,
    );
  }

  /**
   * Number and state of tasks and workers (beyond Python).
   *
   * @returns Queued, running, done and failed tasks, and live workers.
   */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** Accepts no more tasks; workers exit once the queued tasks are done. */
  close(): void {
    if (this.#state === "running") this.#state = "closed";
    this.#engine.close();
  }

  /**
   * Stops every worker now. Tasks not finished reject with
   * `PoolTerminatedError`.
   */
  terminate(): void {
    this.#state = "terminated";
    this.#engine.terminate(
      new PoolTerminatedError(
        "Cannot finish the task: the pool was terminated",
      ),
    );
  }

  /**
   * Waits for the workers to exit. Call `close()` or `terminate()` first.
   *
   * @returns A promise that settles when every worker has exited.
   * @throws {ValueError} When the pool is still running (rejects).
   */
  async join(): Promise<void> {
    if (this.#state === "running") {
      throw new ValueError(
        "Cannot join the pool: it is still running; call close() or terminate() first",
      );
    }
    await this.#engine.join();
  }

  /** Terminates the pool and waits for its workers (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.terminate();
    await this.#engine.join();
  }
}
