/**
 * A pool worker's task loop, inside the worker: runs the initializer,
 * then each task of each run message in order, and reports results in
 * one done message per run message (and every 20 ms of a long batch).
 * A lone task may come through the fast lane in shared memory instead
 * (`_pool/lane.ts`). The runner loads this module for a pool worker only.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  type DoneColumnsMessage,
  type DoneMessage,
  type FunctionRef,
  type PoolInit,
  STATE_CURRENT,
  TaskMode,
  type TasksMessage,
  toRemoteError,
  type WireResult,
  type WireTask,
} from "./protocol.ts";
import {
  LANE_BYTES,
  laneClearWake,
  type LaneOutcome,
  laneServe,
  type LaneView,
  laneView,
} from "../_pool/lane.ts";
import { stopRequested } from "../_common/runtime.ts";
import { StopRequested } from "../_shm/wait.ts";
import { explainShippingError, loadFunction } from "./shipping.ts";
import { decodeShared, encodeShared } from "../_common/transfer.ts";
import { allPrimitive, ChunkResults } from "../_common/columns.ts";
import {
  ClaimedTasks,
  fromRunColumns,
  toDoneColumns,
} from "./batch_columns.ts";
import { stopNow } from "./run_exit.ts";
import type { RunnerPort } from "./runner.ts";

type Fn = (...args: unknown[]) => unknown;

/**
 * The registry of shareable classes, loaded when this worker first needs
 * it: before it decodes arguments that hold primitives, and otherwise
 * once its first results are sent. A worker whose tasks take plain values
 * runs its first task without loading the library's primitives.
 */
let registry: Promise<unknown> | null = null;
/** Whether {@linkcode registry} has loaded. */
let registryReady = false;

/**
 * Where the registry is: not a literal, so that Deno does not load its
 * graph with the worker's entry (`_launch/entry.ts` names it for
 * `deno cache`).
 */
const REGISTRY = new URL("./shareables.ts", import.meta.url).href;

function loadRegistry(): Promise<unknown> {
  return registry ??= import(REGISTRY).then(() => {
    registryReady = true;
  });
}

/** Says the entry has loaded the registry already (a `deno` child's). */
export function markRegistryLoaded(): void {
  registry = Promise.resolve();
  registryReady = true;
}

/**
 * Serves the pool's tasks until the parent ends this worker.
 *
 * @param init What the parent sent.
 * @param port The channel to the parent.
 */
export function servePool(init: PoolInit, port: RunnerPort): void {
  new TaskLoop(init, port).start();
}

/** One pool worker's queue of tasks and the results not yet reported. */
class TaskLoop {
  readonly #init: PoolInit;
  readonly #port: RunnerPort;
  readonly #state: Int32Array;
  /** Only a worker thread shares its state buffer big enough for a lane. */
  readonly #lane: LaneView | null;
  /** The functions loaded so far, by the parent's number for each. */
  readonly #fns = new Map<number, Fn>();
  /**
   * The references that came with shared batches, by function number: a
   * worker may take none of a batch's tasks, and the parent does not send
   * the reference again.
   */
  readonly #refs = new Map<number, FunctionRef>();
  /** Tasks to run, and shared batches to take tasks from while any is left. */
  readonly #queue: (WireTask | ClaimedTasks)[] = [];
  /** The last task of each run message still queued or running. */
  readonly #batchEnds = new Set<WireTask>();
  #results: WireResult[] = [];
  #lastFlush = 0;
  #ready = false;
  #scheduled = false;
  readonly #drainNow = () => this.#drain();
  readonly #runLaneTask = (id: number, key: number, args: unknown[]) =>
    this.#runLane(id, key, args);
  readonly #sendOutcomeNow = (id: number, outcome: LaneOutcome) =>
    this.#sendOutcome(id, outcome);

  constructor(init: PoolInit, port: RunnerPort) {
    this.#init = init;
    this.#port = port;
    this.#state = new Int32Array(init.state);
    this.#lane = init.state.byteLength >= LANE_BYTES
      ? laneView(init.state)
      : null;
  }

  /** Runs the initializer, then the tasks as they come. */
  start(): void {
    runInitializer(this.#init, this.#port).then(() => {
      this.#ready = true;
      if (this.#init.initializer !== null) {
        this.#port.postMessage({ t: "ready" });
      }
      this.#schedule();
    });
    this.#port.onMessage((msg: TasksMessage) => {
      this.#receive(msg);
      this.#schedule();
    });
  }

  // Tasks run from macrotasks (setImmediate), never inside the message
  // event or a promise continuation when that can be avoided: a worker
  // that hits its memory limit there dies without an "exit" event
  // (observed in Deno 2.9), which would leave its task hanging. A
  // synchronous task therefore runs straight from a macrotask; an async
  // one continues from one as soon as its promise settles.
  #schedule(): void {
    if (this.#scheduled || !this.#ready) return;
    this.#scheduled = true;
    setImmediate(this.#drainNow);
  }

  #receive(msg: TasksMessage): void {
    if (this.#lane !== null) laneClearWake(this.#lane);
    if (msg.t === "run-columns" && msg.share !== undefined) {
      if (msg.ref !== undefined) this.#refs.set(msg.fn, msg.ref);
      this.#queue.push(new ClaimedTasks(msg));
      return;
    }
    const tasks = msg.t === "run-columns" ? fromRunColumns(msg) : msg.tasks;
    for (const t of tasks) this.#queue.push(t);
    if (tasks.length > 0) this.#batchEnds.add(tasks[tasks.length - 1]);
  }

  #drain(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    let ran = 0;
    let shared = false;
    for (;;) {
      if (queue.length === 0) {
        // The parent sends the next batch when this one's results reach
        // it, so while this worker ran its queued batch, the next one
        // usually arrived: take it now rather than after a turn of the
        // event loop (100-300 µs in Deno, the gap between batches).
        const msg = this.#port.receiveSync?.();
        if (msg === undefined) break;
        this.#receive(msg);
        continue;
      }
      // Asked to stop (a task of this worker timed out, the pool was
      // terminated) while a long synchronous task ran: run nothing more of
      // what was queued here; the parent gave it to another worker.
      if (stopRequested()) stopNow();
      const head = queue[0];
      let task: WireTask;
      if (head instanceof ClaimedTasks) {
        const next = head.take();
        if (next === null) {
          // Every task of the shared batch is taken: say so with the
          // results, so the parent knows this worker is done with it.
          queue.shift();
          this.#flush(head.id);
          shared = true;
          continue;
        }
        task = next;
      } else {
        task = head;
        queue.shift();
      }
      Atomics.store(this.#state, STATE_CURRENT, task.id);
      const r = this.#runTask(task);
      if (r instanceof Promise) {
        r.then((res) => {
          this.#finish(task, res);
          this.#scheduled = true;
          setImmediate(this.#drainNow);
        });
        this.#scheduled = true;
        return;
      }
      this.#finish(task, r);
      ran++;
    }
    Atomics.store(this.#state, STATE_CURRENT, 0);
    if (this.#results.length > 0) this.#flush();
    // Out of work: wait briefly on the lane for the next single task. Not
    // after a batch of several, nor after a shared batch (however few of
    // its tasks this worker took): the next batch comes by message too,
    // and spinning then only takes a core from the parent and the other
    // workers (on 2 cores, 0.14 ms of a 3.6 ms map of 64 tasks).
    if (this.#lane !== null && ran <= 1 && !shared) {
      laneServe(this.#lane, this.#runLaneTask, this.#sendOutcomeNow);
    }
  }

  /** Runs a task that came by the lane; see `_pool/lane.ts`. */
  #runLane(id: number, key: number, args: unknown[]): LaneOutcome | "async" {
    const fn = this.#fns.get(key);
    if (fn === undefined) {
      return {
        ok: false,
        error: new Error("Cannot run the task: its function is not loaded"),
      };
    }
    Atomics.store(this.#state, STATE_CURRENT, id);
    let value: unknown;
    try {
      value = fn(...args);
    } catch (error) {
      if (error instanceof StopRequested) stopNow();
      Atomics.store(this.#state, STATE_CURRENT, 0);
      return { ok: false, error: explainShippingError(error, fn) };
    }
    if (!isThenable(value)) {
      Atomics.store(this.#state, STATE_CURRENT, 0);
      return { ok: true, value };
    }
    // Hold the queue until it settles: tasks run one at a time.
    this.#scheduled = true;
    Promise.resolve(value).then(
      (v) => this.#sendOutcome(id, { ok: true, value: v }),
      (error) => {
        if (error instanceof StopRequested) stopNow();
        this.#sendOutcome(id, {
          ok: false,
          error: explainShippingError(error, fn),
        });
      },
    ).finally(() => {
      Atomics.store(this.#state, STATE_CURRENT, 0);
      this.#scheduled = false;
      this.#schedule();
    });
    return "async";
  }

  #sendOutcome(id: number, outcome: LaneOutcome): void {
    this.#send([
      outcome.ok
        ? okValue(id, outcome.value)
        : { id, ok: false, error: toRemoteError(outcome.error) },
    ]);
  }

  #finish(task: WireTask, r: WireResult): void {
    this.#results.push(r);
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
      this.#batchEnds.delete(task) || this.#queue.length === 0 ||
      performance.now() - this.#lastFlush > 20
    ) {
      this.#flush();
    }
  }

  /**
   * Reports the results so far.
   *
   * @param end The id of a shared batch this worker is done with.
   */
  #flush(end?: number): void {
    const out = this.#results;
    this.#results = [];
    this.#lastFlush = performance.now();
    if (out.length > 0 || end !== undefined) this.#send(out, end);
    // The first results are out: load the registry now, off the path to
    // them, so that user code here can send and receive primitives.
    if (registry === null) setTimeout(loadRegistry, 0);
  }

  /** Runs one task; synchronously when its function is sync. */
  #runTask(task: WireTask): WireResult | Promise<WireResult> {
    const fn = this.#fns.get(task.fn);
    if (fn === undefined) {
      return this.#runAfter(
        task,
        loadFunction(task.ref ?? this.#refs.get(task.fn)!).then((loaded) => {
          this.#fns.set(task.fn, loaded);
        }),
      );
    }
    if (task.shared && !registryReady) {
      return this.#runAfter(task, loadRegistry());
    }
    try {
      const args = task.shared
        ? decodeShared(task.args) as unknown[]
        : !Array.isArray(task.args)
        ? new Float64Array(task.args)
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
      const out = new ChunkResults(args.length);
      for (let i = 0; i < args.length; i++) {
        const v = star ? fn(...(args[i] as unknown[])) : fn(args[i]);
        if (isThenable(v)) return mapRest(task, fn, args, out, i, v);
        out.set(i, v);
      }
      return okChunk(task, out);
    } catch (err) {
      return fail(task, err, fn);
    }
  }

  /**
   * Runs a task once what it needs has loaded (its function, the
   * registry), from a fresh macrotask (see `#schedule`), not from the
   * promise continuation.
   */
  #runAfter(task: WireTask, loading: Promise<unknown>): Promise<WireResult> {
    return loading.then(
      () =>
        new Promise<WireResult>((resolve) =>
          setImmediate(() => {
            const r = this.#runTask(task);
            if (r instanceof Promise) r.then(resolve);
            else resolve(r);
          })
        ),
      (err) => fail(task, err, undefined),
    );
  }

  #send(results: WireResult[], end?: number): void {
    const port = this.#port;
    const columns = toDoneColumns(results);
    const msg: DoneMessage | DoneColumnsMessage = columns ??
      { t: "done", results };
    if (end !== undefined) msg.end = end;
    try {
      port.postMessage(msg, packedBuffers(results));
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
    if (end !== undefined) port.postMessage({ t: "done", results: [], end });
  }
}

/** The rest of a map task from the first item that returned a promise. */
async function mapRest(
  task: WireTask,
  fn: Fn,
  args: ArrayLike<unknown>,
  out: ChunkResults,
  from: number,
  first: PromiseLike<unknown>,
): Promise<WireResult> {
  try {
    out.set(from, await first);
    const star = task.mode === TaskMode.Starmap;
    for (let i = from + 1; i < args.length; i++) {
      out.set(
        i,
        await (star ? fn(...(args[i] as unknown[])) : fn(args[i])),
      );
    }
    return okChunk(task, out);
  } catch (err) {
    return fail(task, err, fn);
  }
}

function ok(task: WireTask, value: unknown): WireResult {
  return okValue(task.id, value);
}

/** A result, its primitives as markers (flagged, so the parent decodes). */
function okValue(id: number, value: unknown): WireResult {
  const wire = encodeShared(value);
  return wire === value
    ? { id, ok: true, value }
    : { id, ok: true, value: wire, shared: true };
}

/**
 * A map chunk's results: packed when they are all numbers, as they are
 * when none is an object, else as any result (`_common/columns.ts`).
 */
function okChunk(task: WireTask, out: ChunkResults): WireResult {
  const packed = out.packed;
  if (packed !== null) {
    return { id: task.id, ok: true, value: packed.buffer, packed: true };
  }
  const values = out.values!;
  if (!allPrimitive(values)) return okValue(task.id, values);
  return { id: task.id, ok: true, value: values, chunk: true };
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

async function runInitializer(init: PoolInit, port: RunnerPort): Promise<void> {
  if (init.initializer === null) return;
  let fn: Fn | undefined;
  try {
    if ((init.initargs as unknown[]).length > 0) await loadRegistry();
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

/** The packed results' buffers: moved, not copied (nothing here keeps them). */
function packedBuffers(results: WireResult[]): Transferable[] | undefined {
  let out: Transferable[] | undefined;
  for (const r of results) {
    if (r.ok && r.packed) (out ??= []).push(r.value as ArrayBuffer);
  }
  return out;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function";
}
