/**
 * Running an admitted task on a worker host's local `Pool`, and what its
 * failure is reported to the caller as.
 *
 * May import: the core `Pool`, errors and protocol, `./admit.ts`,
 * `./protocol.ts`.
 *
 * @module
 */

import type { Pool } from "../pool.ts";
import {
  ProcessError,
  type RemoteErrorInfo,
  WorkerLostError,
} from "../errors.ts";
import { TaskMode, toRemoteError } from "../_launch/protocol.ts";
import { RUN_SOURCE } from "./admit.ts";
import type { ClusterTask, FailKind } from "./protocol.ts";

/**
 * Runs task `t` of an entry of `entryTasks` tasks on `pool`.
 *
 * @param pool The host's local pool.
 * @param target The function, as `admit` allowed it.
 * @param t The task.
 * @param entryTasks How many tasks its entry holds.
 * @param signal Fired when its caller cancels it.
 * @returns What the local pool resolves to.
 */
export function runOnPool(
  pool: Pool,
  target: { module: string; name: string },
  t: ClusterTask,
  entryTasks: number,
  signal: AbortSignal,
): Promise<unknown> {
  // The local pool sends a task with a signal alone to a worker, with
  // nothing queued behind it. A chunk or a lone task loses nothing by
  // that and can then be stopped by terminate() as well; tasks batched
  // in one entry (a flood of small applies) run batched, and only the
  // ones given a signal or timeout of their own can be stopped.
  const stoppable = t.cancellable || entryTasks === 1;
  const opts = { signal: stoppable ? signal : undefined };
  if (target === RUN_SOURCE) {
    return pool.apply(
      target,
      [t.ref.name, t.ref.source, t.mode, t.args, t.kwargs],
      undefined,
      opts,
    );
  }
  if (t.mode === TaskMode.Apply) {
    return pool.apply(target, t.args, t.kwargs, opts);
  }
  const mapOpts = { chunksize: Math.max(1, t.args.length), ...opts };
  return t.mode === TaskMode.Map
    ? pool.map(target, t.args, mapOpts)
    : pool.starmap(target, t.args as unknown[][], mapOpts);
}

/**
 * What a task's failure on the local pool is reported as: the task threw
 * (its remote error as it was), or the worker running it died.
 *
 * @param err What the local pool rejected with.
 * @returns The kind of failure and the error to send.
 */
export function failureOf(err: unknown): [FailKind, RemoteErrorInfo] {
  if (err instanceof ProcessError) {
    return ["threw", {
      name: err.remoteName,
      message: err.remoteMessage,
      stack: err.remoteStack,
      ...(err.cause === undefined ? {} : { cause: err.cause }),
    }];
  }
  if (err instanceof WorkerLostError) return ["lost", toRemoteError(err)];
  return ["threw", toRemoteError(err)];
}
