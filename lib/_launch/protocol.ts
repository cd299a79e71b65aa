/**
 * The messages the parent and a worker exchange, defined once for both
 * sides (the parent: `process.ts`, `_pool/engine.ts`; the worker:
 * `_launch/worker_entry.ts`).
 *
 * Flow of a pool task:
 *
 * ```text
 *   parent                                worker
 *   ------                                ------
 *   RunMessage { tasks: [Task…] }  ──►    run each task in order,
 *                                          Int32 slot CURRENT = task id
 *                                   ◄──   DoneMessage { results: [Result…] }
 * ```
 *
 * @module
 */

import type { RemoteErrorInfo } from "../errors.ts";
import type { RuntimeInit } from "../_common/runtime.ts";

/**
 * How a function reaches another process: by name from a module (checked
 * against its source there), or by its source alone.
 */
export interface FunctionRef {
  /** The function's (or class's) name; "" when anonymous. */
  name: string;
  /** `fn.toString()` in the parent, used to check identity and to rebuild. */
  source: string;
  /** Modules to look the name up in, first match wins. */
  modules: string[];
  /** `true` when the name must be found (a `{ module, name }` target). */
  byName: boolean;
}

/** Who a process's parent is, for `parentProcess()`. */
export interface ParentInfo {
  /** The parent's name. */
  name: string;
  /** The parent's pid. */
  pid: number;
  /** The parent's ident. */
  ident: number;
  /** Whether the parent is a daemon. */
  daemon: boolean;
  /** The parent's runtime key, to tell whether it is alive. */
  key: number;
}

/** `workerData` of a worker that runs one `Process`. */
export interface ProcessInit {
  /** Discriminant. */
  kind: "process";
  /** The program tree's shared runtime. */
  runtime: RuntimeInit;
  /** The process's parent. */
  parent: ParentInfo;
  /** The process's name. */
  name: string;
  /** Whether it is a daemon. */
  daemon: boolean;
  /** The target function, if any. */
  target: FunctionRef | null;
  /** The `Process` subclass that was started, if not `Process` itself. */
  cls: FunctionRef | null;
  /** The subclass instance's own fields (encoded). */
  fields: Record<string, unknown>;
  /** Slot 0: 1 once the process ended; slot 1: its exit code. */
  state: SharedArrayBuffer;
  /** Positional arguments (encoded). */
  args: unknown[];
  /** Keyword arguments (encoded), passed as a last object argument. */
  kwargs: Record<string, unknown> | undefined;
}

/** `workerData` of a pool worker. */
export interface PoolInit {
  /** Discriminant. */
  kind: "pool";
  /** The program tree's shared runtime. */
  runtime: RuntimeInit;
  /** The pool worker's parent (the pool's owner). */
  parent: ParentInfo;
  /** The worker's name (`PoolWorker-N`). */
  name: string;
  /** Runs once before the first task. */
  initializer: FunctionRef | null;
  /** The initializer's arguments (encoded). */
  initargs: unknown[];
  /** Slot 0: id of the task running now (0 when idle). */
  state: SharedArrayBuffer;
}

/** Index of the running task id in {@linkcode PoolInit.state}. */
export const STATE_CURRENT = 0;

/**
 * What a pool worker thread stores at {@linkcode STATE_CURRENT} when it
 * took a stop request and is ending: its code ran its course, only the
 * thread's teardown is left.
 */
export const STATE_ENDING = -1;

/** How a task applies its function to its arguments. */
export const TaskMode = {
  /** `fn(...args, kwargs?)`. */
  Apply: 0,
  /** `chunk.map((x) => fn(x))`. */
  Map: 1,
  /** `chunk.map((xs) => fn(...xs))`. */
  Starmap: 2,
} as const;

/** One of {@linkcode TaskMode}. */
export type TaskMode = typeof TaskMode[keyof typeof TaskMode];

/** A task as sent to a pool worker. */
export interface WireTask {
  /** Task id (> 0), unique per pool. */
  id: number;
  /** Key of the function in the worker's function table. */
  fn: number;
  /** The function's ref, sent the first time this worker sees `fn`. */
  ref?: FunctionRef;
  /** How to apply the function. */
  mode: TaskMode;
  /**
   * Arguments (Apply) or the chunk of items (Map/Starmap), encoded; a Map
   * chunk of numbers as float64 bytes (`_common/columns.ts`): shared
   * memory to a worker thread, an `ArrayBuffer` to a `"subprocess"` child.
   */
  args: unknown[] | ArrayBufferLike;
  /** Keyword arguments (Apply only). */
  kwargs?: Record<string, unknown>;
  /** Whether `args`/`kwargs` hold shared primitives to decode. */
  shared: boolean;
}

/** Parent → pool worker: run these tasks in order. */
export interface RunMessage {
  /** Discriminant. */
  t: "run";
  /** The tasks. */
  tasks: WireTask[];
}

/**
 * Parent → pool worker thread: a batch of like tasks as columns (see
 * `_launch/batch_columns.ts`); the worker runs them as a
 * {@linkcode RunMessage}'s.
 */
export interface RunColumnsMessage {
  /** Discriminant. */
  t: "run-columns";
  /** The tasks' ids. */
  ids: number[];
  /** Key of their function. */
  fn: number;
  /** The function's ref, when this worker has not seen `fn`. */
  ref?: FunctionRef;
  /** How they apply it. */
  mode: TaskMode;
  /** Every task's arguments (or items), one task after the other. */
  args: unknown[];
  /** How many of `args` each task has; `null` when one each. */
  counts: number[] | null;
  /**
   * Set when each task's arguments are a map chunk of numbers packed in
   * shared memory (`_common/columns.ts`): its entry of `args`, one each.
   */
  packed?: true;
  /**
   * Set when the batch is shared with the pool's other workers (see
   * `_pool/share.ts`): its id, and `next`, whose slot 0 is the index of
   * the next task not taken. A worker takes each task by incrementing it,
   * so the worker that is free runs the next task, as a Python pool's
   * workers take theirs from one queue.
   */
  share?: { id: number; next: SharedArrayBuffer };
}

/** Parent → pool worker: tasks to run, as objects or as columns. */
export type TasksMessage = RunMessage | RunColumnsMessage;

/**
 * Parent → worker thread (a `Process`'s or a pool's): stop now. Sent by
 * `terminate()`, `kill()` and a pool retiring its worker, with the stop
 * word set (`_common/runtime.ts`). The worker handles it as soon as its event
 * loop runs, and ends itself: its own exit is how the parent learns that
 * it stopped (see `_launch/runner.ts`).
 */
export interface StopMessage {
  /** Discriminant. */
  t: "stop";
}

/** A task's outcome. */
export type WireResult =
  | {
    id: number;
    ok: true;
    value: unknown;
    /** `value` holds shared primitives as markers, to decode. */
    shared?: true;
    /** `value` is a chunk's results as float64 bytes (`_common/columns.ts`). */
    packed?: true;
    /** `value` is a map chunk's array of results, made by the worker. */
    chunk?: true;
  }
  | { id: number; ok: false; error: RemoteErrorInfo };

/** Pool worker → parent: outcomes, in the order the tasks ran. */
export interface DoneMessage {
  /** Discriminant. */
  t: "done";
  /** The outcomes. */
  results: WireResult[];
  /** The id of a shared batch this worker takes no more tasks of. */
  end?: number;
}

/**
 * Pool worker → parent: outcomes that all succeeded, as columns (see
 * `_launch/batch_columns.ts`).
 */
export interface DoneColumnsMessage {
  /** Discriminant. */
  t: "done-columns";
  /** The tasks' ids, in the order they ran. */
  ids: number[];
  /**
   * Each task's value (`spread` false), or each task's chunk results one
   * task after the other (`spread` true).
   */
  values: unknown[];
  /** Whether the values are map chunks' results, spread. */
  spread: boolean;
  /** With `spread`: how many of `values` each task has; `null`: one each. */
  counts: number[] | null;
  /** The id of a shared batch this worker takes no more tasks of. */
  end?: number;
}

/** Pool worker → parent: the initializer threw. */
export interface InitErrorMessage {
  /** Discriminant. */
  t: "init-error";
  /** What it threw. */
  error: RemoteErrorInfo;
}

/**
 * Pool worker → parent: the initializer finished, so a pool that was
 * closed meanwhile may now end this worker (Python runs the initializer
 * of every worker it started, even when no task comes).
 */
export interface ReadyMessage {
  /** Discriminant. */
  t: "ready";
}

/** Anything a pool worker sends. */
export type PoolWorkerMessage =
  | DoneMessage
  | DoneColumnsMessage
  | InitErrorMessage
  | ReadyMessage;

/**
 * Turns anything thrown into what crosses back to the parent.
 *
 * @param err What was thrown.
 * @returns The remote error info (with `cause` only when cloneable).
 */
export function toRemoteError(err: unknown): RemoteErrorInfo {
  if (err instanceof Error) {
    const info: RemoteErrorInfo = {
      name: err.name,
      message: err.message,
      stack: err.stack,
    };
    if (err.cause !== undefined) {
      try {
        info.cause = structuredClone(err.cause);
      } catch {
        // An uncloneable cause is dropped; name, message and stack remain.
      }
    }
    return info;
  }
  // A thrown non-Error (`throw "boom"`, `throw { code: 7 }`) keeps its
  // value: shown in the message, and as the `cause` when cloneable.
  const info: RemoteErrorInfo = {
    name: "Error",
    message: showThrown(err),
    stack: undefined,
    nonError: true,
  };
  try {
    info.cause = structuredClone(err);
  } catch {
    // Uncloneable (a function, say): the message still shows it.
  }
  return info;
}

/**
 * Shows a thrown value that is not an `Error`, as the console would.
 *
 * @param value What was thrown.
 * @returns Its description (strings quoted).
 */
export function showThrown(value: unknown): string {
  let shown: string;
  try {
    shown = Deno.inspect(value, { depth: 4, colors: false });
  } catch {
    shown = String(value);
  }
  // The whole value is the cause; the message stays readable.
  return shown.length > SHOWN_MAX ? `${shown.slice(0, SHOWN_MAX)}…` : shown;
}

/** The most characters of a thrown value shown in a message. */
const SHOWN_MAX = 1000;
