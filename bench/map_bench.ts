/**
 * Big maps (issue 16): `pool.map(noop, items)` over 1,000,000 and
 * 4,000,000 numbers on `Pool(2)`, automatic chunks, next to Python's fork
 * Pool on the same workload.
 *
 * Run: deno bench --allow-all bench/map_bench.ts
 *
 * Printed before the table, each from a fresh program: our cold map and
 * peak memory (`bench/_map_rss.ts`), and Python's cold map, warm maps and
 * peak memory (`bench/peers/python_map.py`; skipped without `python3`).
 * The rows then time warm maps here. Figures are in bench/RESULTS.md.
 *
 * @module
 */
import { parentProcess, Pool } from "../mod.ts";
import { noop, TASKS } from "./_tasks.ts";

const SIZES = [1_000_000, 4_000_000];

/** Runs a command; its stdout, or `null` when it cannot run or fails. */
async function output(cmd: string, args: string[]): Promise<string | null> {
  try {
    const r = await new Deno.Command(cmd, { args, stderr: "inherit" })
      .output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : null;
  } catch {
    return null;
  }
}

if (parentProcess() === null) {
  const here = new URL(".", import.meta.url);
  for (const n of SIZES) {
    const ours = await output(Deno.execPath(), [
      "run",
      "--allow-all",
      new URL("_map_rss.ts", here).href,
      String(n),
    ]);
    console.log(`ours:   ${ours ?? "(failed)"}`);
  }
  const peer = await output("python3", [
    new URL("peers/python_map.py", here).pathname,
    ...SIZES.map(String),
  ]);
  for (const line of peer?.split("\n") ?? ["(not run)"]) {
    console.log(`python: ${line}`);
  }

  const pool = new Pool(2, { module: TASKS });
  await pool.map(noop, [1, 2, 3, 4], 1);
  for (const n of SIZES) {
    const items = Array.from({ length: n }, (_, i) => i);
    Deno.bench({
      name: `noop map over ${n.toLocaleString("en")} items (auto chunks)`,
      group: "big map",
      n: n > 1_000_000 ? 5 : 10,
      async fn() {
        await pool.map(noop, items);
      },
    });
  }
}
