/**
 * Pool(4) running 5 timed tasks: four start at once; the fifth waits for
 * a free worker.
 *
 * Run: deno run --allow-all examples/pool_timed_tasks.ts
 */
import * as mp from "../mod.ts";

const start = performance.now();

export async function work(task: number, seconds: number): Promise<string> {
  const begin =
    ((performance.now() + performance.timeOrigin - Number(Deno.env.get("T0"))) /
      1000).toFixed(1);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return `task ${task} started at ${begin}s, took ${seconds}s in ${mp.currentProcess().name}`;
}

if (import.meta.main) {
  Deno.env.set("T0", String(performance.timeOrigin + start));
  await using pool = new mp.Pool(4);
  const results = [1, 2, 3, 4, 5].map((i) => pool.applyAsync(work, [i, 0.5]));
  for (const r of results) console.log(await r);
  console.log(
    `all done in ${((performance.now() - start) / 1000).toFixed(1)}s`,
  );
}
