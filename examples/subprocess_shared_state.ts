/**
 * Shared state with OS children (`startMethod: "subprocess"`): a counter in
 * a `Value` under its lock, and results sent back on a `Queue`. An OS
 * child shares no memory with its parent, so the parent serves the
 * primitives: the child's `counter` is a stand-in whose every operation
 * is a round trip to the parent (about 0.1–0.2 ms, see bench/RESULTS.md),
 * where a worker thread would touch shared memory in nanoseconds. So
 * each child does its work locally and shares coarsely: one update of the
 * counter and one `put` per child, not per item.
 *
 * Run: `deno run --allow-all examples/subprocess_shared_state.ts`
 *
 * @module
 */

import * as mp from "../mod.ts";
// The same prime counter as the Pool example (plain CPU work).
import { countPrimes as primesIn } from "./cpu_speedup.ts";

/** Counts the primes below `limit` in its share of the range. Runs in a child. */
export async function countPrimes(
  id: number,
  parts: number,
  limit: number,
  total: mp.Value<"i">,
  results: mp.Queue<[number, number, number]>,
): Promise<void> {
  const found = primesIn([
    Math.floor((limit * id) / parts),
    Math.floor((limit * (id + 1)) / parts),
  ]);
  {
    // Blocking twins work in an OS child too: a helper thread carries
    // the call to the parent while this thread waits.
    using _held = total.getLock().lockSync();
    total.value += found;
  }
  await results.put([id, Deno.pid, found]);
}

if (import.meta.main) {
  const parts = 4;
  const limit = 200_000;
  const total = new mp.Value("i", 0);
  const results = new mp.Queue<[number, number, number]>();
  const ps = Array.from({ length: parts }, (_, id) => {
    const p = new mp.Process({
      target: countPrimes,
      args: [id, parts, limit, total, results],
      startMethod: "subprocess",
    });
    p.start();
    return p;
  });
  for (let i = 0; i < parts; i++) {
    const [id, pid, found] = await results.get({ timeout: 60 });
    console.log(`part ${id} (pid ${pid}) found ${found}`);
  }
  for (const p of ps) await p.join();
  console.log(`primes below ${limit}: ${total.value} (expected 17984)`);
}
