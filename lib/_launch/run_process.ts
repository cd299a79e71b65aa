/**
 * Running a `Process`'s target inside its child (the runner loads this
 * module for a process only, so a pool worker does not load `process.ts`
 * and `queue.ts`): revives the `Process` object (the subclass, its
 * fields), runs `run()`, waits for its non-daemon children and its
 * queues' feeders, and exits with the code.
 *
 * @module
 */

import type { ProcessInit } from "./protocol.ts";
import { stopRequested } from "../_common/runtime.ts";
import { StopRequested } from "../_shm/wait.ts";
import { explainShippingError, loadFunction } from "./shipping.ts";
import { decodeShared } from "../_common/transfer.ts";
import { activeChildren, Process } from "../process.ts";
import { kAsChildSelf } from "../_common/self.ts";
import { flushFeeders } from "../queue.ts";
import { exit, formatError, stopNow } from "./run_exit.ts";

type Fn = (...args: unknown[]) => unknown;

/**
 * Runs the process's target (or its subclass's `run()`) and exits.
 *
 * @param init What the parent sent.
 */
export async function runProcess(init: ProcessInit): Promise<void> {
  let code = 0;
  let target: Fn | undefined;
  try {
    const cls = init.cls === null
      ? Process
      : (await loadFunction(init.cls)) as unknown as typeof Process;
    if (init.target !== null) target = await loadFunction(init.target);
    const proc = Process[kAsChildSelf](cls, {
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
