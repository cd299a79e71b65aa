/**
 * Why use a Pool: the same CPU-bound job done serially, then spread over
 * every core, with the times and the speed-up. Counts the primes below
 * 6,000,000 in 48 ranges; a progress bar shows the parallel run.
 *
 * Run: deno task example   (deno run --allow-all examples/cpu_speedup.ts)
 */
import * as mp from "../mod.ts";

/** Counts the primes in [lo, hi) by trial division (pure CPU work). */
export function countPrimes([lo, hi]: [number, number]): number {
  let count = 0;
  for (let n = Math.max(lo, 2); n < hi; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

if (import.meta.main) {
  const limit = 6_000_000;
  const parts = 48;
  const ranges = Array.from(
    { length: parts },
    (_, i) =>
      [
        Math.floor(i * limit / parts),
        Math.floor((i + 1) * limit / parts),
      ] as [number, number],
  );

  let start = performance.now();
  const serial = ranges.map(countPrimes).reduce((a, b) => a + b, 0);
  const serialMs = performance.now() - start;
  console.log(`serial:       ${serial} primes in ${serialMs.toFixed(0)} ms`);

  const workers = mp.cpuCount();
  await using pool = new mp.Pool(workers);
  await pool.apply(countPrimes, [[0, 10]]); // start the workers first
  start = performance.now();
  const counts = await pool.map(countPrimes, ranges, {
    chunksize: 1,
    progress: `Pool(${workers})`,
  });
  const parallel = counts.reduce((a, b) => a + b, 0);
  const parallelMs = performance.now() - start;
  console.log(
    `Pool(${workers}):      ${parallel} primes in ${parallelMs.toFixed(0)} ms`,
  );
  console.log(
    `speed-up:     ${(serialMs / parallelMs).toFixed(2)}× on ${workers} cores`,
  );
}
