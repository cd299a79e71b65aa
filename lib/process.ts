/**
 * `Process`: run a function in another process (a worker thread with its
 * own isolate and heap, by default), as Python's
 * `multiprocessing.Process`.
 *
 * @module
 */

import { threadId } from "node:worker_threads";
import { ValueError } from "./errors.ts";
import type { FunctionRef, ProcessInit } from "./_launch/protocol.ts";
import {
  childRuntime,
  currentKey,
  isAlive as keyAlive,
  markDead,
  requestStop,
} from "./_common/runtime.ts";
import {
  checkNotBootstrapping,
  kAsChildSelf,
  self,
  selfAsParent,
} from "./_common/self.ts";
import { toFunctionRef } from "./_launch/shipping.ts";
import { encodeShared } from "./_common/transfer.ts";
import { waitSync } from "./_shm/wait.ts";
import { deadlineFrom, settlesWithin } from "./_common/timer.ts";
import {
  describe,
  optionalBoolean,
  optionalString,
  timeoutMs,
} from "./_common/check.ts";
import { checkPermissions } from "./_launch/permissions.ts";
import { launch, type Launched, type ProcessThread } from "./_launch/launch.ts";
import { checkStartMethod, type StartMethod } from "./_common/start_method.ts";

/**
 * The arguments `args` takes for a `target` with parameters `A`: all of
 * them, or all but the last when `kwargs` carries the last one. An array
 * that is not a tuple (`const args = [lock, queue, 5]`) is taken when each
 * element fits some parameter: its length is checked when the process
 * starts, not here.
 *
 * @typeParam A The target's parameter list.
 */
export type ProcessArgs<A extends unknown[]> =
  | (A extends [...infer P, unknown] ? readonly [...A] | readonly [...P]
    : readonly [...A])
  | readonly A[number][];

/**
 * What `kwargs` may be for a `target` with parameters `A`: its last
 * parameter.
 *
 * @typeParam A The target's parameter list.
 */
export type ProcessKwargs<A extends unknown[]> = A extends
  [...unknown[], infer K] ? K : Record<string, unknown>;

/**
 * Options of {@linkcode Process}.
 *
 * @typeParam A The target's parameter list: `args` and `kwargs` are
 * checked against it (inferred from `target`).
 */
// deno-lint-ignore no-explicit-any
export interface ProcessOptions<A extends unknown[] = any[]> {
  /**
   * The function to run: exported from the main module or from `module`
   * (loaded by reference), a self-contained function (shipped by its
   * source), or `{ module, name }`.
   */
  target?: ((...args: A) => unknown) | {
    module: string | URL;
    name: string;
  };
  /**
   * Positional arguments for `target` (structured-cloned; this module's
   * primitives arrive working).
   *
   * @default {[]}
   */
  args?: NoInfer<ProcessArgs<A>>;
  /** Keyword arguments, passed to `target` as a last object argument. */
  kwargs?: NoInfer<ProcessKwargs<A>>;
  /**
   * The process's name.
   *
   * @default {"Process-N"}
   */
  name?: string;
  /**
   * Whether the process is a daemon: it does not keep the program alive
   * and ends when the main module finishes; it may not start children.
   *
   * @default {false (inherited from the creating process)}
   */
  daemon?: boolean;
  /**
   * How the process is started.
   *
   * @default {the context's method, "worker" unless changed}
   */
  startMethod?: StartMethod;
  /** A module to look `target` up in (by identity) before the main module. */
  module?: string | URL;
  /**
   * The child's Deno permissions (`"subprocess"` start method only), in
   * the shape of a Deno `Worker`'s: `"inherit"`, `"none"`, or an object
   * such as `{ read: ["./data"], net: false }` whose omitted fields are
   * `false`. A child cannot get more than this program has. A denied
   * access throws in the child (`NotCapable`).
   *
   * @default {"inherit" (the permissions this program was granted in full)}
   */
  permissions?: Deno.PermissionOptions;
}

/** What `[kAsChildSelf]` makes the process object from. */
interface ChildSetup {
  name: string;
  daemon: boolean;
  // deno-lint-ignore no-explicit-any
  target: ((...args: any[]) => unknown) | undefined;
  args: unknown[];
  kwargs: Record<string, unknown> | undefined;
}

let counter = 0;
const children = new Set<Process>();

/**
 * How long (ms) a worker thread asked to stop may take before a warning
 * says it cannot be stopped. One blocked in a library wait ends within a
 * 10 ms slice plus its exit (about 10 ms); this leaves room for a loaded
 * machine.
 */
const STOP_WARNING_MS = 300;

/**
 * A process: runs `target(...args, kwargs?)` (or an overridden `run()`) in
 * its own worker, with its own memory. Mirrors Python's
 * `multiprocessing.Process`.
 *
 * With the default `"worker"` start method each process is a worker
 * thread (its own V8 isolate and heap, a real OS thread): `pid` is the
 * program's OS pid, shared by all its workers, and `ident` is the
 * worker's thread id. With `startMethod: "subprocess"` each process is a
 * `deno` OS child (`Deno.Command`): its own pid (`pid` = `ident`), crash
 * isolation, real signals for `terminate()`/`kill()`, its own Deno
 * `permissions`, and its output on this program's stdout and stderr.
 *
 * @example Start a process and wait for it
 * ```ts
 * import { Process } from "@seed/multiprocessing";
 *
 * const p = new Process({
 *   target: (who: string) => console.log(`hello, ${who}`),
 *   args: ["world"],
 * });
 * p.start();
 * await p.join();
 * console.log(p.exitCode); // 0
 * ```
 */
// deno-lint-ignore no-explicit-any
export class Process<A extends unknown[] = any[]> {
  #name: string;
  #daemon: boolean;
  #target: ProcessOptions["target"];
  #args: unknown[];
  #kwargs: Record<string, unknown> | undefined;
  #module: string | URL | undefined;
  #startMethod: StartMethod = "worker";
  #permissions: Deno.PermissionOptions | undefined;
  #pid: number | null = null;
  #state: "initial" | "started" | "ended" | "closed" = "initial";
  #isSelf = false;
  /** The started process; `undefined` once its exit was reported. */
  #launched: Launched | undefined;
  /** How `joinSync` sees a `"subprocess"` child's end. */
  #exitWatch: Launched["exitWatch"] = null;
  #shared: Int32Array | undefined;
  #key = 0;
  #exitCode: number | null = null;
  #signalCode: number | null = null;
  #ident: number | null = null;
  #ended: Promise<void>;
  #resolveEnded!: () => void;
  /** Whether this parent has recorded the end (`#recordEnd`). */
  #endRecorded = false;
  /** Settles on the "exit" event, when the worker's resources are gone. */
  #released: Promise<void> = Promise.resolve();
  /** Set once a worker thread was asked to stop (see `#stopWorker`). */
  #stopping = false;

  /** Set only while `[kAsChildSelf]` runs the constructor. */
  static #selfSetup: ChildSetup | undefined;

  /**
   * Makes the `Process` object that stands for this process inside a
   * child (`_launch/run_process.ts`), or for the root program
   * (`currentProcess()`). Internal.
   *
   * @param cls `Process` or the subclass that was started.
   * @param setup The child's name, daemon flag, target and arguments.
   * @returns The process object whose `run()` the child calls.
   */
  static [kAsChildSelf](cls: typeof Process, setup: ChildSetup): Process {
    Process.#selfSetup = setup;
    try {
      // Runs Process's constructor (which sets up its private state) with
      // the subclass's prototype, without the subclass's own constructor,
      // whose parameters the child does not know; its fields are copied
      // after.
      currentSelf = Reflect.construct(Process, [], cls) as Process;
    } finally {
      Process.#selfSetup = undefined;
    }
    return currentSelf;
  }

  /**
   * Makes a process; `start()` runs it.
   *
   * @param options The target, its arguments, name, daemon flag and start method.
   * @throws {TypeError} When an option has the wrong type.
   */
  constructor(options: ProcessOptions<A> = {}) {
    this.#ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    const setup = Process.#selfSetup;
    if (setup !== undefined) {
      this.#isSelf = true;
      this.#state = "started";
      this.#name = setup.name;
      this.#daemon = setup.daemon;
      this.#target = setup.target;
      this.#args = setup.args;
      this.#kwargs = setup.kwargs;
      // The main thread of a "subprocess" child is a process of its own:
      // its ident is its pid, as in Python.
      this.#ident = threadId === 0 && self.parent !== null
        ? Deno.pid
        : threadId;
      this.#key = currentKey();
      return;
    }
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot make a process: options must be an object, got ${
          describe(options)
        }`,
      );
    }
    const {
      target,
      args = [],
      kwargs,
      name,
      daemon,
      startMethod,
      module,
      permissions,
    } = options;
    if (
      target !== undefined && typeof target !== "function" &&
      (target === null || typeof target !== "object")
    ) {
      throw new TypeError(
        `Cannot make a process: 'target' must be a function or { module, name }, got ${typeof target}`,
      );
    }
    if (!Array.isArray(args)) {
      throw new TypeError(
        `Cannot make a process: 'args' must be an array, got ${typeof args}`,
      );
    }
    if (
      kwargs !== undefined && (kwargs === null || typeof kwargs !== "object")
    ) {
      throw new TypeError(
        `Cannot make a process: 'kwargs' must be an object, got ${
          describe(kwargs)
        }`,
      );
    }
    optionalString(name, "name", "make a process");
    optionalBoolean(daemon, "daemon", "make a process");
    this.#startMethod = checkStartMethod(startMethod, "make a process");
    checkPermissions(permissions, this.#startMethod, "make a process");
    this.#permissions = permissions;
    counter++;
    this.#name = name ?? `Process-${counter}`;
    this.#daemon = daemon ?? self.daemon;
    this.#target = target;
    this.#args = [...args];
    this.#kwargs = kwargs as Record<string, unknown> | undefined;
    this.#module = module;
  }

  /**
   * The method that runs in the child. By default it calls `target` with
   * `args` (and `kwargs` as a last argument); subclasses override it.
   *
   * @returns What `target` returns (awaited in the child).
   */
  run(): unknown {
    if (this.#target === undefined) return undefined;
    if (typeof this.#target !== "function") {
      throw new TypeError(
        `Cannot run process '${this.#name}': its target was not loaded in this process`,
      );
    }
    const args = this.#kwargs === undefined
      ? this.#args
      : [...this.#args, this.#kwargs];
    // Called unbound, as Python calls target: its stack reads "at target".
    const target = this.#target;
    return target(...args);
  }

  /**
   * Starts the process. It runs `run()` in a new worker, or in a new
   * `deno` child with the `"subprocess"` start method (which requires
   * `--allow-run`, and `--allow-read`/`--allow-write` for the temporary
   * directory: the child talks to its parent over a Unix socket there;
   * over loopback TCP, with `--allow-net`, on Windows).
   *
   * @throws {ValueError} When the process was already started or closed.
   * @throws {Error} When a daemon process tries to start a child.
   * @throws {TypeError} When the target or an argument cannot be sent
   *   (with `"subprocess"`: also a bare `SharedArrayBuffer`; this
   *   module's primitives, such as a `Lock`, are served by the parent).
   */
  start(): void {
    this.#checkNotClosed("start");
    if (this.#state !== "initial") {
      throw new ValueError(
        `Cannot start process '${this.#name}': a process can only be started once`,
      );
    }
    checkNotBootstrapping(`start process '${this.#name}'`);
    if (self.daemon) {
      throw new Error(
        `Cannot start process '${this.#name}': daemonic processes are not allowed to have children`,
      );
    }
    const isSubclass = this.constructor !== Process;
    const cls: FunctionRef | null = isSubclass
      ? toFunctionRef(this.constructor, this.#module, "Process subclass")
      : null;
    const target: FunctionRef | null = this.#target === undefined
      ? null
      : toFunctionRef(this.#target, this.#module, "target");
    const ownFields: Record<string, unknown> = {};
    if (isSubclass) {
      for (const [k, v] of Object.entries(this)) ownFields[k] = v;
    }
    const transfer: Transferable[] = [];
    const runtime = childRuntime();
    const state = new SharedArrayBuffer(8);
    const init: ProcessInit = {
      kind: "process",
      runtime,
      parent: selfAsParent(),
      name: this.#name,
      daemon: this.#daemon,
      target,
      cls,
      fields: encodeShared(ownFields, transfer, runtime.key) as Record<
        string,
        unknown
      >,
      args: encodeShared(this.#args, transfer, runtime.key) as unknown[],
      kwargs: encodeShared(this.#kwargs, transfer, runtime.key) as
        | Record<string, unknown>
        | undefined,
      state,
    };
    let launched: Launched;
    try {
      launched = launch(init, {
        startMethod: this.#startMethod,
        transfer,
        permissions: this.#permissions,
        modules: [...(target?.modules ?? []), ...(cls?.modules ?? [])],
      });
    } catch (err) {
      markDead(runtime.key);
      throw describeCloneError(err, this.#name, this.#args, ownFields);
    }
    const worker = launched.thread;
    this.#launched = launched;
    this.#exitWatch = launched.exitWatch;
    this.#key = runtime.key;
    this.#shared = new Int32Array(state);
    this.#ident = worker.threadId;
    this.#pid = launched.pid;
    this.#state = "started";
    children.add(this);
    if (this.#daemon) worker.unref();
    worker.on("error", () => {
      // The worker died from something it could not catch (such as its
      // memory limit); the "exit" event that follows records the code.
    });
    this.#released = new Promise((resolve) => {
      worker.once("exit", (code: number) => {
        this.#recordEnd(code);
        this.#launched = undefined;
        resolve();
      });
    });
  }

  /**
   * Records the end: from the "exit" event, or earlier from `joinSync`
   * (a `"subprocess"` child's end seen in `/proc`, before the event loop
   * has collected the child). The first record stands: the "exit" event
   * that follows a `joinSync` record changes nothing.
   */
  #recordEnd(code: number): void {
    if (this.#endRecorded) return;
    this.#endRecorded = true;
    markDead(this.#key);
    const shared = this.#shared!;
    // A child reports what really ended it: its own code when it handled
    // SIGTERM, -9 when kill() did. Its own SIGTERM handler, which passes
    // the signal on to its children, exits 128+15: that is -15. A worker
    // thread gets no signal; it reports the stop it was asked for.
    this.#exitCode = this.#startMethod === "subprocess"
      ? (code === 128 + 15 && this.#signalCode === -15 ? -15 : code)
      : this.#signalCode ?? code;
    Atomics.store(shared, 1, this.#exitCode);
    Atomics.store(shared, 0, 1);
    Atomics.notify(shared, 0);
    this.#state = this.#state === "closed" ? "closed" : "ended";
    children.delete(this);
    this.#resolveEnded();
  }

  /**
   * Waits until the process ends, or until `timeout` seconds pass. Like
   * Python it does not throw on timeout: check `exitCode` (still `null`)
   * or `isAlive()`. After a `joinSync()` that saw a `"subprocess"` child
   * end, it waits for this program to release the child (one turn of the
   * event loop, about).
   *
   * @param timeout Seconds to wait at most; no limit when omitted.
   * @returns A promise that settles when the process ended or time is up.
   */
  async join(timeout?: number): Promise<void> {
    this.#checkJoinable("join");
    const ms = timeoutMs(timeout, `join process '${this.#name}'`);
    const worker = this.#launched?.thread;
    if (worker === undefined || ms === 0) return;
    // A daemon's worker does not keep the program alive, nor does one
    // asked to stop (it may never stop); while someone waits for it, it
    // must, or the wait would end the program.
    const unrefed = this.#daemon || this.#stopping;
    if (unrefed) worker.ref();
    try {
      await settlesWithin(this.#released, ms);
    } finally {
      if (unrefed && this.#launched !== undefined) worker.unref();
    }
  }

  /**
   * Blocks the thread until the process ends or `timeout` seconds pass.
   * Like Python it does not throw on timeout: check `exitCode` (still
   * `null`) or `isAlive()`. Once it returns because the process ended,
   * `exitCode` and `isAlive()` already say so.
   *
   * On the main thread this blocks the event loop (Deno allows it), so
   * the end is seen without it: a worker's through shared memory; a
   * `"subprocess"` child's by polling Linux's `/proc/<pid>/stat` (from
   * 50 µs to 5 ms apart) until the child is a zombie, which it stays
   * until the event loop runs again. Reading `/proc` requires
   * `--allow-all` (Deno treats it as a special file system).
   *
   * A `"subprocess"` child that needs this program's event loop cannot
   * end while `joinSync` blocks it: one still starting (it is handed its
   * target by the event loop), or one waiting on something this program
   * serves (a `Queue` or `Manager` proxy, say). `joinSync` without a
   * timeout refuses the first; let the child start (or use
   * `await join()`).
   *
   * @param timeout Seconds to wait at most; no limit when omitted.
   * @throws {Error} For a running `"subprocess"` process whose end a
   *   blocked thread cannot see: not on Linux, without `--allow-all`,
   *   while it is still starting (no timeout given), or in the moment
   *   after the event loop collected it and before it reports the code.
   *   The message says why; use `await join()` there.
   */
  joinSync(timeout?: number): void {
    this.#checkJoinable("join");
    const deadline = deadlineFrom(timeout, `join process '${this.#name}'`);
    if (this.#exitWatch !== null) {
      if (this.#endRecorded) return;
      const code = this.#exitWatch.waitSync(
        deadline,
        `joinSync process '${this.#name}'`,
        this.#signalCode !== null,
      );
      if (code !== null) this.#recordEnd(code);
      return;
    }
    const shared = this.#shared!;
    while (Atomics.load(shared, 0) === 0) {
      if (!waitSync(shared, 0, 0, Math.min(deadline, performance.now() + 50))) {
        if (performance.now() >= deadline) return;
      }
    }
    if (this.#exitCode === null) {
      this.#exitCode = this.#signalCode ?? Atomics.load(shared, 1);
    }
  }

  /** A promise that settles when the process ends (Python's `sentinel`). */
  get ended(): Promise<void> {
    return this.#ended;
  }

  /**
   * Asks the process to stop, as Python sends SIGTERM. A `"subprocess"`
   * child gets SIGTERM (and SIGKILL 3 s later if still running); its
   * `exitCode` is what really ended it: `-15`, or its own code when it
   * handles SIGTERM.
   *
   * A worker thread (the default start method) stops as soon as it
   * returns to its event loop (at its next `await` of a timer, I/O or
   * message) or waits on any of this module's primitives (a `Lock`, a
   * `Queue` get, an `Event`, `joinSync`…: such a wait throws
   * `StopRequested` within 10 ms, which unwinds it); its `exitCode` is
   * then `-15`. Deno cannot interrupt a thread busy in synchronous code:
   * such a process stays alive (`isAlive()` true, `join()` waiting, its
   * locks held) until its code reaches one of those points, and a warning
   * says so. Use `startMethod: "subprocess"` for code that must be
   * stoppable at any instant. `isAlive()`, `exitCode`, `join()` and the
   * locks it held follow the thread's real end, never the request.
   */
  terminate(): void {
    this.#stop(-15);
  }

  /**
   * Asks the process to stop, as Python sends SIGKILL: a `"subprocess"`
   * child is killed at once (`exitCode` `-9`); a worker thread stops as
   * with {@linkcode Process.terminate} (`exitCode` `-9`), no sooner.
   */
  kill(): void {
    this.#stop(-9);
  }

  #stop(code: number): void {
    this.#checkNotClosed(code === -9 ? "kill" : "terminate");
    // Once the end is recorded, the child is gone (or a zombie, after
    // joinSync): nothing to stop.
    const launched = this.#launched;
    if (launched === undefined || this.#endRecorded) return;
    this.#signalCode ??= code;
    // A child gets the real signal; a worker thread is asked to stop.
    if (!launched.signal(code === -9 ? "SIGKILL" : "SIGTERM")) {
      this.#stopWorker(launched.thread);
    }
  }

  /**
   * Asks a worker thread to stop, and lets it end itself (`_launch/runner.ts`):
   * its stop word makes every library wait throw, and a "stop" message
   * ends it when its event loop runs. `Worker.terminate()` is not used:
   * in Deno it reports the worker gone at once (its "exit" event fires
   * right away) while a busy thread runs on, so nothing could tell the
   * real end. The thread's own exit is the end: "exit" fires once the
   * thread is gone (checked in `/proc/self/task` by the tests).
   */
  #stopWorker(worker: ProcessThread): void {
    if (this.#stopping) return;
    this.#stopping = true;
    requestStop(this.#key);
    try {
      worker.postMessage({ t: "stop" });
    } catch {
      // Its port is closed: it is ending already.
    }
    // A thread that never stops must not keep the program from ending.
    worker.unref();
    const timer = setTimeout(() => {
      // Its exit is recorded (state slot 0) before the thread's teardown.
      if (this.#endRecorded || Atomics.load(this.#shared!, 0) === 1) return;
      console.warn(
        `Warning: process '${this.#name}' was asked to stop but its worker thread is still running synchronous code, which Deno cannot interrupt. It counts as alive until that code returns to its event loop or waits on a primitive of this module. Use startMethod: "subprocess" for code that must be stoppable at any time.`,
      );
    }, STOP_WARNING_MS);
    Deno.unrefTimer(timer);
  }

  /**
   * Whether the process has started and not yet ended.
   *
   * @returns `true` while it runs.
   */
  isAlive(): boolean {
    this.#checkNotClosed("check process");
    if (this.#isSelf) return true;
    if (this.#state !== "started") return false;
    return Atomics.load(this.#shared!, 0) === 0;
  }

  /**
   * Releases the process object. Most methods throw afterwards.
   *
   * @throws {ValueError} When the process is still running.
   */
  close(): void {
    if (this.#state === "started" && this.isAlive()) {
      throw new ValueError(
        `Cannot close process '${this.#name}': it is still running; join() or terminate() it first`,
      );
    }
    this.#state = "closed";
  }

  /** The process's name (settable). */
  get name(): string {
    return this.#name;
  }

  set name(value: string) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot set name: expected a string, got ${typeof value}`,
      );
    }
    this.#name = value;
  }

  /**
   * Whether the process is a daemon. Settable before `start()` only.
   *
   * @throws {Error} When set after the process started.
   */
  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    const daemon = optionalBoolean(
      value,
      "daemon",
      `set daemon of process '${this.#name}'`,
    ) ?? false;
    if (this.#state !== "initial") {
      throw new Error(
        `Cannot set daemon of process '${this.#name}': the process has already started`,
      );
    }
    this.#daemon = daemon;
  }

  /**
   * The OS pid: the child's own with the `"subprocess"` start method;
   * worker processes share the program's pid (they are threads of it);
   * `null` before start.
   */
  get pid(): number | null {
    if (this.#isSelf) return Deno.pid;
    return this.#pid;
  }

  /**
   * The worker's thread id (unique in this program), or the child's pid
   * with the `"subprocess"` start method; `null` before start.
   */
  get ident(): number | null {
    return this.#ident;
  }

  /**
   * `null` while running; `0` when `run()` returned, `1` when it threw
   * (or left a promise rejection unhandled), `-15` when `terminate()`
   * stopped it, `-9` when `kill()` did, or the code passed to an explicit
   * `Deno.exit(code)` (also a `"subprocess"` child's own code when it
   * handled SIGTERM). Set only once the process really ended.
   */
  get exitCode(): number | null {
    if (this.#exitCode === null && this.#shared !== undefined) {
      if (Atomics.load(this.#shared, 0) === 1) {
        this.#exitCode = this.#signalCode ?? Atomics.load(this.#shared, 1);
      }
    }
    return this.#exitCode;
  }

  #checkNotClosed(action: string): void {
    if (this.#state === "closed") {
      throw new ValueError(
        `Cannot ${action}: process '${this.#name}' is closed`,
      );
    }
  }

  #checkJoinable(action: string): void {
    this.#checkNotClosed(action);
    if (this.#isSelf) {
      throw new Error(
        `Cannot ${action} process '${this.#name}': a process cannot join itself`,
      );
    }
    if (this.#state === "initial") {
      throw new Error(
        `Cannot ${action} process '${this.#name}': it has not been started; call start() first`,
      );
    }
  }

  /** Returns a readable description, as Python's `repr`. */
  toString(): string {
    const status = this.#state === "initial"
      ? "initial"
      : this.exitCode === null
      ? "started"
      : `stopped exitcode=${this.exitCode}`;
    return `<Process name='${this.#name}' ${status}${
      this.#daemon ? " daemon" : ""
    }>`;
  }
}

function describeCloneError(
  err: unknown,
  name: string,
  args: unknown[],
  fields: Record<string, unknown>,
): unknown {
  if (!(err instanceof Error) || err.name !== "DataCloneError") return err;
  for (let i = 0; i < args.length; i++) {
    try {
      structuredClone(args[i]);
    } catch (e) {
      return new TypeError(
        `Cannot start process '${name}': argument ${i} cannot be sent to another process: ${
          (e as Error).message
        }; pass structured-cloneable values`,
        { cause: err },
      );
    }
  }
  for (const [k, v] of Object.entries(fields)) {
    try {
      structuredClone(v);
    } catch (e) {
      return new TypeError(
        `Cannot start process '${name}': field '${k}' cannot be sent to another process: ${
          (e as Error).message
        }; keep fields structured-cloneable`,
        { cause: err },
      );
    }
  }
  return new TypeError(
    `Cannot start process '${name}': its arguments cannot be sent to another process: ${err.message}`,
    { cause: err },
  );
}

/** The object `currentProcess()` returns, once made. */
let currentSelf: Process | undefined;

/**
 * The `Process` object of the process this code runs in (`MainProcess`
 * in the root program).
 *
 * @returns The current process.
 *
 * @example Usage
 * ```ts
 * import { currentProcess } from "@seed/multiprocessing";
 * console.log(currentProcess().name); // "MainProcess"
 * ```
 */
export function currentProcess(): Process {
  currentSelf ??= Process[kAsChildSelf](Process, {
    name: self.name,
    daemon: self.daemon,
    target: undefined,
    args: [],
    kwargs: undefined,
  });
  return currentSelf;
}

/** What `parentProcess()` tells about the parent. */
export interface ParentProcess {
  /** The parent's name. */
  readonly name: string;
  /** The parent's OS pid. */
  readonly pid: number;
  /** The parent's thread id (0 for the root program). */
  readonly ident: number;
  /** Whether the parent is a daemon. */
  readonly daemon: boolean;
  /** Whether the parent is still running. */
  isAlive(): boolean;
}

/**
 * The parent of this process, or `null` in the root program.
 *
 * @returns The parent's description.
 *
 * @example Usage
 * ```ts
 * import { parentProcess } from "@seed/multiprocessing";
 * console.log(parentProcess()); // null in the main program
 * ```
 */
export function parentProcess(): ParentProcess | null {
  const p = self.parent;
  if (p === null) return null;
  return {
    name: p.name,
    pid: p.pid,
    ident: p.ident,
    daemon: p.daemon,
    isAlive: () => keyAlive(p.key),
  };
}

/**
 * The children of this process that have started and not ended yet.
 *
 * @returns The live child processes.
 *
 * @example Usage
 * ```ts
 * import { activeChildren } from "@seed/multiprocessing";
 * console.log(activeChildren().length); // 0
 * ```
 */
export function activeChildren(): Process[] {
  return [...children].filter((p) => p.isAlive());
}

/**
 * The number of logical CPUs (`navigator.hardwareConcurrency`), the
 * default size of a `Pool`.
 *
 * @returns The CPU count.
 *
 * @example Usage
 * ```ts
 * import { cpuCount } from "@seed/multiprocessing";
 * console.log(cpuCount() >= 1); // true
 * ```
 */
export function cpuCount(): number {
  return navigator.hardwareConcurrency || 1;
}
