// Whether this Deno stops a worker thread busy in synchronous code: starts
// a node:worker_threads worker that spins, terminates it, and reads the
// thread's CPU time from /proc/self/task for 500 ms. Prints JSON.
import { Worker } from "node:worker_threads";
import { threadTicks } from "./stop_tasks.ts";

if (import.meta.main) {
  const tid = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(
    `const { workerData } = require("node:worker_threads");
     const t = Number(Deno.readLinkSync("/proc/thread-self").split("/").pop());
     Atomics.store(workerData, 0, t);
     for (;;) {}`,
    { eval: true, workerData: tid },
  );
  const t0 = performance.now();
  while (Atomics.load(tid, 0) === 0 && performance.now() - t0 < 20_000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 100));
  await w.terminate();
  await new Promise((r) => setTimeout(r, 50));
  const before = threadTicks(Atomics.load(tid, 0));
  await new Promise((r) => setTimeout(r, 500));
  const after = threadTicks(Atomics.load(tid, 0));
  const stopped = after === null ||
    (before !== null && after - before <= 2);
  console.log(
    JSON.stringify({ deno: Deno.version.deno, stopped, before, after }),
  );
  Deno.exit(0);
}
