/**
 * The parent's CPU cost per pool task: CPU time of this program's main
 * thread (where the pool engine runs) per task, which a busy machine
 * inflates far less than wall time. For comparing two versions of the
 * engine on a shared machine: run it in each checkout, alternating.
 *
 * Run: deno run --allow-all bench/pool_cpu.ts
 *
 * - flight: 100,000 no-op `applyAsync` in flight at once (µs a task).
 * - seq: 5,000 `await pool.apply(noop)` one at a time (µs a task).
 * - map1M: one `map` over 1,000,000 no-op items (ms).
 *
 * Medians of 5 runs on a warm `Pool(2)`; Linux only (reads
 * `/proc/thread-self/stat`, in 10 ms ticks).
 */
import { parentProcess, Pool } from "../mod.ts";
import { noop, TASKS } from "./_tasks.ts";

/** CPU time (ms) this thread has used. */
function cpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/thread-self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}

if (parentProcess() === null) {
  await using pool = new Pool(2, { module: TASKS });
  await pool.map(noop, [1, 2, 3, 4], 1);
  const million = Array.from({ length: 1_000_000 }, (_, i) => i);
  const runs = {
    flight: [] as number[],
    seq: [] as number[],
    map1M: [] as number[],
  };
  for (let rep = 0; rep < 5; rep++) {
    let t = cpuMs();
    const rs = [];
    for (let i = 0; i < 100_000; i++) rs.push(pool.applyAsync(noop, [i]));
    await Promise.all(rs);
    runs.flight.push((cpuMs() - t) / 100);
    t = cpuMs();
    for (let i = 0; i < 5000; i++) await pool.apply(noop, [i]);
    runs.seq.push((cpuMs() - t) / 5);
    t = cpuMs();
    await pool.map(noop, million);
    runs.map1M.push(cpuMs() - t);
  }
  console.log(
    `main-thread CPU: flight ${median(runs.flight)} µs/task, seq ${
      median(runs.seq)
    } µs/task, map of 1M ${median(runs.map1M)} ms`,
  );
}
