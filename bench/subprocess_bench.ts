/**
 * The "subprocess" start method: start-up, round trip and throughput when
 * every process is a `deno` OS child instead of a worker thread.
 *
 * Run: deno bench --allow-all bench/subprocess_bench.ts
 * Figures and the machine are in bench/RESULTS.md.
 *
 * - spawn: one `Process` with a no-op target, `start()` to `join()`.
 * - startup: `new Pool(2)` to the first result.
 * - latency/apply: one `await pool.apply(noop)` at a time.
 * - noop/applyAsync: 20,000 no-op tasks in flight at once.
 */
import { parentProcess, Pool, Process } from "../mod.ts";

const HERE = import.meta.url;

/** The no-op task, exported so that children find it by reference. */
export function noop(x: number): number {
  return x;
}

/** The no-op process target. */
export function idle(): void {}

// A subprocess child imports this module to find its target, and so runs
// this top level too: only the parent may start pools and register benches,
// or every child would start children of its own.
if (parentProcess() === null) {
  const opts = { startMethod: "subprocess" as const, module: HERE };
  const pool = new Pool(2, opts);
  // Warm both children (spawn, module load, function lookup) before timing.
  await pool.map(noop, [1, 2, 3, 4], 1);

  Deno.bench({
    name: "spawn: Process(no-op) start -> join",
    group: "spawn",
    n: 10,
    async fn() {
      const p = new Process({ target: idle, startMethod: "subprocess" });
      p.start();
      await p.join();
      if (p.exitCode !== 0) throw new Error(`exit code ${p.exitCode}`);
    },
  });

  Deno.bench({
    name: "startup: new Pool(2) to first result",
    group: "startup",
    n: 10,
    async fn() {
      const p = new Pool(2, opts);
      await p.apply(noop, [1]);
      p.terminate();
      await p.join();
    },
  });

  Deno.bench({
    name: "latency: await pool.apply(noop), one at a time",
    group: "latency",
    async fn() {
      await pool.apply(noop, [1]);
    },
  });

  Deno.bench({
    name: "noop applyAsync x20000 in flight",
    group: "noop",
    n: 20,
    async fn() {
      const rs = new Array(20_000);
      for (let i = 0; i < rs.length; i++) rs[i] = pool.applyAsync(noop, [i]);
      await Promise.all(rs);
    },
  });
}
