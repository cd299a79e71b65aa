/**
 * Benchmarks of the synchronization primitives.
 *
 *     deno bench --allow-all bench/synchronize_bench.ts
 *
 * The contended benchmarks run two worker processes; their wall time per
 * iteration covers `n` rounds between a start and an end barrier (the
 * workers' start-up is outside the timed part). After the run, the CPU
 * time the whole program spent per hand-off is printed, since waiters
 * spin briefly before they sleep.
 *
 * @module
 */

import process from "node:process";
import * as mp from "../mod.ts";

const TASKS = new URL("../tests/testdata/sync_tasks.ts", import.meta.url).href;

// --- Uncontended --------------------------------------------------------

const lock = new mp.Lock();
Deno.bench("Lock acquireSync() + release(), uncontended", {
  group: "uncontended",
  baseline: true,
}, () => {
  lock.acquireSync();
  lock.release();
});

const rlock = new mp.RLock();
Deno.bench("RLock acquireSync() + release(), uncontended", {
  group: "uncontended",
}, () => {
  rlock.acquireSync();
  rlock.release();
});

const sem = new mp.Semaphore(1);
Deno.bench("Semaphore acquireSync() + release(), uncontended", {
  group: "uncontended",
}, () => {
  sem.acquireSync();
  sem.release();
});

Deno.bench("Lock lockSync() guard + dispose, uncontended", {
  group: "uncontended",
}, () => {
  using _held = lock.lockSync();
});

const lockA = new mp.Lock();
Deno.bench("Lock await acquire() + release(), uncontended", {
  group: "uncontended async",
}, async () => {
  await lockA.acquire();
  lockA.release();
});

const event = new mp.Event();
event.set();
Deno.bench("Event waitSync() on a set event", {
  group: "uncontended",
}, () => {
  event.waitSync();
});

// --- Value increment: under the lock vs a raw atomic add ------------------

const value = new mp.Value("i", 0, { lock: new mp.Lock() });
const valueLock = value.getLock();
Deno.bench("Value += 1 under its Lock", { group: "increment" }, () => {
  valueLock.acquireSync();
  value.value += 1;
  valueLock.release();
});

const raw = new Int32Array(new SharedArrayBuffer(4));
Deno.bench("Atomics.add(i32, 0, 1)", {
  group: "increment",
  baseline: true,
}, () => {
  Atomics.add(raw, 0, 1);
});

// --- Contended, 2 workers -------------------------------------------------

const ROUNDS = 100_000;
const cpu = new Map<string, { wall: number; cpu: number; handoffs: number }>();

function start(name: string, args: unknown[]): mp.Process {
  const p = new mp.Process({ target: { module: TASKS, name }, args });
  p.start();
  return p;
}

/** Runs `setup`'s two workers between barriers; times the middle part. */
async function timed(
  b: Deno.BenchContext,
  label: string,
  setup: (start: mp.Barrier, end: mp.Barrier) => mp.Process[],
  handoffs: () => number,
): Promise<void> {
  const go = new mp.Barrier(3);
  const done = new mp.Barrier(3);
  const ps = setup(go, done);
  await go.wait();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  b.start();
  await done.wait();
  b.end();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await Promise.all(ps.map((p) => p.join()));
  const acc = cpu.get(label) ?? { wall: 0, cpu: 0, handoffs: 0 };
  acc.wall += wall;
  acc.cpu += (c.user + c.system) / 1000;
  acc.handoffs += handoffs();
  cpu.set(label, acc);
}

Deno.bench(`Lock, 2 workers x ${ROUNDS} acquireSync/release`, {
  group: "contended",
  n: 6,
  warmup: 1,
}, async (b) => {
  const l = new mp.Lock();
  const last = new mp.Value("i", 0, { lock: false });
  const stats = new mp.Array("i", 1);
  await timed(
    b,
    "Lock, 2 workers",
    (go, done) =>
      [1, 2].map((id) =>
        start("contend", [l, last, stats, ROUNDS, id, go, done])
      ),
    () => stats[0],
  );
});

Deno.bench(`Semaphore ping-pong, 2 workers x ${ROUNDS} strict hand-offs`, {
  group: "contended",
  n: 6,
  warmup: 1,
}, async (b) => {
  const a = new mp.Semaphore(1);
  const z = new mp.Semaphore(0);
  await timed(
    b,
    "Semaphore ping-pong",
    (go, done) => [
      start("pingPong", [a, z, ROUNDS, go, done]),
      start("pingPong", [z, a, ROUNDS, go, done]),
    ],
    () => 2 * ROUNDS,
  );
});

globalThis.addEventListener("unload", () => {
  if (cpu.size === 0) return;
  console.log("\nContended runs (all timed iterations, warm-up included):");
  for (const [label, r] of cpu) {
    const perSec = r.handoffs / (r.wall / 1000);
    console.log(
      `  ${label}: ${Math.round(perSec).toLocaleString("en")} hand-offs/s, ` +
        `${(r.wall * 1e6 / r.handoffs).toFixed(0)} ns wall and ` +
        `${(r.cpu * 1e6 / r.handoffs).toFixed(0)} ns CPU per hand-off, ` +
        `${(r.cpu / r.wall).toFixed(2)} cores busy`,
    );
  }
});
