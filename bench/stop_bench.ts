/**
 * Stopping a process: from `terminate()` to the end `join()` reports, for
 * each case that can be stopped (a worker thread busy in synchronous code
 * cannot: see README "Stopping a process").
 *
 * Run: deno bench --allow-all bench/stop_bench.ts
 * Figures and the machine are in bench/RESULTS.md.
 *
 * - worker/getSync: a worker thread blocked in `queue.getSync()`.
 * - worker/await: a worker thread awaiting `queue.get()`.
 * - subprocess/busy: a `"subprocess"` child in an endless loop.
 */
import { parentProcess, Process, Queue } from "../mod.ts";

const HERE = import.meta.url;

/** Blocks in getSync for good, after saying it started. */
export function blockSync(q: Queue<number>, started: Int32Array): void {
  Atomics.store(started, 0, 1);
  q.getSync();
}

/** Awaits get() for good, after saying it started. */
export async function blockAsync(q: Queue<number>, started: Int32Array) {
  Atomics.store(started, 0, 1);
  await q.get();
}

/** Busy for good, after saying (in a file) that it started. */
export function spin(path: string): never {
  Deno.writeTextFileSync(path, "running");
  for (;;) {
    // Only a signal stops this.
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startedWorker(target: typeof blockSync): Promise<Process> {
  const started = new Int32Array(new SharedArrayBuffer(4));
  const p = new Process({
    target,
    args: [new Queue<number>(), started],
    module: HERE,
  });
  p.start();
  while (Atomics.load(started, 0) === 0) await sleep(2);
  await sleep(30); // now inside the wait
  return p;
}

// A subprocess child imports this module to find its target: only the
// parent registers benches.
if (parentProcess() === null) {
  for (
    const [name, target] of [["getSync", blockSync], [
      "await",
      blockAsync,
    ]] as const
  ) {
    Deno.bench({
      name: `worker/${name}: terminate() -> join()`,
      group: "stop",
      n: 20,
      async fn(b) {
        const p = await startedWorker(target);
        b.start();
        p.terminate();
        await p.join();
        b.end();
      },
    });
  }

  Deno.bench({
    name: "subprocess/busy: terminate() -> join()",
    group: "stop",
    n: 10,
    async fn(b) {
      const path = Deno.makeTempFileSync();
      const p = new Process({
        target: spin,
        args: [path],
        module: HERE,
        startMethod: "subprocess",
      });
      p.start();
      while (Deno.readTextFileSync(path) !== "running") await sleep(5);
      b.start();
      p.terminate();
      await p.join();
      b.end();
      Deno.removeSync(path);
    },
  });
}
