/**
 * The batching policy of the local pool engine: how many queued tasks go
 * to a worker in one message. Pure decisions over counts and times, so
 * each can be tested alone (tests/pool_batching_test.ts); the engine
 * (`engine.ts`) applies them.
 *
 * Tasks known to be short (a moving average of task time below
 * {@linkcode SHORT_TASK_MS}) travel up to {@linkcode MAX_BATCH} to a
 * message, so a flood of small tasks costs one message each way per
 * batch; longer ones travel up to {@linkcode MAX_BATCH_MS} of work to a
 * message, sized so the workers finish a map together (the fair share);
 * tasks of unknown length travel one at a time, so a long task at the head
 * of a batch never holds the rest back while other workers sit idle. A
 * task with a signal, a timeout or transferables travels alone to an idle
 * worker, with nothing queued behind it, so stopping it (by ending its
 * worker) touches no other task.
 *
 * Idle worker threads of a pool of two or more get their tasks another way
 * first, unless tasks are known to take under `SHARE_MIN_MS`: one shared
 * batch, from which each takes the next task as it is free (`share.ts`).
 * This policy then serves `"subprocess"` children, the pipelined batch
 * behind a worker's current one, and the shortest tasks.
 *
 * @module
 */

import type { Deque } from "./deque.ts";

/** Most tasks sent to a worker in one message. */
export const MAX_BATCH = 256;

/** Tasks shorter than this (ms, on average) are batched freely. */
export const SHORT_TASK_MS = 0.2;

/**
 * Longer tasks are batched up to about this much work (ms) a message.
 * Each batch boundary costs a worker 100-400 µs on a 2-core machine (its
 * report wakes the parent's thread, which takes the core for a moment):
 * with 1 ms tasks, 10 ms batches gave a 1.80x speed-up on 2 cores, 40 ms
 * batches 1.90x (bench/RESULTS.md). The fair share keeps the workers
 * finishing together.
 */
export const MAX_BATCH_MS = 40;

/**
 * Messages (batches) a worker may have in flight: one running and one
 * waiting, so a worker never sits idle for a round trip between tasks.
 */
export const PIPELINE = 2;

/** What the policy needs to know of a worker's load. */
export interface WorkerLoad {
  /** Tasks sent and not reported. */
  readonly inflight: number;
  /** Batches sent and not finished. */
  readonly batches: number;
  /** When it last started or reported work (`performance.now()`). */
  readonly mark: number;
  /** Tasks it has finished. */
  readonly tasksDone: number;
  /** Taken out of service: it gets nothing more. */
  readonly leaving: boolean;
}

/** What a batch is cut from. */
export interface BatchContext {
  /** Moving average of a task's time (ms); `Infinity` when unknown. */
  avgTaskMs: number;
  /** Tasks waiting in the queue. */
  queued: number;
  /** Workers still to be served this round, this one included. */
  toServe: number;
  /** Every worker, this one included (those leaving are skipped). */
  workers: Iterable<WorkerLoad>;
  /** Workers of the pool's size not started yet (they will share too). */
  pending: number;
  /** Tasks a worker runs before it is replaced (`null`: no limit). */
  maxTasksPerChild: number | null;
  /** The time (`performance.now()` when omitted). */
  now?: number;
}

/**
 * How many queued tasks to send `worker` now (0: none).
 *
 * @param worker The worker to send to.
 * @param ctx The queue and the other workers.
 * @returns The most tasks its next batch may hold.
 */
export function batchLimit(worker: WorkerLoad, ctx: BatchContext): number {
  const { avgTaskMs: avg, queued } = ctx;
  if (queued <= 0) return 0;
  let limit = avg < SHORT_TASK_MS
    ? Math.min(MAX_BATCH, Math.max(1, Math.floor(queued / ctx.toServe)))
    : avg === Infinity
    ? 1
    : fairShare(worker, ctx);
  const max = ctx.maxTasksPerChild;
  if (max !== null) {
    limit = Math.min(limit, max - worker.tasksDone - worker.inflight);
  }
  return limit;
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
function fairShare(worker: WorkerLoad, ctx: BatchContext): number {
  const { avgTaskMs: avg, queued } = ctx;
  const now = ctx.now ?? performance.now();
  let total = queued * avg;
  let live = ctx.pending;
  for (const w of ctx.workers) {
    if (w.leaving) continue;
    live++;
    total += remainingMs(w, now, avg);
  }
  const want = Math.round(
    (total / Math.max(1, live) - remainingMs(worker, now, avg)) / avg,
  );
  return Math.max(
    worker.batches === 0 ? 1 : 0,
    Math.min(want, Math.max(1, Math.floor(MAX_BATCH_MS / avg)), queued),
  );
}

/** Expected work (ms) `worker` has left of what it was sent. */
function remainingMs(worker: WorkerLoad, now: number, avg: number): number {
  if (worker.inflight === 0) return 0;
  return Math.max(avg / 2, worker.inflight * avg - (now - worker.mark));
}

/** What the policy needs to know of a queued task. */
interface Batchable {
  /** Settled while queued (cancelled): skipped. */
  readonly settled: boolean;
  /** Travels alone, to an idle worker. */
  readonly alone: boolean;
}

/**
 * Takes the next batch off the front of the queue: up to `limit` tasks,
 * skipping settled ones; a task that travels alone only to a worker with
 * nothing in flight, and nothing after it.
 *
 * @param queue The task queue.
 * @param limit From {@linkcode batchLimit}.
 * @param busy Whether the worker has a batch in flight.
 * @returns The batch (empty: nothing to send).
 */
export function takeBatch<T extends Batchable>(
  queue: Deque<T>,
  limit: number,
  busy: boolean,
): T[] {
  // A task that travels alone is the last one taken, or left.
  return takeFront(
    queue,
    limit,
    (task, batch) => !task.alone || (batch.length > 0 || busy ? false : "last"),
  );
}

/**
 * Takes tasks off the front of the queue while `accept` lets it, at most
 * `max`; settled ones (cancelled while queued) are dropped on the way.
 *
 * @param queue The task queue.
 * @param max The most to take.
 * @param accept Given the task at the front and those taken so far:
 *   `true` takes it, `false` leaves it and stops, `"last"` takes it and
 *   stops.
 * @returns The tasks taken, in order.
 */
export function takeFront<T extends { readonly settled: boolean }>(
  queue: Deque<T>,
  max: number,
  accept: (task: T, taken: readonly T[]) => boolean | "last",
): T[] {
  const taken: T[] = [];
  while (taken.length < max) {
    const task = queue.peek();
    if (task === undefined) break;
    if (task.settled) {
      queue.shift();
      continue;
    }
    const verdict = accept(task, taken);
    if (verdict === false) break;
    queue.shift();
    taken.push(task);
    if (verdict === "last") break;
  }
  return taken;
}

/**
 * The moving average of how long a task takes on a worker, from the
 * batches' reports: unknown (`Infinity`, so tasks go one at a time) until
 * the first report.
 */
export class TaskClock {
  /** The average (ms). */
  avgMs = Infinity;

  /**
   * Counts a report.
   *
   * @param elapsedMs Time since the worker started or last reported.
   * @param tasks Tasks the report finished.
   */
  record(elapsedMs: number, tasks: number): void {
    const perTask = elapsedMs / Math.max(1, tasks);
    this.avgMs = this.avgMs === Infinity
      ? perTask
      : this.avgMs * 0.8 + perTask * 0.2;
  }
}
