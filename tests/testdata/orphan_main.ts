// A program with four "subprocess" children (a busy daemon process, one
// blocked in a served queue's getSync, whose thread sees no event loop
// until its helper learns the parent is gone, and the two idle workers of
// a pool); it prints their pids, then ends as
// Deno.args[0] says: "exit" (main module finishes), "throw" (uncaught
// error), "sigterm"/"sigkill" (waits to be signalled by the test).
// With "sigkill" the daemon waits instead of spinning: a program killed
// outright cannot signal its children, which notice only when they next
// yield (their stdin closes).
import { Pool, Process, Queue } from "../../mod.ts";
import { blockOnQueue, sleepThen, spin, square } from "./tasks.ts";

if (import.meta.main) {
  const mode = Deno.args[0];
  // The target is one of two functions: its arguments are checked at run
  // time, not against either signature.
  const busy = new Process({
    target: (mode === "sigkill" ? sleepThen : spin) as (
      ...args: unknown[]
    ) => unknown,
    args: mode === "sigkill" ? [1e9, null] : [],
    daemon: true,
    startMethod: "subprocess",
  });
  busy.start();
  const blocked = new Process({
    target: blockOnQueue,
    args: [new Queue()],
    daemon: true,
    startMethod: "subprocess",
  });
  blocked.start();
  const pool = new Pool(2, { startMethod: "subprocess" });
  const pids = await pool.map(() => Deno.pid, [1, 2], 1);
  if (new Set(pids).size !== 2) {
    // Both tasks went to one worker: ask until both answered.
    while (new Set(pids).size < 2) pids.push(await pool.apply(() => Deno.pid));
  }
  console.log(JSON.stringify([busy.pid, blocked.pid, ...new Set(pids)]));
  await pool.apply(square, [2]);
  if (mode === "throw") throw new Error("the program fails");
  if (mode === "sigterm" || mode === "sigkill") {
    setInterval(() => {}, 1000);
  }
}
