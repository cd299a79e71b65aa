// Terminates (then kills) a worker-thread process busy in synchronous
// code for Deno.args[0] ms, and prints as JSON what each API said while
// its thread, watched in /proc/self/task, still burnt CPU, and after.
// A program of its own: a thread that cannot be stopped must not spin on
// in the test runner.
import { Process } from "../../mod.ts";
import { REPORT_BYTES, Slot, spinThenIdle, threadTicks } from "./stop_tasks.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (import.meta.main) {
  const busyMs = Number(Deno.args[0] ?? 1500);
  const report = new Int32Array(new SharedArrayBuffer(REPORT_BYTES));
  const p = new Process({
    name: "Busy",
    target: spinThenIdle,
    args: [report, busyMs],
    module: new URL("./stop_tasks.ts", import.meta.url),
  });
  p.start();
  while (Atomics.load(report, Slot.Tid) === 0) await sleep(5);
  const tid = Atomics.load(report, Slot.Tid);
  await sleep(50);
  p.terminate();
  p.kill(); // one warning all the same
  const ticks0 = threadTicks(tid);
  await sleep(400);
  const ticks1 = threadTicks(tid);
  const whileBusy = {
    alive: p.isAlive(),
    exitCode: p.exitCode,
    done: Atomics.load(report, Slot.Done),
    ticks: ticks1 === null || ticks0 === null ? null : ticks1 - ticks0,
  };
  const t0 = performance.now();
  await p.join(0.2);
  const joinTimeout = {
    ms: performance.now() - t0,
    alive: p.isAlive(),
    exitCode: p.exitCode,
  };
  await p.join();
  const atEnd = {
    alive: p.isAlive(),
    exitCode: p.exitCode,
    done: Atomics.load(report, Slot.Done),
    // Sampled at once: gone, or in its last moment of teardown.
    ticks: threadTicks(tid),
  };
  // The "exit" event comes as the thread tears its runtime down (no
  // JavaScript runs then); the OS thread goes a moment later.
  const t1 = performance.now();
  while (threadTicks(tid) !== null && performance.now() - t1 < 5000) {
    await sleep(1);
  }
  const goneMs = threadTicks(tid) === null ? performance.now() - t1 : null;
  console.log(JSON.stringify({ whileBusy, joinTimeout, atEnd, goneMs }));
}
