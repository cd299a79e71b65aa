/**
 * One pool worker as the engine sees it: its thread (a worker thread or a
 * `deno` child), the tasks in flight on it, the functions it knows, its
 * fast lane, and how it is stopped. The engine (`engine.ts`) decides what
 * to send where; this class sends it and keeps the worker's books.
 *
 * @module
 */

import type { MessagePort } from "node:worker_threads";
import { childRuntime, markDead, requestStop } from "../_common/runtime.ts";
import { selfAsParent } from "../_common/self.ts";
import { encodeShared } from "../_common/transfer.ts";
import type { StartMethod } from "../_common/start_method.ts";
import {
  type FunctionRef,
  type PoolInit,
  type PoolWorkerMessage,
  STATE_CURRENT,
  STATE_ENDING,
  TaskMode,
  type TasksMessage,
  type WireTask,
} from "../_launch/protocol.ts";
import type { ResourceLimits } from "../_launch/worker_spawn.ts";
import { toRunColumns } from "../_launch/batch_columns.ts";
import { launch, type ProcessThread } from "../_launch/launch.ts";
import {
  Lane,
  LANE_BYTES,
  laneOffer,
  laneResult,
  type LaneView,
  laneView,
  laneWake,
} from "./lane.ts";
import type { WorkerLoad } from "./batching.ts";
import type { Task } from "./task.ts";
import type { Share, ShareMember } from "./share.ts";

/**
 * How long (ms) a worker thread asked to stop may take before a warning
 * says it cannot be stopped (as for a `Process`, see `process.ts`).
 */
const STOP_WARNING_MS = 300;

/** How long a worker that took its stop may take to end, unreported. */
const ENDING_GRACE_MS = 10_000;

/** How every worker of a pool is started. */
export interface WorkerOptions {
  /** Runs once in each worker before its first task. */
  initializer: FunctionRef | null;
  /** The initializer's arguments. */
  initargs: unknown[];
  /** Memory limits of each worker. */
  resourceLimits?: ResourceLimits;
  /** How workers are started. */
  startMethod?: StartMethod;
  /** Deno permissions of each `"subprocess"` worker. */
  permissions?: Deno.PermissionOptions;
  /** Modules a `"subprocess"` worker may import functions from. */
  modules?: string[];
}

/** What a worker tells its engine. */
export interface WorkerEvents {
  /** A message came (by its thread, or a result by its lane). */
  message(worker: PoolWorker, msg: PoolWorkerMessage): void;
  /** Its thread ended. */
  exit(worker: PoolWorker, code: number): void;
}

let workerCounter = 0;

const NO_SHARES: readonly Share[] = [];

/** One worker of a local pool. */
export class PoolWorker implements WorkerLoad, ShareMember {
  /** `PoolWorker-N`. */
  readonly name: string;
  /**
   * Settles when the worker ended or, once it was asked to stop, when it
   * had {@linkcode STOP_WARNING_MS} to do so (see `PoolEngine.join()`).
   */
  readonly settled: Promise<void>;
  #onSettled!: () => void;
  #thread: ProcessThread;
  #events: WorkerEvents;
  /** Its key in the liveness table. */
  #key: number;
  /** The worker's CURRENT slot; `null` for a child (no shared memory). */
  #state: Int32Array | null;
  /** The worker's fast lane; `null` for a child (no shared memory). */
  #lane: LaneView | null;
  /**
   * Where run messages go: a worker thread's task channel (which it can
   * read between batches without a turn of its event loop), or `null`
   * for a child (its thread).
   */
  #port: MessagePort | null;
  /** Tasks sent and not reported, in the order sent. */
  #inflight: Task[] = [];
  /** The last task of each batch in flight (its result ends the batch). */
  #batchEnds = new Set<Task>();
  /** Shared batches it got and has not said it is done with, oldest first. */
  #shares: Share[] = [];
  /** Function keys whose reference it was sent. */
  #seenFns = new Set<number>();
  /** Functions it has loaded (it finished a task with them). */
  #readyFns = new Set<number>();
  #tasksDone = 0;
  /** Reports timed by {@linkcode lap}. */
  #laps = 0;
  #alone = false;
  #mark = 0;
  #leaving = false;
  #exited = false;
  #initialized: boolean;

  /**
   * Starts a worker.
   *
   * @param opts How the pool's workers start.
   * @param events Where its messages and exit go.
   * @param refed Whether it keeps the program alive from the start.
   */
  constructor(opts: WorkerOptions, events: WorkerEvents, refed: boolean) {
    const runtime = childRuntime();
    this.name = `PoolWorker-${++workerCounter}`;
    this.#key = runtime.key;
    this.#events = events;
    this.#initialized = opts.initializer === null;
    this.settled = new Promise<void>((resolve) => (this.#onSettled = resolve));
    const stateBuf = new SharedArrayBuffer(LANE_BYTES);
    const transfer: Transferable[] = [];
    const init: PoolInit = {
      kind: "pool",
      runtime,
      parent: selfAsParent(),
      name: this.name,
      initializer: opts.initializer,
      initargs: encodeShared(opts.initargs, transfer) as unknown[],
      state: stateBuf,
    };
    const launched = launch(init, {
      startMethod: opts.startMethod ?? "worker",
      transfer,
      permissions: opts.permissions,
      resourceLimits: opts.resourceLimits,
      modules: opts.modules,
    });
    this.#thread = launched.thread;
    this.#port = launched.taskPort;
    // Only a worker thread shares memory: its state slots and fast lane.
    const shared = opts.startMethod !== "subprocess";
    this.#state = shared ? new Int32Array(stateBuf) : null;
    this.#lane = shared ? laneView(stateBuf) : null;
    if (!refed) this.#thread.unref();
    this.#thread.on(
      "message",
      (m: PoolWorkerMessage) => events.message(this, m),
    );
    this.#thread.on("error", () => {
      // Uncatchable failure (e.g. the memory limit): the exit event that
      // follows does the bookkeeping.
    });
    this.#thread.once("exit", (code: number) => events.exit(this, code));
  }

  /**
   * Tasks sent and not reported; a shared batch it is taking tasks from
   * counts as one.
   */
  get inflight(): number {
    return this.#inflight.length + this.#shares.length;
  }

  /** Tasks sent to it alone and not reported (shared batches aside). */
  get running(): number {
    return this.#inflight.length;
  }

  /**
   * Whether it was sent the reference of the function with key `fnKey`.
   *
   * @param fnKey The function's key.
   * @returns `true` when it was.
   */
  knows(fnKey: number): boolean {
    return this.#seenFns.has(fnKey);
  }

  /** Batches sent and not finished: each normal one, and each shared one. */
  get batches(): number {
    return this.#batchEnds.size + this.#shares.length;
  }

  /** Tasks it has finished. */
  get tasksDone(): number {
    return this.#tasksDone;
  }

  /**
   * Whether it takes a batch in pipeline round `round` (it has `round`
   * batches in flight, none of them a task that travels alone; nothing
   * waits behind a shared batch, whose tasks it takes as it is free).
   *
   * @param round 0: an idle worker; 1: one with a batch in flight.
   * @returns `true` when a batch may go to it now.
   */
  open(round: number): boolean {
    return !this.#leaving && !this.#alone && this.batches === round &&
      (round === 0 || this.#shares.length === 0);
  }

  /** Whether its initializer has run (`true` when the pool has none). */
  get initialized(): boolean {
    return this.#initialized;
  }

  /** Its initializer ran ("ready"). */
  markInitialized(): void {
    this.#initialized = true;
  }

  /** When it last started or reported work, for timing tasks. */
  get mark(): number {
    return this.#mark;
  }

  /**
   * Time since it last started or reported work, and a new mark.
   *
   * @param now `performance.now()`.
   * @returns The elapsed milliseconds; `null` at its first report, whose
   *   time may hold the worker's own start (tens of milliseconds) and
   *   loading the task's module: no measure of its tasks.
   */
  lap(now: number): number | null {
    const elapsed = now - this.#mark;
    this.#mark = now;
    if (this.#laps++ === 0) return null;
    return elapsed;
  }

  /**
   * Sends a batch: through the lane when it is one plain task for a
   * spinning worker, else in a run message.
   *
   * @param batch The tasks, in order.
   * @returns `undefined` when sent, else what `postMessage` threw (a
   *   value that cannot be cloned; nothing was sent).
   */
  send(batch: Task[]): unknown {
    if (this.#tryLane(batch)) return undefined;
    const wire: WireTask[] = new Array(batch.length);
    const transfer: Transferable[] = [];
    const newFns: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i];
      const fresh = !this.#seenFns.has(t.spec.fnKey);
      if (fresh) {
        this.#seenFns.add(t.spec.fnKey);
        newFns.push(t.spec.fnKey);
      }
      if (t.transfer.length > 0) transfer.push(...t.transfer);
      wire[i] = t.toWire(fresh);
    }
    try {
      // To a thread, a batch of like tasks crosses as columns.
      const msg: TasksMessage = (this.#state !== null &&
        toRunColumns(wire)) || { t: "run", tasks: wire };
      // deno-lint-ignore no-explicit-any
      (this.#port ?? this.#thread).postMessage(msg, transfer as any[]);
    } catch (err) {
      for (const k of newFns) this.#seenFns.delete(k);
      return err;
    }
    // A worker spinning on its lane goes back to its event loop for this.
    if (this.#lane !== null) laneWake(this.#lane);
    this.#track(batch);
    return undefined;
  }

  /**
   * Sends it a shared batch (see `share.ts`); only a worker thread takes
   * one.
   *
   * @param share The batch.
   * @returns `undefined` when sent, else what `postMessage` threw.
   */
  sendShare(share: Share): unknown {
    try {
      this.#port!.postMessage(share.messageFor(this));
    } catch (err) {
      return err;
    }
    this.#seenFns.add(share.tasks[0].spec.fnKey);
    laneWake(this.#lane!);
    share.join(this);
    if (this.batches === 0) this.#mark = performance.now();
    this.#shares.push(share);
    return undefined;
  }

  /**
   * It said it is done with a shared batch.
   *
   * @param id The batch's id.
   * @returns The batch, or `undefined` when it was over already.
   */
  endShare(id: number): Share | undefined {
    const share = this.#shares.find((s) => s.id === id);
    if (share !== undefined) this.dropShare(share);
    return share;
  }

  /**
   * It is no longer in `share`.
   *
   * @param share A shared batch.
   */
  dropShare(share: Share): void {
    const at = this.#shares.indexOf(share);
    if (at >= 0) this.#shares.splice(at, 1);
  }

  /**
   * Its shared batches whose every task is reported.
   *
   * @returns Those batches (usually none).
   */
  sharesDone(): readonly Share[] {
    return this.#shares.length === 0
      ? NO_SHARES
      : this.#shares.filter((s) => s.open === 0);
  }

  /**
   * It leaves every shared batch it is in (it ended or was retired).
   *
   * @returns Those batches.
   */
  leaveShares(): Share[] {
    const shares = this.#shares;
    this.#shares = [];
    return shares;
  }

  /**
   * Sends one plain task through a spinning worker's lane (see
   * `lane.ts`); `false` when it does not qualify.
   */
  #tryLane(batch: Task[]): boolean {
    const lane = this.#lane;
    if (lane === null || batch.length !== 1 || this.batches !== 0) {
      return false;
    }
    const t = batch[0];
    if (
      t.alone || t.shared || t.wireKwargs !== undefined ||
      t.spec.mode !== TaskMode.Apply || !this.#readyFns.has(t.spec.fnKey)
    ) {
      return false;
    }
    const seq = Atomics.load(lane.i32, Lane.RES_SEQ);
    if (!laneOffer(lane, t.id, t.spec.fnKey, t.wireArgs as unknown[])) {
      return false;
    }
    this.#track(batch);
    laneResult(lane, seq).then((res) => {
      // null: the result comes by message (not plain JSON, or an error).
      if (res === null || t.settled || t.worker !== this) return;
      this.#events.message(this, {
        t: "done",
        results: [{ id: t.id, ok: true, value: res.value }],
      });
    });
    return true;
  }

  #track(batch: Task[]): void {
    for (const t of batch) {
      t.worker = this;
      this.#inflight.push(t);
    }
    if (this.batches === 0) this.#mark = performance.now();
    if (batch[0].alone) this.#alone = true;
    this.#batchEnds.add(batch[batch.length - 1]);
  }

  /**
   * Takes a reported task off the in-flight list.
   *
   * @param id The task's id.
   * @returns The task, or `undefined` when it is not in flight here (a
   *   late or duplicate report).
   */
  takeResult(id: number): Task | undefined {
    // Results come in the order the tasks were sent (the head), except
    // that a lane result may overtake a message.
    const inflight = this.#inflight;
    let task: Task | undefined;
    if (inflight[0]?.id === id) {
      task = inflight.shift();
    } else {
      const at = inflight.findIndex((t) => t.id === id);
      if (at >= 0) task = inflight.splice(at, 1)[0];
    }
    if (task !== undefined) {
      task.worker = null;
      if (this.#batchEnds.delete(task)) this.#alone = false;
    } else {
      for (const share of this.#shares) {
        task = share.take(id);
        if (task !== undefined) break;
      }
      if (task === undefined) return undefined;
    }
    this.#readyFns.add(task.spec.fnKey);
    this.#tasksDone++;
    return task;
  }

  /**
   * Takes every task in flight (the pool fails or requeues them); shared
   * batches aside (see {@linkcode leaveShares}).
   *
   * @returns The tasks, in the order sent.
   */
  takeAll(): Task[] {
    const tasks = this.#inflight;
    this.#inflight = [];
    this.#batchEnds.clear();
    for (const t of tasks) t.worker = null;
    return tasks;
  }

  /**
   * Its thread ended: it is marked dead, and what it had in flight is
   * handed back with the id of the task it was running.
   *
   * @returns The lost tasks and the running one's id (`-1`: unknown).
   */
  ended(): { lost: Task[]; current: number } {
    this.#exited = true;
    this.#onSettled();
    this.#port?.close();
    markDead(this.#key);
    const lost = this.takeAll();
    // A child shares no memory to say which task it was running: it is
    // known only when a single task was in flight.
    const current = this.#state !== null
      ? Atomics.load(this.#state, STATE_CURRENT)
      : lost.length === 1
      ? lost[0].id
      : -1;
    return { lost, current };
  }

  /** Whether it shares memory with the pool (a worker thread). */
  get sharesMemory(): boolean {
    return this.#state !== null;
  }

  /**
   * Whether it had started a task when it ended. Only a worker that died
   * before it ever started one says the pool cannot work (a bad
   * initializer or module); one that a task killed failed that task
   * alone. A worker thread's CURRENT slot tells; a child says nothing
   * until its first result.
   *
   * @param lost How many tasks it had in flight.
   * @param hasInitializer Whether the pool has an initializer.
   * @returns `true` when a task of its own ended it.
   */
  startedTask(lost: number, hasInitializer: boolean): boolean {
    if (this.#tasksDone > 0) return true;
    return this.#state !== null
      ? Atomics.load(this.#state, STATE_CURRENT) !== 0
      : lost > 0 && !hasInitializer;
  }

  /** Set when the pool ends it on purpose; its exit is then not a loss. */
  get leaving(): boolean {
    return this.#leaving;
  }

  /**
   * Keeps the program alive (or not) while it runs. One asked to stop
   * keeps what {@linkcode retire} set.
   *
   * @param on Whether to keep it alive.
   */
  setRef(on: boolean): void {
    if (this.#leaving) return;
    on ? this.#thread.ref() : this.#thread.unref();
  }

  /**
   * Takes it out of service and asks it to end.
   *
   * @returns The unsettled tasks it had in flight, to requeue.
   */
  retire(): Task[] {
    if (this.#leaving) return [];
    this.#leaving = true;
    const back = this.takeAll().filter((t) => !t.settled);
    if (this.#state === null) {
      // A child: SIGTERM, then SIGKILL; it really ends.
      void this.#thread.terminate();
      return back;
    }
    this.#stopThread(this.#state);
    return back;
  }

  /**
   * A worker thread ends itself when asked (see `Process.terminate()` and
   * `_launch/runner.ts`): `Worker.terminate()` would report it gone at
   * once while a busy thread runs on. It stays in the pool (as
   * `stopping`) until its "exit"; its late results are dropped (it has
   * nothing in flight). One that does not end soon is reported.
   */
  #stopThread(state: Int32Array): void {
    requestStop(this.#key);
    try {
      this.#thread.postMessage({ t: "stop" });
    } catch {
      // Its port is closed: it is ending already.
    }
    if (this.#lane !== null) laneWake(this.#lane);
    // Held until it ends (a join() awaits that), or until it is reported:
    // one that never stops must not keep the program alive.
    this.#thread.ref();
    const asked = performance.now();
    const check = () => {
      if (this.#exited) return;
      // It took the stop and is ending: freeing a big heap or running
      // unload handlers can take a while, but it is not stuck in a task.
      if (
        Atomics.load(state, STATE_CURRENT) === STATE_ENDING &&
        performance.now() - asked < ENDING_GRACE_MS
      ) {
        Deno.unrefTimer(setTimeout(check, STOP_WARNING_MS));
        return;
      }
      this.#thread.unref();
      this.#onSettled();
      console.warn(
        `Warning: pool worker '${this.name}' was taken out of service but its thread is still running synchronous code, which Deno cannot interrupt; another worker took its place, and stats().stopping counts it until it ends. Use startMethod: "subprocess" for tasks that must be stoppable at any time.`,
      );
    };
    Deno.unrefTimer(setTimeout(check, STOP_WARNING_MS));
  }
}
