/**
 * A started `Process` as its parent tracks it, from `launch()` to its
 * end: the thread or child, its state slots (slot 0: ended, slot 1: the
 * exit code, which a blocked `joinSync` reads), how to wait for it and
 * how to stop it. `process.ts` keeps the public class (options, checks,
 * docs) and hands the started process to one of these.
 *
 * @module
 */

import { markDead, requestStop } from "../_common/runtime.ts";
import { settlesWithin } from "../_common/timer.ts";
import { waitSync } from "../_shm/wait.ts";
import type { Launched, ProcessThread } from "./launch.ts";

/**
 * How long (ms) a worker thread asked to stop may take before a warning
 * says it cannot be stopped. One blocked in a library wait ends within a
 * 10 ms slice plus its exit (about 10 ms); this leaves room for a loaded
 * machine.
 */
const STOP_WARNING_MS = 300;

/** What a {@linkcode StartedProcess} needs besides the launch. */
export interface StartedOptions {
  /** Its key in the liveness table. */
  key: number;
  /** Its state slots (two Int32 slots; see the module doc). */
  state: SharedArrayBuffer;
  /** Whether it is a `"subprocess"` child. */
  subprocess: boolean;
  /** Whether it is a daemon (it does not keep the program alive). */
  daemon: boolean;
  /** Its name now (the `Process`'s name may change), for messages. */
  name: () => string;
  /** Called once, when its end is recorded. */
  onEnd: () => void;
}

/** The parent's record of one started process. */
export class StartedProcess {
  /** The thread id, or the child's pid. */
  readonly ident: number;
  /** The OS pid. */
  readonly pid: number;
  readonly #key: number;
  readonly #shared: Int32Array;
  readonly #subprocess: boolean;
  readonly #daemon: boolean;
  readonly #name: () => string;
  readonly #onEnd: () => void;
  /** The launch; `undefined` once its exit was reported. */
  #launched: Launched | undefined;
  /** How `joinSync` sees a `"subprocess"` child's end. */
  readonly #exitWatch: Launched["exitWatch"];
  #exitCode: number | null = null;
  /** The stop asked for (`-15` or `-9`), if any. */
  #signalCode: number | null = null;
  /** Whether the end is recorded (`#recordEnd`). */
  #endRecorded = false;
  /** Settles on the "exit" event, when its resources are gone. */
  readonly #released: Promise<void>;
  /** Set once a worker thread was asked to stop (see `#stopWorker`). */
  #stopping = false;

  /**
   * Tracks a launched process until it ends.
   *
   * @param launched What `launch()` gave.
   * @param options Its key, state slots, kind, and who to tell of its end.
   */
  constructor(launched: Launched, options: StartedOptions) {
    const worker = launched.thread;
    this.#launched = launched;
    this.#exitWatch = launched.exitWatch;
    this.#key = options.key;
    this.#shared = new Int32Array(options.state);
    this.#subprocess = options.subprocess;
    this.#daemon = options.daemon;
    this.#name = options.name;
    this.#onEnd = options.onEnd;
    this.ident = worker.threadId;
    this.pid = launched.pid;
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
    const shared = this.#shared;
    // A child reports what really ended it: its own code when it handled
    // SIGTERM, -9 when kill() did. Its own SIGTERM handler, which passes
    // the signal on to its children, exits 128+15: that is -15. A worker
    // thread gets no signal; it reports the stop it was asked for.
    this.#exitCode = this.#subprocess
      ? (code === 128 + 15 && this.#signalCode === -15 ? -15 : code)
      : this.#signalCode ?? code;
    Atomics.store(shared, 1, this.#exitCode);
    Atomics.store(shared, 0, 1);
    Atomics.notify(shared, 0);
    this.#onEnd();
  }

  /** Whether it has not ended (its state slot says so). */
  isAlive(): boolean {
    return Atomics.load(this.#shared, 0) === 0;
  }

  /** Its exit code once it ended, else `null`. */
  get exitCode(): number | null {
    if (this.#exitCode === null && Atomics.load(this.#shared, 0) === 1) {
      this.#exitCode = this.#signalCode ?? Atomics.load(this.#shared, 1);
    }
    return this.#exitCode;
  }

  /**
   * Waits for its end (its resources released), at most `ms`.
   *
   * @param ms The limit (`Infinity`: none).
   */
  async join(ms: number): Promise<void> {
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
   * Blocks the thread until it ends or `deadline` passes (see
   * `Process.joinSync`).
   *
   * @param deadline A `performance.now()` deadline, or `Infinity`.
   * @param action What is being done, for error messages.
   * @throws {Error} When a blocked thread cannot see a child's end.
   */
  joinSync(deadline: number, action: string): void {
    const watch = this.#exitWatch;
    if (watch !== null) {
      if (this.#endRecorded) return;
      const code = watch.waitSync(deadline, action, this.#signalCode !== null);
      if (code !== null) this.#recordEnd(code);
      return;
    }
    const shared = this.#shared;
    while (Atomics.load(shared, 0) === 0) {
      if (!waitSync(shared, 0, 0, Math.min(deadline, performance.now() + 50))) {
        if (performance.now() >= deadline) return;
      }
    }
    if (this.#exitCode === null) {
      this.#exitCode = this.#signalCode ?? Atomics.load(shared, 1);
    }
  }

  /**
   * Asks it to stop: a child gets the signal (`-15` SIGTERM, `-9`
   * SIGKILL); a worker thread is asked to end itself.
   *
   * @param code `-15` or `-9`: the exit code a worker thread reports.
   */
  stop(code: number): void {
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
      if (this.#endRecorded || Atomics.load(this.#shared, 0) === 1) return;
      console.warn(
        `Warning: process '${this.#name()}' was asked to stop but its worker thread is still running synchronous code, which Deno cannot interrupt. It counts as alive until that code returns to its event loop or waits on a primitive of this module. Use startMethod: "subprocess" for code that must be stoppable at any time.`,
      );
    }, STOP_WARNING_MS);
    Deno.unrefTimer(timer);
  }
}
