/**
 * Speed-up of `Pool(k).map` over a serial loop, by task size and worker
 * count: the data behind `bench/speedup.svg` (`deno task bench:chart`).
 *
 * Run: deno bench --allow-all bench/speedup_bench.ts
 *
 * - `cpu <size>`: about 128 ms of CPU work per iteration, cut into tasks of
 *   10 µs, 100 µs, 1 ms or 10 ms, run serially on this thread (the group's
 *   baseline) and by `Pool(k).map` with automatic chunking for k = 1 … N
 *   (N = `cpuCount()`), the call a user would write.
 * - `noop`: 20,000 no-op `applyAsync` calls in flight on `Pool(N)`.
 */
import { cpuCount, parentProcess, Pool } from "../mod.ts";

/** Spins for about `us` microseconds of real CPU work. */
export function burn(us: number): number {
  const end = performance.now() + us / 1000;
  let x = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) x += Math.sqrt(i + x);
  }
  return x;
}

/** Returns its argument: a task with no work, to time the pool itself. */
export function noop(x: number): number {
  return x;
}

/** Task sizes in microseconds, smallest first. */
export const SIZES = [10, 100, 1000, 10_000];

/** How a size is named in the benchmark names: `10us`, `1ms`. */
export function sizeLabel(us: number): string {
  return us >= 1000 ? `${us / 1000}ms` : `${us}us`;
}

// Under `deno bench`, `import.meta.main` is false: workers that import this
// module (to find `burn`) must not start pools of their own.
if (parentProcess() === null) {
  const workers = Math.max(1, cpuCount());
  const pools: Pool[] = [];
  for (let k = 1; k <= workers; k++) {
    const pool = new Pool(k, { module: import.meta.url });
    await pool.map(noop, Array.from({ length: 4 * k }, (_, i) => i), 1);
    pools.push(pool);
  }
  for (const us of SIZES) {
    const items = new Array(Math.max(16, Math.round(128_000 / us))).fill(us);
    const group = `cpu ${sizeLabel(us)}`;
    Deno.bench({
      name: `${group}: serial`,
      group,
      baseline: true,
      n: 10,
      warmup: 2,
      fn() {
        for (const u of items) burn(u);
      },
    });
    for (const pool of pools) {
      const k = pools.indexOf(pool) + 1;
      Deno.bench({
        name: `${group}: Pool(${k}).map`,
        group,
        n: 10,
        warmup: 2,
        async fn() {
          await pool.map(burn, items);
        },
      });
    }
  }
  const widest = pools.at(-1)!;
  Deno.bench({
    name: `noop: applyAsync x20000 on Pool(${workers})`,
    group: "noop",
    n: 10,
    warmup: 2,
    async fn() {
      const rs = new Array(20_000);
      for (let i = 0; i < rs.length; i++) {
        rs[i] = widest.applyAsync(noop, [i]);
      }
      await Promise.all(rs);
    },
  });
}
