/**
 * `terminate()` and the life cycle that `isAlive()` and `exitCode` show.
 * An OS child (`startMethod: "subprocess"`) is stopped even in a busy
 * loop; a worker thread stops at its next `await` (or wait in this
 * module): Deno cannot interrupt a worker busy in synchronous code.
 *
 * Run: deno run --allow-all examples/terminate_is_alive.ts
 */
import * as mp from "../mod.ts";

/** CPU-bound forever: only an OS child can be stopped here. */
export function busy(): never {
  while (true) {
    // spin
  }
}

/** Async forever: it yields at every `await`, where a worker can stop. */
export async function ticking(): Promise<never> {
  while (true) await new Promise((r) => setTimeout(r, 10));
}

if (import.meta.main) {
  const p = new mp.Process({ target: busy, startMethod: "subprocess" });
  console.log("before start:", p.isAlive(), p.exitCode); // false null
  p.start();
  await new Promise((r) => setTimeout(r, 200));
  console.log("running:     ", p.isAlive(), p.exitCode); // true null
  p.terminate();
  await p.join();
  console.log("terminated:  ", p.isAlive(), p.exitCode); // false -15

  const w = new mp.Process({ target: ticking }); // a worker thread
  w.start();
  await new Promise((r) => setTimeout(r, 200));
  w.terminate();
  await w.join();
  console.log("worker:      ", w.isAlive(), w.exitCode); // false -15
}
