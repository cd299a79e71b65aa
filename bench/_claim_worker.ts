/**
 * A bare `node:worker_threads` worker for the floor row of
 * `bench/pool_bench.ts` ("cpu 100us"): given every task's argument and a
 * shared index, it takes the next task by `Atomics.add` until none is left,
 * then posts what it ran in one message. No pool, no bookkeeping: what two
 * of these take for a map is the floor of the pool's design on a machine.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { burn } from "./_tasks.ts";

/** What the bench posts: the tasks' arguments and the shared next index. */
interface Claim {
  args: Float64Array;
  next: Int32Array;
}

parentPort!.on("message", ({ args, next }: Claim) => {
  const ids: number[] = [];
  const values: number[] = [];
  for (
    let i = Atomics.add(next, 0, 1);
    i < args.length;
    i = Atomics.add(next, 0, 1)
  ) {
    ids.push(i);
    values.push(burn(args[i]));
  }
  parentPort!.postMessage({ ids, values });
});
