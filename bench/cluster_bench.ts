/**
 * The broker pool (`./cluster`) against a local redis-server this file
 * starts, side by side with the local pool.
 *
 * `deno run -A bench/cluster_bench.ts` prints the five figures of
 * bench/RESULTS.md ("Cluster"); `deno bench` runs the first three as
 * benchmarks.
 */
import * as mp from "../lib/cluster.ts";
import { Pool as LocalPool } from "../mod.ts";
import { startCluster, startRedis, TASKS } from "../tests/testdata/redis.ts";

// Task functions live in their own module: a worker host imports it,
// and importing this file would start a benchmark.
const { noop, spin, slow } = await import(TASKS.href);

const ITEMS = Array.from({ length: 100_000 }, (_, i) => i);

async function mapRate(pool: LocalPool): Promise<number> {
  await pool.map(noop, ITEMS);
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await pool.map(noop, ITEMS);
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  return ITEMS.length / (runs[2] / 1000);
}

async function applyP50(pool: LocalPool): Promise<number> {
  for (let i = 0; i < 100; i++) await pool.apply(noop, [i]);
  const lat: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t0 = performance.now();
    await pool.apply(noop, [i]);
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  return lat[500];
}

async function inflightRate(pool: LocalPool): Promise<number> {
  const total = 20_000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < total) {
        next++;
        await pool.applyAsync(noop, [next]);
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

function load(): string {
  return Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
}

/** A rate as "12,345 <what>/s". */
const perSecond = (what: string) => (rate: number) =>
  `${Math.round(rate).toLocaleString("en")} ${what}/s`;

async function report(): Promise<void> {
  const rows: string[] = [];
  const row = (what: string, local: string, cluster: string, target: string) =>
    rows.push(`| ${what} | ${local} | ${cluster} | ${target} |`);
  {
    await using b1 = await startCluster("b1", { hosts: 0 });
    await using local = new LocalPool(1, { module: TASKS });
    await using cluster = new mp.Pool(1, {
      broker: b1.redis.url,
      name: "b1",
      module: TASKS,
    });
    // The same measure of the local pool, then of the broker pool.
    const compare = async <T>(
      what: string,
      measure: (pool: LocalPool) => Promise<T>,
      show: (x: T) => string,
      target: string,
    ) => {
      const l = await measure(local);
      const c = await measure(cluster);
      row(what, show(l), show(c), target);
    };
    await compare(
      "map of 100,000 no-op items (1 process)",
      mapRate,
      perSecond("items"),
      ">= 500,000 items/s",
    );
    await compare(
      "one `await pool.apply(noop)`, p50",
      applyP50,
      (ms) => `${ms.toFixed(3)} ms`,
      "<= 1 ms",
    );
    await compare(
      "256 `applyAsync` in flight",
      inflightRate,
      perSecond("tasks"),
      ">= 20,000 tasks/s",
    );
  }
  row(...await speedup());
  row(...await recovery());
  console.log(`load average before/after: see below; now ${load()}`);
  console.log("| measure | local pool | broker pool | target |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(r);
}

/** 2,000 tasks of 1 ms CPU on two hosts of one process, vs serial. */
async function speedup(): Promise<[string, string, string, string]> {
  await using b2 = await startCluster("b2", { hosts: 2 });
  await using cluster = new mp.Pool(0, {
    broker: b2.redis.url,
    name: "b2",
    module: TASKS,
  });
  const n = 2000;
  const items = Array.from({ length: n }, (_, i) => i);
  await cluster.map(spin, items.slice(0, 100));
  let t0 = performance.now();
  for (const i of items) spin(i);
  const serial = performance.now() - t0;
  t0 = performance.now();
  await cluster.map(spin, items);
  const parallel = performance.now() - t0;
  // What this machine allows right now: the local pool, 2 processes.
  await using local = new LocalPool(2, { module: TASKS });
  await local.map(spin, items.slice(0, 100));
  t0 = performance.now();
  await local.map(spin, items);
  const localTime = performance.now() - t0;
  return [
    "2,000 tasks of 1 ms CPU vs serial: local Pool(2) / two hosts of one process",
    `${localTime.toFixed(0)} ms (${(serial / localTime).toFixed(2)}x; serial ${
      serial.toFixed(0)
    } ms)`,
    `${parallel.toFixed(0)} ms (${(serial / parallel).toFixed(2)}x)`,
    ">= 1.8x",
  ];
}

/** A worker host SIGKILLed mid-map: every result arrives; how soon. */
async function recovery(): Promise<[string, string, string, string]> {
  const vt = 2;
  await using b2 = await startCluster("b2", { hosts: 2 });
  const { redis, hosts } = b2;
  await using cluster = new mp.Pool(0, {
    broker: redis.url,
    name: "b2",
    module: TASKS,
    visibilityTimeout: vt,
  });
  const n = 300;
  const items = Array.from({ length: n }, (_, i) => i);
  let killedAt = 0;
  let recoveredAt = 0;
  const watch = (async () => {
    while (killedAt === 0) await new Promise((r) => setTimeout(r, 5));
    // Recovered: the dead host's consumer holds no entry any more.
    for (;;) {
      const out = await redis.cli("XPENDING", "mp:b2:tasks", "hosts");
      const lines = out.split("\n");
      const i = lines.findIndex((l) => l.includes(`-${hosts[0].pid}-`));
      if (i < 0 || lines[i + 1] === "0") break;
      await new Promise((r) => setTimeout(r, 10));
    }
    recoveredAt = performance.now();
  })();
  const t0 = performance.now();
  const p = cluster.map(slow, items, { chunksize: 10 });
  setTimeout(() => {
    hosts[0].kill("SIGKILL");
    killedAt = performance.now();
  }, 200);
  const got = await p;
  const total = performance.now() - t0;
  await watch;
  const ok = got.length === n && got.every((v, i) => v === i);
  return [
    `worker host SIGKILLed mid-map (visibilityTimeout ${vt} s)`,
    "-",
    `${ok ? "every result arrived, in order" : "RESULTS MISSING"}; recovered ${
      ((recoveredAt - killedAt) / 1000).toFixed(2)
    } s after the kill; map took ${(total / 1000).toFixed(2)} s`,
    `visibility timeout + <= 1 s`,
  ];
}

if (import.meta.main) {
  console.log(`load average at start: ${load()}`);
  await report();
} else {
  const redis = await startRedis();
  const local = new LocalPool(1, { module: TASKS });
  const cluster = new mp.Pool(1, {
    broker: redis.url,
    name: "bench",
    module: TASKS,
  });
  globalThis.addEventListener("unload", () => {
    local.terminate();
    cluster.terminate();
    redis.stop();
  });
  for (
    const [label, pool] of [["local", local], ["broker", cluster]] as const
  ) {
    Deno.bench(`map 100k no-op (${label})`, { group: "map" }, async () => {
      await pool.map(noop, ITEMS);
    });
    Deno.bench(`apply round trip (${label})`, { group: "apply" }, async () => {
      await pool.apply(noop, [1]);
    });
    Deno.bench(`256 applyAsync (${label})`, { group: "inflight" }, async () => {
      await Promise.all(
        Array.from({ length: 256 }, (_, i) => pool.applyAsync(noop, [i])),
      );
    });
  }
}
