/**
 * The local engine behind `Pool` (the {@linkcode Engine} of
 * `interface.ts`): the task queue, dispatch, cancellation, and replacing
 * lost workers. `pool.ts` validates and documents; this file schedules.
 * A worker's own books and how it is started and stopped are in
 * `worker.ts`; how many tasks go in one message, in `batching.ts`.
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
 * Shared batches: like tasks go to every idle worker thread as one batch,
 * each worker taking the next task as it is free (`share.ts`).
 *
 * Pipelining: a worker has at most {@linkcode PIPELINE} messages in
 * flight (one running, one waiting), so it never idles for a round trip
 * between tasks. It reports each batch as it ends, so the parent sends
 * the next one while the worker runs the waiting one; a worker thread's
 * run messages come over a `MessagePort` that it reads synchronously when
 * its queue runs dry, so it goes on without a turn of its event loop.
 *
 * Start-up: creating a worker thread blocks the caller's thread for tens
 * of milliseconds, so a pool of worker threads starts its first worker at
 * once and the others one per turn of the event loop, when work waits
 * for them (see the constructor).
 *
 * @module
 */

import { ProcessError, WorkerLostError } from "../errors.ts";
import type { PoolWorkerMessage } from "../_launch/protocol.ts";
import { decodeShared } from "../_common/transfer.ts";
import { fromDoneColumns, toRunColumns } from "../_launch/batch_columns.ts";
// Tasks and results may hold primitives: the registry says how each crosses.
import "../_launch/shareables.ts";
import { describeCloneError } from "../_common/clone_error.ts";
import type { Engine, PoolStats, TaskSpec } from "./interface.ts";
import { Ledger } from "./ledger.ts";
import { Deque } from "./deque.ts";
import {
  batchLimit,
  MAX_BATCH,
  PIPELINE,
  takeBatch,
  TaskClock,
} from "./batching.ts";
import { Share, SHARE_MIN_MS, takeLike } from "./share.ts";
import { Task } from "./task.ts";
import { PoolWorker, type WorkerEvents, type WorkerOptions } from "./worker.ts";

/**
 * How long (ms) a new pool of worker threads waits, idle, before it
 * starts the workers after the first (see {@linkcode PoolEngine}).
 */
const STAGGER_IDLE_MS = 20;

/** What the engine needs to start and recycle workers. */
export interface EngineOptions extends WorkerOptions {
  /** Number of workers. */
  size: number;
  /** Tasks a worker runs before it is replaced (`null`: no limit). */
  maxTasksPerChild: number | null;
}

/** The scheduler of one local pool. */
export class PoolEngine implements Engine {
  #opts: EngineOptions;
  #events: WorkerEvents = {
    message: (worker, msg) => this.#onMessage(worker, msg),
    exit: (worker, code) => this.#onExit(worker, code),
  };
  #workers = new Set<PoolWorker>();
  #queue = new Deque<Task>();
  /** Shared batches not over yet (see `share.ts`). */
  #shares = new Set<Share>();
  #nextId = 1;
  #pumpScheduled = false;
  #closed = false;
  #terminated = false;
  #broken: Error | null = null;
  #ledger = new Ledger<Task>(
    "its worker was replaced",
    (task, reason) => this.#cancel(task, reason),
    (busy) => this.#setRef(busy),
  );
  #startFailures = 0;
  #refed = true;
  /** How long a task takes on a worker, on average. */
  #clock = new TaskClock();
  /** Workers of the pool's size not started yet (see the constructor). */
  #pending = 0;
  /** The timer that starts the next pending worker, if one is set. */
  #pendingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the pending workers are being started, one per timer turn. */
  #starting = false;

  /**
   * Starts the first workers (see the module doc).
   *
   * @param opts The pool's size, initializer, limits and start method.
   */
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
        if (this.#ledger.outstanding === 0) this.#startPending();
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
      if (this.#stopping) {
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

  /** Whether no worker should start any more. */
  get #stopping(): boolean {
    return this.#terminated || this.#broken !== null ||
      (this.#closed && this.#ledger.outstanding === 0);
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
      const task = new Task(this.#nextId++, spec, resolve, reject);
      if (!this.#ledger.open(task)) return;
      this.#queue.push(task);
      this.#schedulePump();
    });
  }

  /** Stops a task: dropped if queued, its worker replaced if running. */
  #cancel(task: Task, reason: unknown): void {
    if (task.settled) return;
    const worker = task.worker;
    this.#ledger.settle(task, false, reason);
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
      const open: PoolWorker[] = [];
      for (const w of this.#workers) if (w.open(round)) open.push(w);
      if (round === 0 && this.#share(open)) continue;
      for (let i = 0; i < open.length && this.#queue.length > 0; i++) {
        const worker = open[i];
        const limit = batchLimit(worker, {
          avgTaskMs: this.#clock.avgMs,
          queued: this.#queue.length,
          toServe: open.length - i,
          workers: this.#workers,
          pending: this.#pending,
          maxTasksPerChild: this.#opts.maxTasksPerChild,
        });
        const batch = takeBatch(this.#queue, limit, worker.batches > 0);
        if (batch.length > 0) this.#send(worker, batch);
      }
    }
    if (this.#pending > 0 && this.#queue.length > 0) this.#startPending();
    if (this.#closed && this.#ledger.outstanding === 0) {
      this.#dropPending();
      this.#endIdleWorkers();
    }
  }

  /**
   * Gives the idle workers a shared batch (see `share.ts`): the newest one
   * that has tasks no worker took yet, else a new one of the like tasks at
   * the front of the queue. Only worker threads share; tasks known to take
   * under {@linkcode SHARE_MIN_MS} go in batches of their own, and so do
   * all of a pool of one worker or with `maxTasksPerChild`.
   *
   * @returns Whether the idle workers got one.
   */
  #share(open: PoolWorker[]): boolean {
    if (
      open.length === 0 || this.#opts.size < 2 ||
      this.#clock.avgMs < SHARE_MIN_MS ||
      this.#opts.maxTasksPerChild !== null ||
      !open.every((w) => w.sharesMemory)
    ) {
      return false;
    }
    let share: Share | undefined;
    for (const s of this.#shares) if (s.untaken > 0) share = s;
    let from = 0;
    if (share === undefined) {
      const tasks = takeLike(this.#queue, MAX_BATCH * this.#opts.size);
      const columns = tasks.length >= 2
        ? toRunColumns(tasks.map((t) => t.toWire(false)))
        : null;
      if (columns !== null) share = new Share(tasks, columns);
      // A worker that cannot take it (an argument that cannot be cloned):
      // the tasks go in batches of their own, which find the culprit.
      if (share === undefined || open[0].sendShare(share) !== undefined) {
        this.#queue.unshiftAll(tasks);
        return false;
      }
      this.#shares.add(share);
      from = 1;
    }
    for (let i = from; i < open.length; i++) open[i].sendShare(share);
    // Workers not started yet join it once they are.
    if (this.#pending > 0) this.#startPending();
    return true;
  }

  /** A shared batch is over: what was not reported is queued again. */
  #closeShare(share: Share): void {
    this.#shares.delete(share);
    const rest = share.close();
    if (rest.length === 0) return;
    this.#queue.unshiftAll(rest);
    this.#schedulePump();
  }

  #send(worker: PoolWorker, batch: Task[]): void {
    const err = worker.send(batch);
    if (err === undefined) return;
    // Some argument could not be cloned: find which, fail only those tasks.
    if (batch.length > 1) {
      for (const t of batch) this.#send(worker, [t]);
      return;
    }
    this.#ledger.settle(batch[0], false, cloneError(batch[0], err));
  }

  #onMessage(worker: PoolWorker, msg: PoolWorkerMessage): void {
    if (msg.t === "ready") {
      worker.markInitialized();
      if (this.#closed && this.#ledger.outstanding === 0) {
        this.#endIdleWorkers();
      }
      return;
    }
    if (this.#pending > 0) this.#startPending();
    if (msg.t === "init-error") {
      this.#break(new ProcessError(msg.error, "initializer"));
      return;
    }
    const results = msg.t === "done-columns"
      ? fromDoneColumns(msg)
      : msg.results;
    for (const r of results) {
      const task = worker.takeResult(r.id);
      if (task === undefined) continue;
      if (r.ok) {
        const value = r.packed
          ? new Float64Array(r.value as ArrayBuffer)
          : r.shared
          ? decodeShared(r.value)
          : r.value;
        this.#ledger.settle(task, true, value);
      } else {
        this.#ledger.settle(
          task,
          false,
          new ProcessError(r.error, task.spec.label),
        );
      }
    }
    if (msg.end !== undefined) {
      const share = worker.endShare(msg.end);
      if (share !== undefined && (share.leave(worker) || share.open === 0)) {
        this.#closeShare(share);
      }
    }
    for (const share of worker.sharesDone()) this.#closeShare(share);
    if (results.length > 0) {
      const elapsed = worker.lap(performance.now());
      if (elapsed !== null) this.#clock.record(elapsed, results.length);
    }
    if (worker.batches < PIPELINE) this.#schedulePump();
    if (worker.inflight === 0) {
      const max = this.#opts.maxTasksPerChild;
      if (max !== null && worker.tasksDone >= max) {
        this.#retire(worker);
        this.#spawnIfNeeded();
      }
      this.#schedulePump();
    }
  }

  #onExit(worker: PoolWorker, code: number): void {
    this.#workers.delete(worker);
    const { lost, current } = worker.ended();
    if (!worker.leaving && lost.length > 0) {
      this.#requeueLost(worker, lost, current, code);
    }
    for (const share of worker.leaveShares()) {
      const running = share.take(current);
      if (running !== undefined) this.#lose(running, worker, code);
      if (share.leave(worker)) this.#closeShare(share);
    }
    if (
      !worker.leaving &&
      !worker.startedTask(lost.length, this.#opts.initializer !== null)
    ) {
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

  /**
   * A worker died with tasks in flight: the one it was running fails;
   * the others (not run, or not reported) go back to the front of the
   * queue, in order. A child cannot say which task it ran unless only one
   * was in flight, so its batch goes back one task per message, and the
   * next loss is exact (the culprit then runs twice).
   */
  #requeueLost(
    worker: PoolWorker,
    lost: Task[],
    current: number,
    code: number,
  ): void {
    const requeue: Task[] = [];
    for (const t of lost) {
      if (t.settled) continue;
      if (t.id === current) {
        this.#lose(t, worker, code);
      } else {
        if (!worker.sharesMemory) t.alone = true;
        requeue.push(t);
      }
    }
    this.#queue.unshiftAll(requeue);
  }

  /** Fails the task a worker was running when it exited. */
  #lose(task: Task, worker: PoolWorker, code: number): void {
    this.#ledger.settle(
      task,
      false,
      new WorkerLostError(
        `Cannot finish task '${task.spec.label}': its worker ${worker.name} exited with code ${code} while running it (it called exit, crashed or ran out of memory); the worker was replaced`,
        code,
      ),
    );
  }

  #spawnIfNeeded(): void {
    if (this.#terminated || this.#broken) return;
    if (this.#closed && this.#ledger.outstanding === 0) return;
    let live = this.#pending;
    for (const w of this.#workers) if (!w.leaving) live++;
    while (live < this.#opts.size) {
      this.#spawn();
      live++;
    }
  }

  #spawn(): void {
    this.#workers.add(new PoolWorker(this.#opts, this.#events, this.#refed));
  }

  /** Takes a worker out of service; what it had in flight is requeued. */
  #retire(worker: PoolWorker): void {
    this.#queue.unshiftAll(worker.retire());
    for (const share of worker.leaveShares()) {
      if (share.leave(worker)) this.#closeShare(share);
    }
  }

  /** Workers keep the program alive only while tasks are outstanding. */
  #setRef(on: boolean): void {
    if (this.#refed === on) return;
    this.#refed = on;
    for (const w of this.#workers) w.setRef(on);
    // A replacement waiting to start (after a timeout or an abort retired
    // its worker) must keep the program alive once a task is waiting for
    // it: the retired worker may be gone before it starts.
    if (this.#pendingTimer === undefined) return;
    if (on) Deno.refTimer(this.#pendingTimer);
    else Deno.unrefTimer(this.#pendingTimer);
  }

  #break(err: Error): void {
    if (this.#broken) return;
    this.#broken = err;
    this.#stopAll(err);
  }

  /** Fails every task with `err` and retires every worker. */
  #stopAll(err: Error): void {
    this.#dropPending();
    for (const t of this.#queue.drain()) this.#ledger.settle(t, false, err);
    for (const w of this.#workers) {
      for (const t of w.takeAll()) this.#ledger.settle(t, false, err);
    }
    for (const share of this.#shares) {
      for (const t of share.tasks) {
        if (!t.settled) this.#ledger.settle(t, false, err);
      }
    }
    for (const w of [...this.#workers]) this.#retire(w);
  }

  /**
   * Ends the workers with nothing to do, once their initializer ran: a
   * closed pool still runs the initializer of every worker it started,
   * as Python's does (`terminate()` does not wait for it).
   */
  #endIdleWorkers(): void {
    for (const w of [...this.#workers]) {
      if (w.inflight === 0 && w.initialized) this.#retire(w);
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
    this.#stopAll(err);
  }

  /**
   * Resolves once every task settled and every worker exited, except a
   * worker thread that could not be stopped (busy in synchronous code): a
   * warning named it, and `stats().stopping` counts it until it ends.
   */
  async join(): Promise<void> {
    await this.#ledger.drained();
    this.#dropPending();
    this.#endIdleWorkers();
    // Someone waits for the workers' ends (and initializers): they keep
    // the program alive meanwhile.
    this.#setRef(true);
    await Promise.all([...this.#workers].map((w) => w.settled));
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
    for (const share of this.#shares) running += share.open;
    for (const w of this.#workers) {
      running += w.running;
      if (!w.leaving) workers++;
      else stopping++;
    }
    let queued = 0;
    for (const t of this.#queue) if (!t.settled) queued++;
    return {
      queued,
      running,
      done: this.#ledger.done,
      failed: this.#ledger.failed,
      workers,
      stopping,
    };
  }
}

function cloneError(task: Task, err: unknown): TypeError {
  const label = task.spec.label;
  return describeCloneError(
    err,
    Array.from(task.spec.args, (arg, i) => [`argument ${i}`, arg] as const),
    (what, why) =>
      what === null
        ? `Cannot send task '${label}' to a worker: ${why}`
        : `Cannot send ${what} of task '${label}' to a worker: ${why}; pass structured-cloneable values (functions, class instances with private state and sockets cannot cross)`,
  );
}
