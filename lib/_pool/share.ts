/**
 * Shared batches: one batch of like tasks sent to every idle worker
 * thread at once, each worker taking the next task by claiming its index
 * in shared memory (`Atomics.add`), as a Python pool's workers take theirs
 * from one queue. A worker that becomes idle later (started late, or a
 * replacement) joins the newest shared batch that has tasks left to take.
 *
 * Why: a batch cut in fair halves ends when its slower half does. On a
 * 2-core machine a worker often starts late or pauses for a millisecond or
 * more (the parent's thread holds the core, a garbage collection waits for
 * its helper threads), and the other then idles at the end of the map. With
 * one shared batch the free worker goes on taking tasks: no task waits for
 * a worker that is busy, and it still costs one message each way per
 * worker (bench/RESULTS.md, issue 16).
 *
 * How a shared batch ends: once every task is reported, at once (a worker
 * that took none may not have said so yet; it is free for the next
 * batch). Otherwise once every worker that got it has said, with its last
 * results, that it takes no more of it (`end`), or died: the tasks not
 * reported (taken by a worker that died, or never taken) go back to the
 * front of the queue; the task a dead worker was running fails, as in any
 * batch.
 *
 * @module
 */

import type { RunColumnsMessage } from "../_launch/protocol.ts";
import type { Deque } from "./deque.ts";
import { takeFront } from "./batching.ts";
import type { Task } from "./task.ts";

/**
 * Tasks known to take less than this (ms, on average) are not shared: the
 * parent's thread, not the balance between workers, limits them, and a
 * shared batch costs the parent a little more per task.
 */
export const SHARE_MIN_MS = 0.02;

/**
 * Whether `task` may go in a shared batch led by `first`: the same
 * function and mode, plain arguments (or, all of them, map chunks of
 * numbers packed in shared memory), nothing to transfer or watch.
 */
function like(task: Task, first: Task): boolean {
  return !task.alone && !task.shared && task.wireKwargs === undefined &&
    task.spec.fnKey === first.spec.fnKey &&
    task.spec.mode === first.spec.mode &&
    Array.isArray(task.wireArgs) === Array.isArray(first.wireArgs);
}

/**
 * Takes the like tasks off the front of the queue (settled ones are
 * dropped), at most `max`.
 *
 * @param queue The task queue.
 * @param max The most to take.
 * @returns The tasks, in order (empty when the first cannot be shared).
 */
export function takeLike(queue: Deque<Task>, max: number): Task[] {
  return takeFront(
    queue,
    max,
    (task, taken) => like(task, taken[0] ?? task),
  );
}

/** A worker of a shared batch, as the batch sees it. */
export interface ShareMember {
  /** Whether it has been sent the function's reference. */
  knows(fnKey: number): boolean;
  /** The batch is over: the worker is no longer in it. */
  dropShare(share: Share): void;
}

let shareIds = 0;

/** One shared batch, in the parent. */
export class Share {
  /** Its id, which the workers give back when they are done with it. */
  readonly id = ++shareIds;
  /** Its tasks, in order. */
  readonly tasks: readonly Task[];
  /** Slot 0: the index of the next task not taken. */
  readonly #next: Int32Array<SharedArrayBuffer>;
  /** Its tasks not reported yet, by id. */
  readonly #open = new Map<number, Task>();
  /** Workers it was sent to that have not said they are done with it. */
  readonly #members = new Set<ShareMember>();
  /** The columns every worker gets (`toRunColumns`). */
  readonly #columns: RunColumnsMessage;

  /**
   * @param tasks The tasks (like, see {@linkcode takeLike}).
   * @param columns The tasks as columns, without a function reference.
   */
  constructor(tasks: Task[], columns: RunColumnsMessage) {
    this.tasks = tasks;
    this.#next = new Int32Array(new SharedArrayBuffer(4));
    this.#columns = columns;
    for (const t of tasks) this.#open.set(t.id, t);
  }

  /**
   * The message for one worker: the columns, the claim slot, and the
   * function's reference when the worker has not seen it.
   *
   * @param member The worker.
   * @returns What to post to it.
   */
  messageFor(member: ShareMember): RunColumnsMessage {
    const msg: RunColumnsMessage = {
      ...this.#columns,
      share: { id: this.id, next: this.#next.buffer },
    };
    const first = this.tasks[0];
    if (!member.knows(first.spec.fnKey)) msg.ref = first.spec.fn;
    return msg;
  }

  /**
   * A worker got the batch.
   *
   * @param member The worker.
   */
  join(member: ShareMember): void {
    this.#members.add(member);
  }

  /**
   * Takes a reported task.
   *
   * @param id Its id.
   * @returns The task, or `undefined` when it is not open here.
   */
  take(id: number): Task | undefined {
    const task = this.#open.get(id);
    if (task !== undefined) this.#open.delete(id);
    return task;
  }

  /**
   * Whether `id` is one of its tasks not reported yet.
   *
   * @param id A task id.
   */
  holds(id: number): boolean {
    return this.#open.has(id);
  }

  /** How many of its tasks no worker took yet. */
  get untaken(): number {
    return Math.max(0, this.tasks.length - Atomics.load(this.#next, 0));
  }

  /** How many of its tasks are not reported yet. */
  get open(): number {
    return this.#open.size;
  }

  /**
   * A worker is done with it (said so, died or was retired).
   *
   * @param member The worker.
   * @returns `true` when no worker that got it is left: it is over.
   */
  leave(member: ShareMember): boolean {
    this.#members.delete(member);
    return this.#members.size === 0;
  }

  /**
   * Ends it: no worker takes another of its tasks, and those still in it
   * are free for other work.
   *
   * @returns Its tasks not reported and not settled, in order, to queue
   *   again.
   */
  close(): Task[] {
    Atomics.store(this.#next, 0, this.tasks.length);
    for (const member of this.#members) member.dropShare(this);
    this.#members.clear();
    const rest = this.tasks.filter((t) => !t.settled && this.#open.has(t.id));
    this.#open.clear();
    return rest;
  }
}
