/**
 * Functions `bench/manager_bench.ts` runs in pool workers.
 *
 * @module
 */

import type { DictProxy } from "../../mod.ts";

/**
 * Makes `n` `d.get()` round trips one after another; returns each one's
 * duration in microseconds.
 */
export async function roundTrips(
  d: DictProxy<string, number>,
  n: number,
): Promise<number[]> {
  await d.get("k"); // connect first
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await d.get("k");
    out[i] = (performance.now() - t0) * 1000;
  }
  return out;
}
