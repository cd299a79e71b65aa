/**
 * `Pool`: a fixed set of worker processes that run tasks, as Python's
 * `multiprocessing.Pool`. This file validates and documents; the
 * scheduling lives in `_pool/engine.ts`.
 *
 * @module
 */

import { ProgressBar, type ProgressOutcome } from "./_pool/progress.ts";
import { TimeoutError, ValueError } from "./errors.ts";
import { type FunctionRef, TaskMode } from "./_launch/protocol.ts";
import { PoolEngine, type PoolStats, type TaskSpec } from "./_pool/engine.ts";
import { ENGINE, type Engine } from "./_pool/hook.ts";
import { checkNotBootstrapping, self } from "./_common/self.ts";
import { moduleUrl, toFunctionRef } from "./_launch/shipping.ts";
import { mainModuleUrl } from "./_common/runtime.ts";
import { checkPermissions } from "./_launch/permissions.ts";
import { checkStartMethod, type StartMethod } from "./_common/start_method.ts";
import { describe, integerIn, timeoutMs } from "./_common/check.ts";
import { settlesWithin } from "./_common/timer.ts";
import {
  checkResourceLimits,
  type ResourceLimits,
} from "./_launch/worker_spawn.ts";
import { cpuCount } from "./process.ts";

export type { PoolStats } from "./_pool/engine.ts";
export type { ResourceLimits } from "./_launch/worker_spawn.ts";

/**
 * The most workers a pool may have. Python sets no limit, but every
 * worker is a thread with its own V8 heap (tens of MiB) or a `deno`
 * child: far fewer than this already exhaust a machine, and a typo such
 * as `Pool(1e9)` should fail at the call.
 */
const MAX_PROCESSES = 1024;

/**
 * A function a pool can run: exported from the main module or `module`
 * (loaded by reference), self-contained (shipped by source), or
 * `{ module, name }`.
 */
// deno-lint-ignore no-explicit-any
export type PoolFunction<A extends any[] = any[], R = unknown> =
  | ((...args: A) => R)
  | { module: string | URL; name: string };

/** Options of {@linkcode Pool}. */
export interface PoolOptions {
  /**
   * Number of worker processes.
   *
   * @default {cpuCount()}
   */
  processes?: number;
  /** Runs once in every worker before its first task. */
  initializer?: PoolFunction;
  /**
   * Arguments of `initializer`.
   *
   * @default {[]}
   */
  initargs?: readonly unknown[];
  /**
   * Tasks a worker runs before it is replaced by a fresh one (frees
   * memory a task leaks). A chunk of a map counts as one task.
   *
   * @default {no limit}
   */
  maxtasksperchild?: number | null;
  /**
   * How workers are started.
   *
   * @default {"worker"}
   */
  startMethod?: StartMethod;
  /** A module to look functions up in (by identity) before the main module. */
  module?: string | URL;
  /** Memory limits of each worker; a worker over them is replaced. */
  resourceLimits?: ResourceLimits;
  /**
   * Each worker's Deno permissions (`"subprocess"` start method only), in
   * the shape of a Deno `Worker`'s: `"inherit"`, `"none"`, or an object
   * such as `{ read: ["./data"], net: false }` whose omitted fields are
   * `false`. Untrusted tasks then run sandboxed: a denied access rejects
   * the task with a `ProcessError` named `NotCapable`; the pool goes on.
   *
   * @default {"inherit" (the permissions this program was granted in full)}
   */
  permissions?: Deno.PermissionOptions;
}

/** Per-call options of `apply` and `applyAsync`. */
export interface ApplyOptions<R = unknown> {
  /** Called with the result when the task succeeds. */
  callback?: (result: R) => void;
  /** Called with the error when the task fails. */
  errorCallback?: (error: unknown) => void;
  /**
   * Cancels the task: a queued task is dropped; a running one is stopped
   * by replacing its worker. The task rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /**
   * Seconds, counted from the call, after which the task rejects with
   * `TimeoutError` (a running task's worker is replaced).
   */
  timeout?: number;
  /** Objects (ArrayBuffers, ports) moved to the worker, not copied. */
  transfer?: Transferable[];
}

/** Options of the map family (the third parameter, or a `chunksize`). */
export interface MapOptions {
  /**
   * Items sent to a worker per task.
   *
   * @default {map: ceil(items / (4 × processes)); imap: 1}
   */
  chunksize?: number;
  /** Cancels every task of the call (see {@linkcode ApplyOptions.signal}). */
  signal?: AbortSignal;
  /** Seconds, counted from the call, for each of its tasks. */
  timeout?: number;
  /**
   * Called as items finish, with how many are done out of how many.
   * `total` is `undefined` while it is not known: an `imap` over an
   * iterator that has not ended yet.
   */
  onProgress?: (done: number, total: number | undefined) => void;
  /**
   * Draws a progress bar on stderr: `true`, or a label to start the line
   * with. On a terminal it is one line, redrawn at most ~10 times a second
   * with done/total, percent, rate and ETA, and replaced by a final line
   * when the call ends, fails or is cancelled. When stderr is not a
   * terminal (CI, a pipe), only the final line is written.
   *
   * @default {false}
   */
  progress?: boolean | string;
}

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
  #module: string | URL | undefined;
  #fnKeys = new Map<
    unknown,
    { key: number; ref: FunctionRef; label: string }
  >();
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
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot make a pool: options must be an object, got ${
          describe(options)
        }`,
      );
    }
    const size = integerIn(
      processes ?? cpuCount(),
      "processes",
      "make a pool",
      1,
      MAX_PROCESSES,
      " (each worker is a thread or process with its own heap)",
    );
    const max = options.maxtasksperchild ?? null;
    if (max !== null) {
      integerIn(max, "maxtasksperchild", "make a pool", 1);
    }
    checkResourceLimits(options.resourceLimits, "make a pool");
    const startMethod = checkStartMethod(options.startMethod, "make a pool");
    checkPermissions(options.permissions, startMethod, "make a pool");
    checkNotBootstrapping("make a pool");
    if (self.daemon) {
      throw new Error(
        "Cannot make a pool: daemonic processes are not allowed to have children",
      );
    }
    this.#size = size;
    this.#module = options.module;
    const initializer = options.initializer === undefined
      ? null
      : toFunctionRef(options.initializer, options.module, "initializer");
    // `./cluster`'s Pool brings its own engine (see _pool_hook.ts).
    const given = (options as { [ENGINE]?: Engine })[ENGINE];
    this.#engine = given ?? new PoolEngine({
      size,
      initializer,
      initargs: [...(options.initargs ?? [])],
      maxTasksPerChild: max,
      resourceLimits: options.resourceLimits,
      startMethod,
      permissions: options.permissions,
      modules: [
        ...(options.module === undefined ? [] : [moduleUrl(options.module)]),
        mainModuleUrl(),
        ...(initializer?.modules ?? []),
      ],
    });
  }

  /** The number of worker processes. */
  get processes(): number {
    return this.#size;
  }

  #fn(func: unknown): { key: number; ref: FunctionRef; label: string } {
    const id = typeof func === "function"
      ? func
      : func !== null && typeof func === "object"
      ? `${String((func as { module?: unknown }).module)}#${
        String((func as { name?: unknown }).name)
      }`
      : func;
    let hit = this.#fnKeys.get(id);
    if (hit === undefined) {
      const ref = toFunctionRef(func, this.#module, "task function");
      hit = { key: this.#fnKeys.size + 1, ref, label: ref.name || "anonymous" };
      this.#fnKeys.set(id, hit);
    }
    return hit;
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
    args: unknown[],
    kwargs: Record<string, unknown> | undefined,
    opts: { signal?: AbortSignal; timeout?: number; transfer?: Transferable[] },
  ): Promise<unknown> {
    const fn = this.#fn(func);
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
    let chunksize = opts.chunksize;
    if (chunksize === undefined) {
      chunksize = Math.ceil(items.length / (this.#size * 4));
    }
    const total = items.length;
    let done = 0;
    const bar = startProgress(
      opts,
      mode === TaskMode.Starmap ? "starmap" : "map",
      total,
    );
    const report = progressReporter(opts.onProgress, bar);
    const chunks: Promise<unknown>[] = [];
    // One failure fails the call: stop the rest instead of running on.
    const inner = new AbortController();
    const signal = opts.signal === undefined
      ? inner.signal
      : AbortSignal.any([opts.signal, inner.signal]);
    for (let i = 0; i < total; i += chunksize) {
      const chunk = items.slice(i, i + chunksize);
      const p = this.#submit(func, mode, chunk, undefined, {
        signal: opts.signal === undefined && opts.timeout === undefined
          ? undefined
          : signal,
        timeout: opts.timeout,
      });
      if (report !== undefined) {
        const n = chunk.length;
        p.then(() => report(done += n, total), () => {});
      }
      chunks.push(p);
    }
    try {
      const parts = (await Promise.all(chunks)) as unknown[][];
      bar?.end("done");
      return parts.length === 1 ? parts[0] : parts.flat(1);
    } catch (err) {
      bar?.end(opts.signal?.aborted ? "cancelled" : "failed");
      inner.abort(err);
      for (const c of chunks) c.catch(() => {});
      throw err;
    }
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
    const chunksize = opts.chunksize ?? 1;
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
    // Enough chunks in flight to keep every worker busy, without reading
    // an endless iterable into memory.
    const window = Math.max(4 * this.#size, 8);
    const source = (async function* () {
      yield* iterable as AsyncIterable<unknown>;
    })();
    type Pending = { p: Promise<unknown[]>; n: number; id: number };
    const pending: Pending[] = [];
    let exhausted = false;
    /** What the input threw, raised once the results before it are out. */
    let inputError = null as { error: unknown } | null;
    let submitted = 0;
    let done = 0;
    let nextId = 0;
    const bar = startProgress(opts, ordered ? "imap" : "imapUnordered");
    const report = progressReporter(opts.onProgress, bar);
    // What the bar's final line says if the loop below does not finish:
    // the consumer stopped early (cancelled) unless an error is caught.
    let outcome: ProgressOutcome = "cancelled";
    const fill = async () => {
      while (!exhausted && pending.length < window) {
        const chunk: unknown[] = [];
        while (chunk.length < chunksize) {
          let r: IteratorResult<unknown>;
          try {
            r = await source.next();
          } catch (error) {
            // As Python: what was read before the failure still runs.
            inputError = { error };
            r = { done: true, value: undefined };
          }
          if (r.done) {
            exhausted = true;
            break;
          }
          chunk.push(r.value);
        }
        if (chunk.length === 0) break;
        submitted += chunk.length;
        const p = this.#submit(
          func,
          TaskMode.Map,
          chunk,
          undefined,
          opts,
        ) as Promise<unknown[]>;
        p.catch(() => {});
        pending.push({ p, n: chunk.length, id: nextId++ });
      }
    };
    try {
      await fill();
      while (pending.length > 0) {
        let entry: Pending;
        if (ordered) {
          entry = pending.shift()!;
        } else {
          const id = await Promise.race(
            pending.map((e) => e.p.then(() => e.id, () => e.id)),
          );
          const i = pending.findIndex((e) => e.id === id);
          entry = pending.splice(i, 1)[0];
        }
        const values = await entry.p;
        done += entry.n;
        report?.(done, exhausted ? submitted : undefined);
        // Refill before yielding so workers stay busy while the consumer
        // handles this result.
        await fill();
        yield* values;
      }
      if (inputError !== null) throw inputError.error;
      outcome = "done";
    } catch (err) {
      if (!opts.signal?.aborted) outcome = "failed";
      throw err;
    } finally {
      bar?.end(outcome);
      await source.return(undefined);
    }
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
   * Stops every worker now. Tasks not finished reject with an error that
   * says the pool was terminated.
   */
  terminate(): void {
    this.#state = "terminated";
    this.#engine.terminate(
      new Error("Cannot finish the task: the pool was terminated"),
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

function mapOptions(
  options: number | MapOptions | undefined,
  what: string,
): MapOptions {
  const opts: MapOptions = typeof options === "number"
    ? { chunksize: options }
    : options ?? {};
  if (
    opts.chunksize !== undefined &&
    (!Number.isInteger(opts.chunksize) || opts.chunksize < 1)
  ) {
    throw new RangeError(
      `Cannot ${what}: 'chunksize' must be a positive integer, got ${
        String(opts.chunksize)
      }`,
    );
  }
  timeoutMs(opts.timeout, what, "reject");
  if (
    opts.progress !== undefined && typeof opts.progress !== "boolean" &&
    typeof opts.progress !== "string"
  ) {
    throw new TypeError(
      `Cannot ${what}: 'progress' must be a boolean or a label string, got ${typeof opts
        .progress}`,
    );
  }
  return opts;
}

function toArray(iterable: Iterable<unknown>, what: string): unknown[] {
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

function checkArgLists(items: unknown[]): void {
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
