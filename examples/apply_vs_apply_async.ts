/**
 * `apply` waits for each result in turn; `applyAsync` starts every task
 * first and collects the results after, so they run in parallel.
 *
 * Run: deno run --allow-all examples/apply_vs_apply_async.ts
 */
import * as mp from "../mod.ts";

export async function slowDouble(n: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 200));
  return n * 2;
}

if (import.meta.main) {
  await using pool = new mp.Pool(4);
  let t = performance.now();
  const one: number[] = [];
  for (const n of [1, 2, 3, 4]) one.push(await pool.apply(slowDouble, [n]));
  console.log(`apply:      ${one} in ${Math.round(performance.now() - t)} ms`);

  t = performance.now();
  const pending = [1, 2, 3, 4].map((n) => pool.applyAsync(slowDouble, [n]));
  const all = await Promise.all(pending.map((r) => r.get()));
  console.log(`applyAsync: ${all} in ${Math.round(performance.now() - t)} ms`);
}
