/**
 * One big map in a fresh program, for bench/map_bench.ts: the time of a
 * cold `pool.map(noop, items)` on a started `Pool(2)`, and the program's
 * peak resident memory (VmHWM: every thread, the workers included) before
 * the items are made, after, and after the map.
 *
 * Run: deno run --allow-all bench/_map_rss.ts <n>
 * Prints one JSON object. Linux only (reads /proc/self/status).
 *
 * @module
 */
import { parentProcess, Pool } from "../mod.ts";
import { noop, TASKS } from "./_tasks.ts";

/** The program's peak resident memory so far, in MiB. */
function hwmMib(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
}

if (parentProcess() === null) {
  const n = Number(Deno.args[0] ?? 1_000_000);
  await using pool = new Pool(2, { module: TASKS });
  await pool.map(noop, [1, 2, 3, 4], 1); // both workers started
  const base = hwmMib();
  const items = Array.from({ length: n }, (_, i) => i);
  const withItems = hwmMib();
  const t = performance.now();
  const out = await pool.map(noop, items);
  const ms = performance.now() - t;
  if (out.length !== n || out[n - 1] !== n - 1) throw new Error("wrong map");
  console.log(JSON.stringify({
    n,
    cold_ms: Math.round(ms * 10) / 10,
    hwm_mib: {
      started: Math.round(base),
      items: Math.round(withItems),
      after_map: Math.round(hwmMib()),
    },
  }));
}
