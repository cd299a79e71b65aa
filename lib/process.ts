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
import { childRuntime, currentKey, markDead } from "./_common/runtime.ts";
import {
  checkNotBootstrapping,
  kAsChildSelf,
  self,
  selfAsParent,
} from "./_common/self.ts";
import { toFunctionRef } from "./_launch/shipping.ts";
import { encodeShared } from "./_common/transfer.ts";
// Arguments may hold primitives: the registry says how each crosses.
import "./_launch/shareables.ts";
import { deadlineFrom } from "./_common/timer.ts";
import { describeCloneError } from "./_common/clone_error.ts";
import {
  describe,
  optionalBoolean,
  optionalString,
  timeoutMs,
} from "./_common/check.ts";
import { checkPermissions } from "./_launch/permissions.ts";
import { launch, type Launched } from "./_launch/launch.ts";
import { StartedProcess } from "./_launch/started.ts";
import { checkStartMethod, type StartMethod } from "./_common/start_method.ts";
import type { ProcessOptions } from "./_launch/process_options.ts";

export { cpuCount, type ParentProcess, parentProcess } from "./_common/self.ts";
export type {
  ProcessArgs,
  ProcessKwargs,
  ProcessOptions,
} from "./_launch/process_options.ts";

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
  #state: "initial" | "started" | "ended" | "closed" = "initial";
  #isSelf = false;
  /** The started process, from `start()` on. */
  #started: StartedProcess | undefined;
  #key = 0;
  #ident: number | null = null;
  #ended: Promise<void>;
  #resolveEnded!: () => void;

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
      throw explainCloneError(err, this.#name, this.#args, ownFields);
    }
    this.#key = runtime.key;
    this.#started = new StartedProcess(launched, {
      key: runtime.key,
      state,
      subprocess: this.#startMethod === "subprocess",
      daemon: this.#daemon,
      name: () => this.#name,
      onEnd: () => {
        this.#state = this.#state === "closed" ? "closed" : "ended";
        children.delete(this);
        this.#resolveEnded();
      },
    });
    this.#ident = this.#started.ident;
    this.#state = "started";
    children.add(this);
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
    await this.#started!.join(ms);
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
    this.#started!.joinSync(deadline, `joinSync process '${this.#name}'`);
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
    this.#started?.stop(code);
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
    return this.#started!.isAlive();
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
    return this.#started?.pid ?? null;
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
    return this.#started?.exitCode ?? null;
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

/**
 * Names what could not be sent when a start threw `DataCloneError`: the
 * first argument or field that does not clone alone.
 */
function explainCloneError(
  err: unknown,
  name: string,
  args: unknown[],
  fields: Record<string, unknown>,
): unknown {
  if (!(err instanceof Error) || err.name !== "DataCloneError") return err;
  const sent = [
    ...args.map((a, i) => [`argument ${i}`, a] as const),
    ...Object.entries(fields).map(([k, v]) => [`field '${k}'`, v] as const),
  ];
  return describeCloneError(err, sent, (what, why) => {
    const advice = what === null
      ? ""
      : what.startsWith("field")
      ? "; keep fields structured-cloneable"
      : "; pass structured-cloneable values";
    return `Cannot start process '${name}': ${
      what ?? "its arguments"
    } cannot be sent to another process: ${why}${advice}`;
  });
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
