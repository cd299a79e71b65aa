/**
 * Queue and pipe benchmarks: `deno bench --allow-all bench/queue_bench.ts`.
 *
 * Throughput benches move `N` small items per iteration between workers
 * that stay up for the whole run; items/s = N / (time per iteration).
 * Latency (p50/p99 one-way, half a round trip between two workers) and
 * the CPU time it costs are printed once, before the benches.
 *
 * @module
 */

import process from "node:process";
import { Pipe, Process, Queue } from "../mod.ts";
import { decodeItem, encodeItem } from "../lib/_shm/codec.ts";
import { deserialize, serialize } from "node:v8";

const TASKS = new URL("../tests/testdata/queue_tasks.ts", import.meta.url)
  .href;
const N = 200_000;

function start(name: string, args: unknown[], daemon = false): Process {
  // Throughput workers are daemons: deno bench has no "after all" hook to
  // stop them, and a daemon ends with the main module.
  const p = new Process({ target: { module: TASKS, name }, args, daemon });
  p.start();
  return p;
}

interface Rig {
  run(): Promise<void>;
}

function rig(producers: number, consumers: number): Rig {
  const q = new Queue<number>();
  const prodCmd = new Queue<number | null>();
  const consCmd = new Queue<number | null>();
  const done = new Queue<number>();
  [
    ...Array.from(
      { length: producers },
      () => start("benchProducer", [prodCmd, q], true),
    ),
    ...Array.from(
      { length: consumers },
      () => start("benchConsumer", [consCmd, q, done], true),
    ),
  ];
  return {
    async run() {
      for (let i = 0; i < consumers; i++) await consCmd.put(N / consumers);
      for (let i = 0; i < producers; i++) await prodCmd.put(N / producers);
      for (let i = 0; i < consumers; i++) await done.get();
    },
  };
}

async function latency(): Promise<void> {
  const out = new Queue<{ p50: number; p99: number }>();
  // The first run also pays for loading the worker modules: not printed.
  for (
    const [kind, rounds] of [["warm-up", 200], ["Queue", 20_000], [
      "Pipe",
      20_000,
    ]] as const
  ) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let procs: Process[];
    if (kind !== "Pipe") {
      const a = new Queue();
      const b = new Queue();
      procs = [
        start("echoQueue", [a, b]),
        start("pingQueue", [a, b, rounds, out]),
      ];
    } else {
      const [x, y] = Pipe();
      procs = [start("echo", [y]), start("pingPipe", [x, rounds, out])];
    }
    const r = await out.get();
    for (const p of procs) await p.join();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (kind === "warm-up") continue;
    console.log(
      `${kind} one-way latency worker→worker: p50 ${r.p50.toFixed(1)} µs, p99 ${
        r.p99.toFixed(1)
      } µs; ${rounds} round trips in ${wall.toFixed(0)} ms wall, ${
        ((cpu.user + cpu.system) / 1000).toFixed(0)
      } ms CPU (all threads, incl. worker start)`,
    );
  }
}

await latency();

const oneToOne = rig(1, 1);
const twoToTwo = rig(2, 2);

const small = { id: 42, name: "item-42", tags: ["a", "b"], score: 0.5 };
const rich = { when: new Date(0), map: new Map([[1, "a"]]), n: 10n };

Deno.bench(`Queue 1 producer → 1 consumer (workers), ${N} ints`, {
  group: "throughput",
  baseline: true,
}, async () => {
  await oneToOne.run();
});

Deno.bench(`Queue 2 producers → 2 consumers (workers), ${N} ints`, {
  group: "throughput",
}, async () => {
  await twoToTwo.run();
});

Deno.bench("encode+decode small object: fast path", { group: "codec" }, () => {
  decodeItem(encodeItem(small).slice());
});

Deno.bench("encode+decode small object: node:v8", {
  group: "codec",
  baseline: true,
}, () => {
  deserialize(serialize(small));
});

Deno.bench(
  "encode+decode small object: JSON (lossy)",
  { group: "codec" },
  () => {
    JSON.parse(JSON.stringify(small));
  },
);

Deno.bench(
  "encode+decode Map/Date/BigInt: v8 fallback",
  { group: "codec" },
  () => {
    decodeItem(encodeItem(rich).slice());
  },
);

const local = new Queue<number>();
Deno.bench("Queue putSync+getSync, same thread", { group: "local" }, () => {
  local.putSync(1);
  local.getSync();
});

Deno.bench(
  "Queue put+get (async), same thread",
  { group: "local" },
  async () => {
    await local.put(1);
    await local.get();
  },
);
