/**
 * Manager benchmarks: `deno bench --allow-all bench/manager_bench.ts`.
 *
 * Printed once before the benches: how long this program's first
 * `await Manager()` took until a dict was ready, Python's figure for the
 * same (`bench/peers/python_manager.py`, skipped without `python3`), and
 * the p50/p99 of a proxy call round trip
 * (`d.get("k")`) from the main thread, from a pool worker and from a
 * `"subprocess"` child, and calls/s
 * with 4 worker clients calling at once. The benches then time a round
 * trip from the main thread, 4 pipelined calls, and the wire encoding
 * (tagged JSON, as used) against `node:v8` serialize for the same
 * message. The "startup" row times `await Manager()` until a managed dict
 * answers, in a program that has started one before (the server is a new
 * process each time).
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import * as mp from "../mod.ts";
import { messageFrame, parseMessage } from "../lib/_manager/wire.ts";
import { decodeValue, encodeValue } from "../lib/_manager/values.ts";
import { roundTrips } from "../tests/testdata/manager_bench_tasks.ts";

const TASKS = new URL(
  "../tests/testdata/manager_bench_tasks.ts",
  import.meta.url,
);

// deno bench has no "after all" hook: the manager's thread and its idle
// connection are unref'd, so they do not keep the run alive.
const t0 = performance.now();
const m = await mp.Manager();
const d = await m.dict<string, number>({ k: 1 });
await d.get("k");
console.log(
  `first Manager() until a dict answered: ${
    (performance.now() - t0).toFixed(1)
  } ms`,
);
try {
  const peer = await new Deno.Command("python3", {
    args: [new URL("./peers/python_manager.py", import.meta.url).pathname],
    stderr: "inherit",
  }).output();
  console.log(`python: ${new TextDecoder().decode(peer.stdout).trim()}`);
} catch {
  console.log("python: (not run)");
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

async function report(): Promise<void> {
  const main = [];
  for (let i = 0; i < 200; i++) await d.get("k"); // warm up
  for (let i = 0; i < 5000; i++) {
    const t0 = performance.now();
    await d.get("k");
    main.push((performance.now() - t0) * 1000);
  }
  const pool = new mp.Pool(4, { module: TASKS });
  try {
    await pool.apply(roundTrips, [d, 200]); // start and warm a worker
    const worker = await pool.apply(roundTrips, [d, 5000]);
    // The same from a `deno` OS child (the "subprocess" start method).
    const sub = new mp.Pool(1, { module: TASKS, startMethod: "subprocess" });
    let child: number[];
    try {
      await sub.apply(roundTrips, [d, 200]);
      child = await sub.apply(roundTrips, [d, 5000]);
    } finally {
      sub.terminate();
      await sub.join();
    }
    const n = 5000;
    await pool.starmap(roundTrips, Array(4).fill([d, 100]));
    const t0 = performance.now();
    await pool.starmap(roundTrips, Array(4).fill([d, n]));
    const secs = (performance.now() - t0) / 1000;
    const f = (x: number) => `${x.toFixed(0)} µs`;
    console.log(
      `round trip, main thread: p50 ${f(percentile(main, 0.5))}, p99 ${
        f(percentile(main, 0.99))
      }`,
    );
    console.log(
      `round trip, pool worker: p50 ${f(percentile(worker, 0.5))}, p99 ${
        f(percentile(worker, 0.99))
      }`,
    );
    console.log(
      `round trip, subprocess: p50 ${f(percentile(child, 0.5))}, p99 ${
        f(percentile(child, 0.99))
      }`,
    );
    console.log(
      `4 worker clients at once: ${Math.round(4 * n / secs)} calls/s (${
        4 * n
      } calls in ${secs.toFixed(2)} s)`,
    );
  } finally {
    await pool.terminate();
  }
}

await report();

Deno.bench({
  name: "startup: await Manager() until a dict answers",
  group: "startup",
  n: 10,
  async fn(b) {
    b.start();
    const m2 = await mp.Manager();
    const d2 = await m2.dict<string, number>({ k: 1 });
    await d2.get("k");
    b.end();
    await m2.shutdown();
  },
});

Deno.bench("dict.get() round trip, main thread", async () => {
  await d.get("k");
});

Deno.bench("4 pipelined dict.get() calls, main thread", async () => {
  await Promise.all([d.get("k"), d.get("k"), d.get("k"), d.get("k")]);
});

const message = {
  i: 42,
  o: 7,
  m: "set",
  a: ["key", { name: "job", tags: ["a", "b"], n: 12.5, when: new Date(0) }],
};
const hooks = { ref: () => undefined };

Deno.bench(
  "encode+decode a small request: tagged JSON",
  { group: "wire" },
  () => {
    const f = messageFrame({ ...message, a: encodeValue(message.a, hooks) });
    const back = parseMessage(f.subarray(4)) as { a: unknown };
    decodeValue(back.a, hooks);
  },
);

Deno.bench("encode+decode a small request: node:v8", { group: "wire" }, () => {
  deserialize(serialize(message));
});
