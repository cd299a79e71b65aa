/**
 * The engine behind `Pool`: worker records, the task queue, dispatch,
 * cancellation and replacement of lost workers. `pool.ts` validates and
 * documents; this file schedules.
 *
 * How a task flows:
 *
 * ```text
 *  caller ─ submit() ─► queue ─ pump() ─► idle worker ─ RunMessage ─►
 *     worker runs the batch (slot CURRENT = id of the running task)
 *  ◄─ resolve/reject ◄─ DoneMessage ◄──────────────────────────────┘
 *
 *  worker exits mid-batch: the task in CURRENT rejects WorkerLostError,
 *  the rest of the batch goes back to the front of the queue, and a new
 *  worker takes the dead one's place.
 * ```
 *
 * Batching and pipelining: a worker has at most {@linkcode PIPELINE}
 * messages in flight (one running, one waiting), so it never idles for a
 * round trip between tasks. It reports each batch as it ends, so the
 * parent sends the next one while the worker runs the waiting one; a
 * worker thread's run messages come over a `MessagePort` that it reads
 * synchronously when its queue runs dry, so it goes on without a turn of
 * its event loop. Tasks known to be short (a moving average of task time
 * below {@linkcode SHORT_TASK_MS}) travel up to {@linkcode MAX_BATCH} to
 * a message, so a flood of small tasks costs one message each way per
 * batch; longer ones travel up to {@linkcode MAX_BATCH_MS} of work to a
 * message, sized so the workers finish a map together (`#fairShare`). A task with
 * a signal, a timeout or transferables travels alone to an idle worker,
 * with nothing queued behind it, so stopping it (by terminating its
 * worker) touches no other task.
 *
 * Start-up: creating a worker thread blocks the caller's thread for tens
 * of milliseconds, so a pool of worker threads starts its first worker at
 * once and the others one per turn of the event loop, when work waits
 * for them (see the constructor).
 *
 * @module
 */

import { ProcessError, WorkerLostError } from "../errors.ts";
import {
  type FunctionRef,
  type PoolInit,
  type PoolWorkerMessage,
  type RunMessage,
  STATE_CURRENT,
  STATE_ENDING,
  TaskMode,
  type WireTask,
} from "../_launch/protocol.ts";
import { childRuntime, markDead, requestStop } from "../_common/runtime.ts";
import { selfAsParent } from "../_common/self.ts";
import { decodeShared, encodeShared } from "../_common/transfer.ts";
// Tasks and results may hold primitives: the registry says how each crosses.
import "../_launch/shareables.ts";
import {
  Lane,
  LANE_BYTES,
  laneOffer,
  laneResult,
  type LaneView,
  laneView,
  laneWake,
} from "./lane.ts";
import { type ResourceLimits, spawnWorker } from "../_launch/worker_spawn.ts";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { type ProcessThread, spawnChild } from "../_launch/child_spawn.ts";
import type { StartMethod } from "../_common/start_method.ts";
import { watchTask } from "./hook.ts";

/** Most tasks sent to a worker in one message. */
const MAX_BATCH = 256;

/** Tasks shorter than this (ms, on average) are batched freely. */
const SHORT_TASK_MS = 0.2;

/**
 * Longer tasks are batched up to about this much work (ms) a message.
 * Each batch boundary costs a worker 100-400 µs on a 2-core machine (its
 * report wakes the parent's thread, which takes the core for a moment):
 * with 1 ms tasks, 10 ms batches gave a 1.80x speed-up on 2 cores, 40 ms
 * batches 1.90x (bench/RESULTS.md). The fair share keeps the workers
 * finishing together.
 */
const MAX_BATCH_MS = 40;

/**
 * Messages (batches) a worker may have in flight: one running and one
 * waiting, so a worker never sits idle for a round trip between tasks.
 */
const PIPELINE = 2;

/**
 * How long (ms) a new pool of worker threads waits, idle, before it
 * starts the workers after the first (see {@linkcode PoolEngine}).
 */
const STAGGER_IDLE_MS = 20;

/** What the engine needs to start workers. */
export interface EngineOptions {
  /** Number of workers. */
  size: number;
  /** Runs once in each worker before its first task. */
  initializer: FunctionRef | null;
  /** The initializer's arguments. */
  initargs: unknown[];
  /** Tasks a worker runs before it is replaced (`null`: no limit). */
  maxTasksPerChild: number | null;
  /** Memory limits of each worker. */
  resourceLimits?: ResourceLimits;
  /** How workers are started. */
  startMethod?: StartMethod;
  /** Deno permissions of each `"subprocess"` worker. */
  permissions?: Deno.PermissionOptions;
  /** Modules a `"subprocess"` worker may import functions from. */
  modules?: string[];
}

/** A task as the caller submits it. */
export interface TaskSpec {
  /** The function. */
  fn: FunctionRef;
  /** A key that identifies `fn` (same function, same key). */
  fnKey: number;
  /** How to apply it. */
  mode: TaskMode;
  /** Arguments, or the chunk of items. */
  args: unknown[];
  /** Keyword arguments. */
  kwargs?: Record<string, unknown>;
  /** Stops the task. */
  signal?: AbortSignal;
  /** Seconds from submission after which the task fails. */
  timeout?: number;
  /** Objects to transfer with the arguments. */
  transfer?: Transferable[];
  /** The function's name, for messages. */
  label: string;
}

/** Counts of `Pool.stats()`. */
export interface PoolStats {
  /** Tasks waiting for a worker. */
  queued: number;
  /** Tasks sent to a worker and not finished. */
  running: number;
  /** Tasks that finished with a result. */
  done: number;
  /** Tasks that failed (threw, lost their worker, timed out, cancelled). */
  failed: number;
  /** Live workers. */
  workers: number;
  /**
   * Workers taken out of service (a task's timeout or signal, `close()`,
   * `terminate()`, `maxtasksperchild`) whose threads have not ended yet.
   * A worker thread busy in synchronous code cannot be stopped (Deno does
   * not interrupt it): it stays here, replaced, until its code returns to
   * its event loop. Not counted in `workers`.
   */
  stopping: number;
}

interface Task {
  id: number;
  spec: TaskSpec;
  wireArgs: unknown[];
  wireKwargs: Record<string, unknown> | undefined;
  shared: boolean;
  transfer: Transferable[];
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  settled: boolean;
  worker: WorkerRecord | null;
  cleanup: (() => void) | null;
  alone: boolean;
}

interface WorkerRecord {
  name: string;
  thread: ProcessThread;
  key: number;
  /** The worker's CURRENT slot; `null` for a child (no shared memory). */
  state: Int32Array | null;
  inflight: Task[];
  seenFns: Set<number>;
  tasksDone: number;
  /** Set when we end it on purpose; its exit is then not a loss. */
  leaving: boolean;
  everCompleted: boolean;
  /** Set once its thread really ended ("exit"). */
  exited: boolean;
  /**
   * Settles when the worker ended or, once it was asked to stop, when it
   * had {@linkcode STOP_WARNING_MS} to do so (see `join()`).
   */
  settled: Promise<void>;
  /** Settles `settled`. */
  onSettled: () => void;
  /** The worker's fast lane; `null` for a child (no shared memory). */
  lane: LaneView | null;
  /** Functions the worker has loaded (it finished a task with them). */
  readyFns: Set<number>;
  /** Batches sent and not finished. */
  batches: number;
  /** A task that travels alone is in flight: send nothing behind it. */
  alone: boolean;
  /** When this worker last started or reported work, for timing tasks. */
  mark: number;
  /** Whether its initializer has run (`true` when the pool has none). */
  initialized: boolean;
  /**
   * Where run messages go: a worker thread's task channel (which it can
   * read between batches without a turn of its event loop), or `null`
   * for a child (its thread).
   */
  port: MessagePort | null;
}

let workerCounter = 0;

/**
 * How long (ms) a worker thread asked to stop may take before a warning
 * says it cannot be stopped (as for a `Process`, see `process.ts`).
 */
const STOP_WARNING_MS = 300;

/** How long a worker that took its stop may take to end, unreported. */
const ENDING_GRACE_MS = 10_000;

/** The scheduler of one pool. */
export class PoolEngine {
  #opts: EngineOptions;
  #workers = new Set<WorkerRecord>();
  #queue: Task[] = [];
  #queueHead = 0;
  #nextId = 1;
  #pumpScheduled = false;
  #closed = false;
  #terminated = false;
  #broken: Error | null = null;
  #outstanding = 0;
  #done = 0;
  #failed = 0;
  #startFailures = 0;
  #refed = true;
  #drained: Array<() => void> = [];
  /** The last task of each batch in flight (its result ends the batch). */
  #batchEnds = new WeakMap<Task, WorkerRecord>();
  /** Moving average of a task's time on a worker; unknown (long) at first. */
  #avgTaskMs = Infinity;
  /** Workers of the pool's size not started yet (see the constructor). */
  #pending = 0;
  /** The timer that starts the next pending worker, if one is set. */
  #pendingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the pending workers are being started, one per timer turn. */
  #starting = false;

  constructor(opts: EngineOptions) {
    this.#opts = opts;
    if (opts.startMethod === "subprocess" || opts.size === 1) {
      for (let i = 0; i < opts.size; i++) this.#spawn();
    } else {
      // Creating a worker thread blocks this thread for 25-55 ms (Deno
      // builds the new isolate synchronously in `new Worker()`), and
      // nothing, not even a finished result, is handled meanwhile. So only
      // the first worker starts now; the others start one per turn of the
      // event loop once work is waiting that the first cannot take, once
      // the first reports, or once the pool has been idle a moment.
      // The first task then runs after one start, not after all of them.
      this.#spawn();
      this.#pending = opts.size - 1;
      this.#pendingTimer = setTimeout(() => {
        this.#pendingTimer = undefined;
        if (this.#outstanding === 0) this.#startPending();
      }, STAGGER_IDLE_MS);
      Deno.unrefTimer(this.#pendingTimer);
    }
    this.#setRef(false);
  }

  /** Starts the pending workers, one per macrotask. */
  #startPending(): void {
    if (this.#pending === 0 || this.#starting) return;
    this.#starting = true;
    clearTimeout(this.#pendingTimer);
    const later = () => {
      this.#pendingTimer = setTimeout(next, 0);
      // An idle pool does not keep the program alive to start workers.
      if (!this.#refed) Deno.unrefTimer(this.#pendingTimer);
    };
    const next = () => {
      this.#pendingTimer = undefined;
      if (
        this.#terminated || this.#broken !== null ||
        (this.#closed && this.#outstanding === 0)
      ) {
        this.#dropPending();
        return;
      }
      this.#pending--;
      this.#spawn();
      this.#schedulePump();
      if (this.#pending > 0) {
        later();
      } else {
        this.#starting = false;
      }
    };
    // From a fresh macrotask: tasks already given to the first worker are
    // posted before this thread blocks in the next worker's start.
    later();
  }

  /** Forgets the workers not started yet. */
  #dropPending(): void {
    this.#pending = 0;
    this.#starting = false;
    clearTimeout(this.#pendingTimer);
    this.#pendingTimer = undefined;
  }

  /**
   * Queues a task.
   *
   * @param spec The task.
   * @returns A promise of its result.
   */
  submit(spec: TaskSpec): Promise<unknown> {
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      const transfer = spec.transfer ? [...spec.transfer] : [];
      const wireArgs = encodeShared(spec.args, transfer) as unknown[];
      const wireKwargs = encodeShared(spec.kwargs, transfer) as
        | Record<string, unknown>
        | undefined;
      const task: Task = {
        id: this.#nextId++,
        spec,
        wireArgs,
        wireKwargs,
        shared: wireArgs !== spec.args || wireKwargs !== spec.kwargs,
        transfer,
        resolve,
        reject,
        settled: false,
        worker: null,
        cleanup: null,
        alone: spec.signal !== undefined || spec.timeout !== undefined ||
          transfer.length > 0,
      };
      this.#watch(task);
      if (task.settled) return;
      this.#outstanding++;
      this.#setRef(true);
      this.#queue.push(task);
      this.#schedulePump();
    });
  }

  #watch(task: Task): void {
    const signal = task.spec.signal;
    if (signal?.aborted) {
      task.settled = true;
      this.#failed++;
      task.reject(signal.reason);
      return;
    }
    task.cleanup = watchTask(
      task.spec,
      "its worker was replaced",
      (reason) => this.#cancel(task, reason),
    );
  }

  /** Stops a task: dropped if queued, its worker replaced if running. */
  #cancel(task: Task, reason: unknown): void {
    if (task.settled) return;
    const worker = task.worker;
    this.#settle(task, false, reason);
    if (worker !== null) {
      // The task is running: the only way to stop arbitrary code is to
      // end its thread. It travelled alone, so nothing else is lost.
      this.#retire(worker);
      // The replacement starts from a later macrotask, as a pending
      // worker (counted in stats().workers): starting a worker thread
      // blocks this thread (25-55 ms, far more on a loaded machine), and
      // the caller hears of the rejection first.
      if (!this.#terminated && this.#broken === null) {
        this.#pending++;
        this.#startPending();
      }
      return;
    }
    this.#schedulePump();
  }

  #settle(task: Task, ok: boolean, value: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.cleanup?.();
    if (ok) {
      this.#done++;
      task.resolve(value);
    } else {
      this.#failed++;
      task.reject(value);
    }
    this.#outstanding--;
    if (this.#outstanding === 0) {
      this.#setRef(false);
      const waiters = this.#drained;
      this.#drained = [];
      for (const w of waiters) w();
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // Gathers every task submitted in this turn of the event loop before
    // dispatching, so a burst of applyAsync calls travels in batches.
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#terminated) return;
    // Fill every worker's pipeline, one batch per worker per round, idle
    // workers first, so the queue spreads evenly. While workers are still
    // to start, a worker takes one batch only, and what is left starts them.
    const rounds = this.#pending > 0 ? 1 : PIPELINE;
    for (let round = 0; round < rounds; round++) {
      const open: WorkerRecord[] = [];
      for (const w of this.#workers) {
        if (!w.leaving && !w.alone && w.batches === round) open.push(w);
      }
      for (let i = 0; i < open.length; i++) {
        const worker = open[i];
        const batch = this.#takeBatch(open.length - i, worker);
        if (batch.length === 0) continue;
        this.#send(worker, batch);
      }
    }
    this.#compactQueue();
    if (this.#pending > 0 && this.#queueHead < this.#queue.length) {
      this.#startPending();
    }
    if (this.#closed && this.#outstanding === 0) {
      this.#dropPending();
      this.#endIdleWorkers();
    }
  }

  #takeBatch(idleCount: number, worker: WorkerRecord): Task[] {
    const batch: Task[] = [];
    const left = this.#queue.length - this.#queueHead;
    if (left <= 0) return batch;
    // Batch by expected work: short tasks up to MAX_BATCH a message,
    // longer ones by fair share (see #fairShare; a worker then runs them
    // back to back), and tasks of unknown duration one at a time, so a
    // long task at the head of a batch never holds the rest back while
    // other workers sit idle.
    const avg = this.#avgTaskMs;
    let limit = avg < SHORT_TASK_MS
      ? Math.min(MAX_BATCH, Math.max(1, Math.floor(left / idleCount)))
      : avg === Infinity
      ? 1
      : this.#fairShare(worker, left, avg);
    const max = this.#opts.maxTasksPerChild;
    if (max !== null) {
      limit = Math.min(limit, max - worker.tasksDone - worker.inflight.length);
    }
    while (batch.length < limit && this.#queueHead < this.#queue.length) {
      const task = this.#queue[this.#queueHead];
      if (task.settled) {
        this.#queueHead++;
        continue;
      }
      // A task that may be stopped goes only to an idle worker, alone, so
      // stopping it (by ending the worker) touches no other task.
      if (task.alone && (batch.length > 0 || worker.batches > 0)) break;
      this.#queueHead++;
      batch.push(task);
      if (task.alone) break;
    }
    return batch;
  }

  /**
   * How many longer tasks to send `worker` now: enough to even out the
   * work every worker has left (tasks in flight, less the time they have
   * been running, plus the queue), at most {@linkcode MAX_BATCH_MS} of it,
   * so that near the end of a map the workers finish together instead of
   * one running its last tasks while the other idles. At least one task
   * when the worker has nothing; none when it is busy enough (it asks
   * again when its current batch ends).
   */
  #fairShare(worker: WorkerRecord, left: number, avg: number): number {
    const now = performance.now();
    let total = left * avg;
    let live = this.#pending;
    for (const w of this.#workers) {
      if (w.leaving) continue;
      live++;
      total += remainingMs(w, now, avg);
    }
    const want = Math.round(
      (total / Math.max(1, live) - remainingMs(worker, now, avg)) / avg,
    );
    return Math.max(
      worker.batches === 0 ? 1 : 0,
      Math.min(want, Math.max(1, Math.floor(MAX_BATCH_MS / avg)), left),
    );
  }

  #compactQueue(): void {
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    } else if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
  }

  #send(worker: WorkerRecord, batch: Task[]): void {
    if (this.#tryLane(worker, batch)) return;
    const wire: WireTask[] = new Array(batch.length);
    const transfer: Transferable[] = [];
    const newFns: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i];
      const w: WireTask = {
        id: t.id,
        fn: t.spec.fnKey,
        mode: t.spec.mode,
        args: t.wireArgs,
        kwargs: t.wireKwargs,
        shared: t.shared,
      };
      if (!worker.seenFns.has(t.spec.fnKey)) {
        w.ref = t.spec.fn;
        worker.seenFns.add(t.spec.fnKey);
        newFns.push(t.spec.fnKey);
      }
      if (t.transfer.length > 0) transfer.push(...t.transfer);
      wire[i] = w;
    }
    try {
      const msg: RunMessage = { t: "run", tasks: wire };
      // deno-lint-ignore no-explicit-any
      (worker.port ?? worker.thread).postMessage(msg, transfer as any[]);
    } catch (err) {
      for (const k of newFns) worker.seenFns.delete(k);
      this.#sendFailed(worker, batch, err);
      return;
    }
    // A worker spinning on its lane goes back to its event loop for this.
    if (worker.lane !== null) laneWake(worker.lane);
    this.#track(worker, batch);
  }

  /**
   * Sends one plain task through a spinning worker's lane (see
   * `_pool/lane.ts`); `false` when it does not qualify.
   */
  #tryLane(worker: WorkerRecord, batch: Task[]): boolean {
    const lane = worker.lane;
    if (lane === null || batch.length !== 1 || worker.batches !== 0) {
      return false;
    }
    const t = batch[0];
    if (
      t.alone || t.shared || t.wireKwargs !== undefined ||
      t.spec.mode !== TaskMode.Apply || !worker.readyFns.has(t.spec.fnKey)
    ) {
      return false;
    }
    const seq = Atomics.load(lane.i32, Lane.RES_SEQ);
    if (!laneOffer(lane, t.id, t.spec.fnKey, t.wireArgs)) return false;
    this.#track(worker, batch);
    laneResult(lane, seq).then((res) => {
      // null: the result comes by message (not plain JSON, or an error).
      if (res === null || t.settled || t.worker !== worker) return;
      this.#onMessage(worker, {
        t: "done",
        results: [{ id: t.id, ok: true, value: res.value }],
      });
    });
    return true;
  }

  #track(worker: WorkerRecord, batch: Task[]): void {
    for (const t of batch) {
      t.worker = worker;
      worker.inflight.push(t);
    }
    if (worker.batches === 0) worker.mark = performance.now();
    worker.batches++;
    if (batch[0].alone) worker.alone = true;
    this.#batchEnds.set(batch[batch.length - 1], worker);
  }

  /** Some argument could not be cloned: find which, fail only those tasks. */
  #sendFailed(worker: WorkerRecord, batch: Task[], err: unknown): void {
    if (batch.length > 1) {
      for (const t of batch) this.#send(worker, [t]);
      return;
    }
    const t = batch[0];
    this.#settle(t, false, describeCloneError(t, err));
  }

  #onMessage(worker: WorkerRecord, msg: PoolWorkerMessage): void {
    if (msg.t === "ready") {
      worker.initialized = true;
      if (this.#closed && this.#outstanding === 0) this.#endIdleWorkers();
      return;
    }
    if (this.#pending > 0) this.#startPending();
    if (msg.t === "init-error") {
      this.#break(
        new ProcessError(msg.error, "initializer"),
      );
      return;
    }
    for (const r of msg.results) {
      // Results come in the order the tasks were sent.
      // In order (the common case: the head), except that a lane result
      // may overtake a message.
      let task: Task | undefined;
      if (worker.inflight[0]?.id === r.id) {
        task = worker.inflight.shift();
      } else {
        const at = worker.inflight.findIndex((t) => t.id === r.id);
        if (at >= 0) task = worker.inflight.splice(at, 1)[0];
      }
      if (task === undefined) continue;
      worker.readyFns.add(task.spec.fnKey);
      task.worker = null;
      if (this.#batchEnds.get(task) === worker) {
        this.#batchEnds.delete(task);
        worker.batches--;
        worker.alone = false;
      }
      worker.tasksDone++;
      worker.everCompleted = true;
      if (r.ok) {
        this.#settle(task, true, decodeShared(r.value));
      } else {
        this.#settle(task, false, new ProcessError(r.error, task.spec.label));
      }
    }
    const now = performance.now();
    const perTask = (now - worker.mark) / Math.max(1, msg.results.length);
    worker.mark = now;
    this.#avgTaskMs = this.#avgTaskMs === Infinity
      ? perTask
      : this.#avgTaskMs * 0.8 + perTask * 0.2;
    if (worker.batches < PIPELINE) this.#schedulePump();
    if (worker.inflight.length === 0) {
      const max = this.#opts.maxTasksPerChild;
      if (max !== null && worker.tasksDone >= max) {
        this.#retire(worker);
        this.#spawnIfNeeded();
      }
      this.#schedulePump();
    }
  }

  #onExit(worker: WorkerRecord, code: number): void {
    worker.exited = true;
    worker.onSettled();
    this.#workers.delete(worker);
    worker.port?.close();
    markDead(worker.key);
    const lost = worker.inflight;
    worker.inflight = [];
    if (!worker.leaving && lost.length > 0) {
      // A child shares no memory to say which task it was running: it
      // is known only when a single task was in flight. Otherwise the
      // batch goes back to the queue one task per message, so the next
      // loss is exact (the culprit then runs twice).
      const current = worker.state !== null
        ? Atomics.load(worker.state, STATE_CURRENT)
        : lost.length === 1
        ? lost[0].id
        : -1;
      const requeue: Task[] = [];
      for (const t of lost) {
        t.worker = null;
        if (t.settled) continue;
        if (t.id === current) {
          this.#settle(
            t,
            false,
            new WorkerLostError(
              `Cannot finish task '${t.spec.label}': its worker ${worker.name} exited with code ${code} while running it (it called exit, crashed or ran out of memory); the worker was replaced`,
              code,
            ),
          );
        } else {
          if (worker.state === null) t.alone = true;
          requeue.push(t);
        }
      }
      // Tasks of the batch that had not run (or whose results were not
      // reported) go back to the front of the queue, in order.
      this.#queue.splice(this.#queueHead, 0, ...requeue);
    }
    // Only a worker that died before it ever started a task says the pool
    // cannot work (a bad initializer or module); one that a task killed
    // (`Deno.exit`, a crash) failed that task alone. A worker thread's
    // CURRENT slot tells; a child says nothing until its first result.
    const startedTask = worker.everCompleted ||
      (worker.state !== null
        ? Atomics.load(worker.state, STATE_CURRENT) !== 0
        : lost.length > 0 && this.#opts.initializer === null);
    if (!worker.leaving && !startedTask) {
      this.#startFailures++;
      if (this.#startFailures >= 3 * this.#opts.size + 3) {
        this.#break(
          new WorkerLostError(
            `Cannot run tasks: pool workers keep exiting before finishing any task (last exit code ${code}); check the initializer and the tasks' modules`,
            code,
          ),
        );
        return;
      }
    }
    this.#spawnIfNeeded();
    this.#schedulePump();
  }

  #spawnIfNeeded(): void {
    if (this.#terminated || this.#broken) return;
    if (this.#closed && this.#outstanding === 0) return;
    let live = this.#pending;
    for (const w of this.#workers) if (!w.leaving) live++;
    while (live < this.#opts.size) {
      this.#spawn();
      live++;
    }
  }

  #spawn(): void {
    const runtime = childRuntime();
    const name = `PoolWorker-${++workerCounter}`;
    const stateBuf = new SharedArrayBuffer(LANE_BYTES);
    const transfer: Transferable[] = [];
    const init: PoolInit = {
      kind: "pool",
      runtime,
      parent: selfAsParent(),
      name,
      initializer: this.#opts.initializer,
      initargs: encodeShared(this.#opts.initargs, transfer) as unknown[],
      state: stateBuf,
    };
    const subprocess = this.#opts.startMethod === "subprocess";
    const channel = subprocess ? null : new MessageChannel();
    const thread: ProcessThread = subprocess
      ? spawnChild(init, {
        permissions: this.#opts.permissions,
        resourceLimits: this.#opts.resourceLimits,
        modules: this.#opts.modules,
      })
      : spawnWorker(init, transfer, this.#opts.resourceLimits, channel!.port2);
    let onSettled!: () => void;
    const settled = new Promise<void>((resolve) => (onSettled = resolve));
    const record: WorkerRecord = {
      name,
      thread,
      key: runtime.key,
      exited: false,
      settled,
      onSettled,
      state: subprocess ? null : new Int32Array(stateBuf),
      lane: subprocess ? null : laneView(stateBuf),
      readyFns: new Set(),
      inflight: [],
      seenFns: new Set(),
      tasksDone: 0,
      leaving: false,
      everCompleted: false,
      batches: 0,
      alone: false,
      mark: 0,
      initialized: this.#opts.initializer === null,
      port: channel?.port1 ?? null,
    };
    this.#workers.add(record);
    if (!this.#refed) thread.unref();
    thread.on("message", (m: PoolWorkerMessage) => this.#onMessage(record, m));
    thread.on("error", () => {
      // Uncatchable failure (e.g. the memory limit): the exit event that
      // follows does the bookkeeping.
    });
    thread.once("exit", (code: number) => this.#onExit(record, code));
  }

  #retire(worker: WorkerRecord): void {
    if (worker.leaving) return;
    worker.leaving = true;
    for (const t of worker.inflight) {
      t.worker = null;
      if (!t.settled) this.#queue.splice(this.#queueHead, 0, t);
    }
    worker.inflight = [];
    if (worker.state === null) {
      // A child: SIGTERM, then SIGKILL; it really ends.
      void worker.thread.terminate();
      return;
    }
    // A worker thread ends itself when asked (see `Process.terminate()`
    // and `_launch/runner.ts`): `Worker.terminate()` would report it gone at
    // once while a busy thread runs on. It stays in `#workers` (as
    // `stopping`) until its "exit"; its late results are dropped (it has
    // nothing in flight). One that does not end soon is reported.
    requestStop(worker.key);
    try {
      worker.thread.postMessage({ t: "stop" });
    } catch {
      // Its port is closed: it is ending already.
    }
    if (worker.lane !== null) laneWake(worker.lane);
    // Held until it ends (a join() awaits that), or until it is reported:
    // one that never stops must not keep the program alive.
    worker.thread.ref();
    const asked = performance.now();
    const check = () => {
      if (worker.exited) return;
      // It took the stop and is ending: freeing a big heap or running
      // unload handlers can take a while, but it is not stuck in a task.
      if (
        Atomics.load(worker.state!, STATE_CURRENT) === STATE_ENDING &&
        performance.now() - asked < ENDING_GRACE_MS
      ) {
        Deno.unrefTimer(setTimeout(check, STOP_WARNING_MS));
        return;
      }
      worker.thread.unref();
      worker.onSettled();
      console.warn(
        `Warning: pool worker '${worker.name}' was taken out of service but its thread is still running synchronous code, which Deno cannot interrupt; another worker took its place, and stats().stopping counts it until it ends. Use startMethod: "subprocess" for tasks that must be stoppable at any time.`,
      );
    };
    Deno.unrefTimer(setTimeout(check, STOP_WARNING_MS));
  }

  /** Workers keep the program alive only while tasks are outstanding. */
  #setRef(on: boolean): void {
    if (this.#refed === on) return;
    this.#refed = on;
    for (const w of this.#workers) {
      // One asked to stop keeps what #retire set.
      if (w.leaving) continue;
      on ? w.thread.ref() : w.thread.unref();
    }
  }

  #break(err: Error): void {
    if (this.#broken) return;
    this.#broken = err;
    this.#dropPending();
    this.#failAll(err);
    for (const w of [...this.#workers]) this.#retire(w);
  }

  #failAll(err: Error): void {
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      this.#settle(this.#queue[i], false, err);
    }
    this.#queue = [];
    this.#queueHead = 0;
    for (const w of this.#workers) {
      for (const t of w.inflight) this.#settle(t, false, err);
      w.inflight = [];
    }
  }

  /**
   * Ends the workers with nothing to do, once their initializer ran: a
   * closed pool still runs the initializer of every worker it started,
   * as Python's does (`terminate()` does not wait for it).
   */
  #endIdleWorkers(): void {
    for (const w of [...this.#workers]) {
      if (w.inflight.length === 0 && w.initialized) this.#retire(w);
    }
  }

  /** No more tasks; workers end once the queue is done. */
  close(): void {
    this.#closed = true;
    this.#schedulePump();
  }

  /**
   * Ends every worker now; tasks not finished reject with `err`.
   *
   * @param err The error unfinished tasks reject with.
   */
  terminate(err: Error): void {
    this.#closed = true;
    if (this.#terminated) return;
    this.#terminated = true;
    this.#dropPending();
    this.#failAll(err);
    for (const w of [...this.#workers]) this.#retire(w);
  }

  /**
   * Resolves once every task settled and every worker exited, except a
   * worker thread that could not be stopped (busy in synchronous code): a
   * warning named it, and `stats().stopping` counts it until it ends.
   */
  async join(): Promise<void> {
    if (this.#outstanding > 0) {
      await new Promise<void>((resolve) => this.#drained.push(resolve));
    }
    this.#dropPending();
    this.#endIdleWorkers();
    // Someone waits for the workers' ends (and initializers): they keep
    // the program alive meanwhile.
    this.#setRef(true);
    await Promise.all([...this.#workers].map((w) => w.settled));
  }

  /** Whether `close()` or `terminate()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the pool cannot run tasks (initializer failed, …). */
  get broken(): Error | null {
    return this.#broken;
  }

  /** Counts for `Pool.stats()`. */
  stats(): PoolStats {
    let running = 0;
    let workers = this.#pending;
    let stopping = 0;
    for (const w of this.#workers) {
      running += w.inflight.length;
      if (!w.leaving) workers++;
      else stopping++;
    }
    let queued = 0;
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      if (!this.#queue[i].settled) queued++;
    }
    return {
      queued,
      running,
      done: this.#done,
      failed: this.#failed,
      workers,
      stopping,
    };
  }
}

/** Expected work (ms) `worker` has left of what it was sent. */
function remainingMs(worker: WorkerRecord, now: number, avg: number): number {
  if (worker.inflight.length === 0) return 0;
  return Math.max(avg / 2, worker.inflight.length * avg - (now - worker.mark));
}

function describeCloneError(task: Task, err: unknown): Error {
  const label = task.spec.label;
  const args = task.spec.args;
  for (let i = 0; i < args.length; i++) {
    try {
      structuredClone(args[i]);
    } catch (e) {
      return new TypeError(
        `Cannot send argument ${i} of task '${label}' to a worker: ${
          (e as Error).message
        }; pass structured-cloneable values (functions, class instances with private state and sockets cannot cross)`,
        { cause: err },
      );
    }
  }
  return new TypeError(
    `Cannot send task '${label}' to a worker: ${(err as Error).message}`,
    { cause: err },
  );
}
