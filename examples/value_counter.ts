/**
 * A counter in a shared `Value`, updated by 5 processes. `v.value += 1` is
 * a read and a write, so each process holds the value's lock around it;
 * without the lock, updates get lost under contention.
 *
 * Run: `deno run --allow-all examples/value_counter.ts`
 *
 * @module
 */

import * as mp from "../mod.ts";

/** Adds 1 to `counter` `times` times under its lock. Runs in a child. */
export function work(counter: mp.Value<"i">, times: number): void {
  const lock = counter.getLock();
  for (let i = 0; i < times; i++) {
    using _held = lock.lockSync();
    counter.value += 1;
  }
}

if (import.meta.main) {
  const counter = new mp.Value("i", 0);
  const ps = Array.from({ length: 5 }, () => {
    const p = new mp.Process({ target: work, args: [counter, 10_000] });
    p.start();
    return p;
  });
  for (const p of ps) await p.join();
  console.log(`counter = ${counter.value} (expected 50000)`);
}
