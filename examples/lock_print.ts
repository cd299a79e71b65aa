/**
 * Processes printing under a `Lock` (Python's classic `f(l, i)` example):
 * each process holds the lock while it writes its lines, so the lines of
 * two processes never interleave.
 *
 * Run: `deno run --allow-all examples/lock_print.ts`
 *
 * @module
 */

import * as mp from "../mod.ts";

/** Prints three lines as one block. Runs in a child process. */
export function f(lock: mp.Lock, i: number): void {
  using _held = lock.lockSync();
  for (let line = 1; line <= 3; line++) {
    console.log(`process ${i}: line ${line} of 3`);
  }
}

if (import.meta.main) {
  const lock = new mp.Lock();
  const ps = Array.from({ length: 5 }, (_, i) => {
    const p = new mp.Process({ target: f, args: [lock, i] });
    p.start();
    return p;
  });
  for (const p of ps) await p.join();
}
