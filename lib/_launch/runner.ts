/**
 * What runs inside every child, whatever carries its messages: a
 * `Process`'s target, or a pool worker's task loop. The worker entry
 * (`_launch/worker_entry.ts`, a `node:worker_threads` worker) and the child entry
 * (`_launch/child_entry.ts`, a `deno` OS process) are thin shells that hand this
 * module their init data and a {@linkcode RunnerPort}.
 *
 * The caller imports the registry of shareable classes
 * (`_launch/shareables.ts`) first, so the primitives among the arguments
 * can be revived. The user's modules are imported later, as dependencies,
 * so `import.meta.main` is false in them and the main program's guarded
 * code does not run again here.
 *
 * @module
 */

import process from "node:process";
import { setImmediate } from "node:timers";
import {
  type DoneMessage,
  type PoolInit,
  type PoolWorkerMessage,
  type ProcessInit,
  type RunMessage,
  showThrown,
  STATE_CURRENT,
  STATE_ENDING,
  TaskMode,
  toRemoteError,
  type WireResult,
  type WireTask,
} from "./protocol.ts";
import {
  LANE_BYTES,
  laneClearWake,
  type LaneOutcome,
  laneServe,
  laneView,
} from "../_pool/lane.ts";
import { joinRuntime, stopRequested } from "../_common/runtime.ts";
import { StopRequested } from "../_shm/wait.ts";
import { self } from "../_common/self.ts";
import {
  setDefaultStartMethod,
  type StartMethod,
} from "../_common/start_method.ts";
import { explainShippingError, loadFunction } from "./shipping.ts";
import { decodeShared, encodeShared } from "../_common/transfer.ts";
import { activeChildren, makeChildSelf, Process } from "../process.ts";
import { flushFeeders } from "../queue.ts";

/** How the runner talks to its parent, whatever the transport. */
export interface RunnerPort {
  /**
   * Sends a message to the parent. Throws (synchronously) when the
   * message cannot be cloned, so the runner can report that instead.
   */
  postMessage(message: PoolWorkerMessage): void;
  /** Calls `listener` with every message the parent sends. */
  onMessage(listener: (message: RunMessage) => void): void;
  /**
   * Takes the next run message if one is waiting, without a turn of the
   * event loop; absent when the transport cannot.
   */
  receiveSync?: () => RunMessage | undefined;
  /**
   * How this child was started: the default of its own children, as a
   * Python child's start method is the one that started it.
   */
  startMethod: StartMethod;
}

type Fn = (...args: unknown[]) => unknown;

let init!: ProcessInit | PoolInit;
let port!: RunnerPort;
const realExit = Deno.exit;

/**
 * Runs this child: joins the program tree, installs the crash and exit
 * handlers, then runs the process's target (and exits) or serves pool
 * tasks until the parent ends it.
 *
 * @param data What the parent sent (`workerData`, or the init frame).
 * @param parent The channel to the parent.
 * @returns A promise that settles once a process target finished (the
 *   child then exits) or the pool loop is set up.
 */
export async function runChild(
  data: ProcessInit | PoolInit,
  parent: RunnerPort,
): Promise<void> {
  init = data;
  port = parent;
  joinRuntime(init.runtime);
  setDefaultStartMethod(parent.startMethod);
  self.name = init.name;
  self.daemon = init.kind === "pool" ? true : init.daemon;
  self.parent = init.parent;
  try {
    // `Deno.exit(n)` in a target ends only this worker; record n first.
    (Deno as { exit: (code?: number) => never }).exit = (code = 0) =>
      exit(code);
  } catch {
    // Not writable in some Deno builds: the parent's exit event still
    // records the code; only joinSync on a blocked thread would miss it.
  }
  process.on("exit", (code: number) => recordExit(code ?? 0));

  // An uncaught error in a worker would otherwise end the whole program.
  // Here it ends this process only, with code 1, as a crash of a Python
  // child does not take its parent down.
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    reportCrash(event.error ?? event.message);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    reportCrash(event.reason);
  });

  if (init.kind === "process") {
    await runProcess(init);
  } else {
    servePool(init);
  }
}

/**
 * The exit code of a worker that ended because it was asked to stop
 * (128 + SIGTERM, as a shell reports it). Its parent reports `-15` or
 * `-9` (whichever it asked for) instead.
 */
const STOPPED_CODE = 143;

/**
 * Ends this worker because its parent asked it to stop (a "stop" message,
 * or a library wait that saw the stop word and threw `StopRequested` all
 * the way up). The worker ends itself, rather than being ended by
 * `Worker.terminate()`, because in Deno that call returns, and reports
 * the worker gone, at once, even while the thread goes on running
 * synchronous code; a thread's own exit, from its event loop or from the
 * top of its stack, is an end the parent can trust ("exit" then fires
 * after the thread is gone).
 */
export function stopNow(): never {
  // Tells the pool this thread is ending, not stuck (see _pool/engine.ts).
  if (init.kind === "pool") {
    Atomics.store(new Int32Array(init.state), STATE_CURRENT, STATE_ENDING);
  }
  return exit(STOPPED_CODE);
}

/** Records the exit code where a blocked `joinSync` can see it. */
function recordExit(code: number): void {
  if (init.kind !== "process") return;
  const state = new Int32Array(init.state);
  if (Atomics.load(state, 0) === 1) return;
  Atomics.store(state, 1, code);
  Atomics.store(state, 0, 1);
  Atomics.notify(state, 0);
}

function exit(code: number): never {
  recordExit(code);
  return realExit(code);
}

function reportCrash(err: unknown): never {
  // A stop unwound the code (or was thrown from a callback): not a crash.
  if (err instanceof StopRequested || stopRequested()) return stopNow();
  console.error(`Process ${init.name}:\n${formatError(err)}`);
  return exit(1);
}

function formatError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `Uncaught ${showThrown(err)}`;
}

async function runProcess(init: ProcessInit): Promise<void> {
  let code = 0;
  let target: Fn | undefined;
  try {
    const cls = init.cls === null
      ? Process
      : (await loadFunction(init.cls)) as unknown as typeof Process;
    if (init.target !== null) target = await loadFunction(init.target);
    const proc = makeChildSelf(cls, {
      name: init.name,
      daemon: init.daemon,
      target,
      args: decodeShared(init.args) as unknown[],
      kwargs: decodeShared(init.kwargs) as Record<string, unknown> | undefined,
    });
    if (init.cls !== null) Object.assign(proc, decodeShared(init.fields));
    await proc.run();
  } catch (err) {
    if (err instanceof StopRequested || stopRequested()) stopNow();
    console.error(
      `Process ${init.name}:\n${
        formatError(explainShippingError(err, target))
      }`,
    );
    code = 1;
  }
  if (stopRequested()) stopNow();
  // A promise the target left rejected and unhandled is reported (code 1,
  // its error printed) by the "unhandledrejection" listener, which Deno
  // runs after this turn's microtasks: give it that turn before exiting.
  await new Promise((resolve) => setTimeout(resolve, 0));
  // As in Python, a process waits for its non-daemon children before it
  // ends; daemon children end with it.
  for (const child of activeChildren()) {
    if (!child.daemon) await child.join();
  }
  // And for its queues' feeders to write what they hold.
  await flushFeeders();
  exit(code);
}

function servePool(init: PoolInit): void {
  const state = new Int32Array(init.state);
  // Only a worker thread shares its state buffer with the parent, and only
  // then is it big enough for the fast lane (see _lane.ts).
  const lane = init.state.byteLength >= LANE_BYTES
    ? laneView(init.state)
    : null;
  const fns = new Map<number, Fn>();
  const queue: WireTask[] = [];
  /** The last task of each run message still queued or running. */
  const batchEnds = new Set<WireTask>();
  let results: WireResult[] = [];
  let lastFlush = 0;
  let ready = false;
  let scheduled = false;

  // Tasks run from macrotasks (setImmediate), never inside the message
  // event or a promise continuation when that can be avoided: a worker
  // that hits its memory limit there dies without an "exit" event
  // (observed in Deno 2.9), which would leave its task hanging. A
  // synchronous task therefore runs straight from a macrotask; an async
  // one continues from one as soon as its promise settles.
  const schedule = () => {
    if (scheduled || !ready) return;
    scheduled = true;
    setImmediate(drain);
  };

  runInitializer(init).then(() => {
    ready = true;
    if (init.initializer !== null) port.postMessage({ t: "ready" });
    schedule();
  });

  const receive = (msg: RunMessage) => {
    if (lane !== null) laneClearWake(lane);
    for (const t of msg.tasks) queue.push(t);
    if (msg.tasks.length > 0) batchEnds.add(msg.tasks[msg.tasks.length - 1]);
  };
  port.onMessage((msg: RunMessage) => {
    receive(msg);
    schedule();
  });
  const receiveSync = port.receiveSync;

  function drain(): void {
    scheduled = false;
    for (;;) {
      if (queue.length === 0) {
        // The parent sends the next batch when this one's results reach
        // it, so while this worker ran its queued batch, the next one
        // usually arrived: take it now rather than after a turn of the
        // event loop (100-300 µs in Deno, the gap between batches).
        const msg = receiveSync?.();
        if (msg === undefined) break;
        receive(msg);
        continue;
      }
      // Asked to stop (a task of this worker timed out, the pool was
      // terminated) while a long synchronous task ran: run nothing more of
      // what was queued here; the parent gave it to another worker.
      if (stopRequested()) stopNow();
      const task = queue.shift()!;
      Atomics.store(state, STATE_CURRENT, task.id);
      const r = runTask(task);
      if (r instanceof Promise) {
        r.then((res) => {
          finish(task, res);
          scheduled = true;
          setImmediate(drain);
        });
        scheduled = true;
        return;
      }
      finish(task, r);
    }
    Atomics.store(state, STATE_CURRENT, 0);
    if (results.length > 0) flush();
    // Out of work: wait briefly on the lane for the next single task.
    if (lane !== null) laneServe(lane, runLane, sendOutcome);
  }

  /** Runs a task that came by the lane; see `_pool/lane.ts`. */
  function runLane(
    id: number,
    key: number,
    args: unknown[],
  ): LaneOutcome | "async" {
    const fn = fns.get(key);
    if (fn === undefined) {
      return {
        ok: false,
        error: new Error("Cannot run the task: its function is not loaded"),
      };
    }
    Atomics.store(state, STATE_CURRENT, id);
    let value: unknown;
    try {
      value = fn(...args);
    } catch (error) {
      if (error instanceof StopRequested) stopNow();
      Atomics.store(state, STATE_CURRENT, 0);
      return { ok: false, error: explainShippingError(error, fn) };
    }
    if (!isThenable(value)) {
      Atomics.store(state, STATE_CURRENT, 0);
      return { ok: true, value };
    }
    // Hold the queue until it settles: tasks run one at a time.
    scheduled = true;
    Promise.resolve(value).then(
      (v) => sendOutcome(id, { ok: true, value: v }),
      (error) => {
        if (error instanceof StopRequested) stopNow();
        sendOutcome(id, { ok: false, error: explainShippingError(error, fn) });
      },
    ).finally(() => {
      Atomics.store(state, STATE_CURRENT, 0);
      scheduled = false;
      schedule();
    });
    return "async";
  }

  function sendOutcome(id: number, outcome: LaneOutcome): void {
    send([
      outcome.ok
        ? { id, ok: true, value: encodeShared(outcome.value) }
        : { id, ok: false, error: toRemoteError(outcome.error) },
    ]);
  }

  function finish(task: WireTask, r: WireResult): void {
    results.push(r);
    // Results travel together, one message per run message: a message
    // costs the worker ~50 µs here. Reporting at the end of each run
    // message (not only once the queue is empty) lets the parent send
    // the next batch while this worker runs the one it has queued, so the
    // next batch is waiting when this drain ends. Long batches also
    // report every 20 ms (progress, imap, and fewer finished tasks run
    // again when the worker dies later in the batch): every report wakes
    // the parent's thread, which on a 2-core machine takes a worker's
    // core for ~110 µs, so reporting every 2 ms cost 1 ms tasks ~5%.
    if (
      batchEnds.delete(task) || queue.length === 0 ||
      performance.now() - lastFlush > 20
    ) {
      flush();
    }
  }

  function flush(): void {
    const out = results;
    results = [];
    lastFlush = performance.now();
    if (out.length > 0) send(out);
  }

  function fail(task: WireTask, err: unknown, fn: Fn | undefined): WireResult {
    // The task was stopped (its parent already rejected it): end here.
    if (err instanceof StopRequested) stopNow();
    return {
      id: task.id,
      ok: false,
      error: toRemoteError(explainShippingError(err, fn)),
    };
  }

  /** Runs one task; synchronously when its function is sync. */
  function runTask(task: WireTask): WireResult | Promise<WireResult> {
    const fn = fns.get(task.fn);
    if (fn === undefined) {
      // Load, then run from a fresh macrotask (see above), not from the
      // promise continuation.
      return loadFunction(task.ref!).then(
        (loaded) => {
          fns.set(task.fn, loaded);
          return new Promise<WireResult>((resolve) =>
            setImmediate(() => {
              const r = runTask(task);
              if (r instanceof Promise) r.then(resolve);
              else resolve(r);
            })
          );
        },
        (err) => fail(task, err, undefined),
      );
    }
    try {
      const args = task.shared
        ? decodeShared(task.args) as unknown[]
        : task.args;
      if (task.mode === TaskMode.Apply) {
        const kwargs = task.shared ? decodeShared(task.kwargs) : task.kwargs;
        const value = kwargs === undefined ? fn(...args) : fn(...args, kwargs);
        if (isThenable(value)) {
          return Promise.resolve(value).then(
            (v) => ok(task, v),
            (err) => fail(task, err, fn),
          );
        }
        return ok(task, value);
      }
      const star = task.mode === TaskMode.Starmap;
      const out = new Array(args.length);
      for (let i = 0; i < args.length; i++) {
        const v = star ? fn(...(args[i] as unknown[])) : fn(args[i]);
        if (isThenable(v)) return mapRest(task, fn, args, out, i, v);
        out[i] = v;
      }
      return ok(task, out);
    } catch (err) {
      return fail(task, err, fn);
    }
  }

  async function mapRest(
    task: WireTask,
    fn: Fn,
    args: unknown[],
    out: unknown[],
    from: number,
    first: PromiseLike<unknown>,
  ): Promise<WireResult> {
    try {
      out[from] = await first;
      const star = task.mode === TaskMode.Starmap;
      for (let i = from + 1; i < args.length; i++) {
        out[i] = await (star ? fn(...(args[i] as unknown[])) : fn(args[i]));
      }
      return ok(task, out);
    } catch (err) {
      return fail(task, err, fn);
    }
  }

  function ok(task: WireTask, value: unknown): WireResult {
    return { id: task.id, ok: true, value: encodeShared(value) };
  }

  function send(results: WireResult[]): void {
    const msg: DoneMessage = { t: "done", results };
    try {
      port.postMessage(msg);
      return;
    } catch {
      // Some result cannot be cloned: send them one by one and turn the
      // ones that fail into errors that say so.
    }
    for (const r of results) {
      try {
        port.postMessage({ t: "done", results: [r] });
      } catch (err) {
        port.postMessage({
          t: "done",
          results: [{
            id: r.id,
            ok: false,
            error: {
              name: "TypeError",
              message: `Cannot send the task's result back: ${
                (err as Error).message
              }; return structured-cloneable values`,
              stack: (err as Error).stack,
            },
          }],
        });
      }
    }
  }
}

async function runInitializer(init: PoolInit): Promise<void> {
  if (init.initializer === null) return;
  let fn: Fn | undefined;
  try {
    fn = await loadFunction(init.initializer);
    const v = fn(...(decodeShared(init.initargs) as unknown[]));
    if (isThenable(v)) await v;
  } catch (err) {
    port.postMessage({
      t: "init-error",
      error: toRemoteError(explainShippingError(err, fn)),
    });
    // Wait to be replaced or terminated; run nothing.
    await new Promise(() => {});
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function";
}
