/**
 * `terminate()` stops a process even in a busy loop; `isAlive()` and
 * `exitCode` show the life cycle.
 *
 * Run: deno run --allow-all examples/terminate_is_alive.ts
 */
import * as mp from "../mod.ts";

export function busy(): never {
  while (true) {
    // CPU-bound forever.
  }
}

if (import.meta.main) {
  const p = new mp.Process({ target: busy });
  console.log("before start:", p.isAlive(), p.exitCode);
  p.start();
  console.log("running:     ", p.isAlive(), p.exitCode);
  await new Promise((r) => setTimeout(r, 200));
  p.terminate();
  await p.join();
  console.log("terminated:  ", p.isAlive(), p.exitCode); // false -15
}
