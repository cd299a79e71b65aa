// Stopping processes honestly (issue 9). Deno cannot interrupt a worker
// thread busy in synchronous code, so the "worker" start method must never
// report a stop that did not happen, must end every library wait on a stop
// request, and must say when code cannot be stopped. Experiments with a
// thread that never stops run in child programs (tests/testdata), so no
// thread spins on in this test runner.
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import {
  Barrier,
  Condition,
  Event,
  Lock,
  Pipe,
  Pool,
  Process,
  Queue,
  Semaphore,
  WorkerLostError,
} from "../mod.ts";
import { runDeno, TASKS, testdata } from "./testdata/helpers.ts";
import * as stop from "./testdata/stop_tasks.ts";
import * as tasks from "./testdata/tasks.ts";

const STOP_TASKS = testdata("stop_tasks.ts");
const linux = Deno.build.os === "linux";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function report(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(stop.REPORT_BYTES));
}

async function until(what: string, cond: () => boolean, ms = 30_000) {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(2);
  }
}

Deno.test({
  name:
    "A busy worker process stays alive after terminate() while its thread runs, with one warning",
  ignore: !linux,
  fn: async () => {
    const r = await runDeno("./busy_stop_main.ts", ["1500"], 60);
    assertEquals(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    // 400 ms after terminate() and kill(): the thread still burns CPU
    // (read from /proc/self/task), and every API says it is running.
    assert(out.whileBusy.ticks > 0, `no CPU used: ${r.stdout}`);
    assertEquals(out.whileBusy.done, 0);
    assertEquals(out.whileBusy.alive, true);
    assertEquals(out.whileBusy.exitCode, null);
    // join(timeout) returns at its timeout, the process still alive.
    assert(out.joinTimeout.ms >= 150, r.stdout);
    assertEquals(out.joinTimeout.alive, true);
    assertEquals(out.joinTimeout.exitCode, null);
    // It ends once its code returns to the event loop: not before.
    assertEquals(out.atEnd.done, 1);
    assertEquals(out.atEnd.alive, false);
    assertEquals(out.atEnd.exitCode, -15);
    assert(out.goneMs !== null, "the thread never went away");
    const warnings = r.stderr.split("\n").filter((l) =>
      l.includes("was asked to stop")
    );
    assertEquals(warnings.length, 1, r.stderr);
    assertStringIncludes(warnings[0], "'Busy'");
    assertStringIncludes(warnings[0], 'startMethod: "subprocess"');
  },
});

for (const target of [stop.readSync, stop.readAsync]) {
  Deno.test(`A worker process blocked in ${target.name} stops at terminate() and takes no item`, async () => {
    const q = new Queue<number>();
    const rep = report();
    const p = new Process({ target, args: [q, rep], module: STOP_TASKS });
    p.start();
    await until("started", () => Atomics.load(rep, stop.Slot.Started) === 1);
    await q.put(-1); // one item taken: it really waits in get() now
    await until("took one", () => Atomics.load(rep, stop.Slot.Count) === 1);
    await sleep(100);
    const t0 = performance.now();
    p.terminate();
    await until("stopped", () => !p.isAlive());
    const ms = performance.now() - t0;
    // The issue asks for 50 ms (measured: 5-25 ms, see bench/RESULTS.md);
    // a loaded test machine gets more room.
    assert(ms < 1000, `took ${ms} ms to stop`);
    assertEquals(p.exitCode, -15);
    for (let i = 0; i < 10; i++) await q.put(i);
    await sleep(200);
    assertEquals(Atomics.load(rep, stop.Slot.Count), 1, "it took items");
    for (let i = 0; i < 10; i++) assertEquals(await q.get({ timeout: 5 }), i);
    await p.join();
  });
}

Deno.test("A worker process blocked in any library wait, sync or async, stops at terminate()", async () => {
  const times: Record<string, number> = {};
  for (const sync of [true, false]) {
    const lock = new Lock();
    lock.acquireSync();
    const full = new Queue<number>(1);
    await full.put(0);
    const [, theirs] = Pipe();
    const blockers: stop.Blocker[] = [
      ["lock", lock],
      ["semaphore", new Semaphore(0)],
      ["event", new Event()],
      ["condition", new Condition()],
      ["barrier", new Barrier(2)],
      ["recv", theirs],
      ["put", full],
    ];
    for (const blocker of blockers) {
      const rep = report();
      const p = new Process({
        target: stop.blockIn,
        args: [blocker, sync, rep],
        module: STOP_TASKS,
      });
      p.start();
      await until("started", () => Atomics.load(rep, stop.Slot.Started) === 1);
      await sleep(50);
      assert(p.isAlive());
      const t0 = performance.now();
      p.terminate();
      await until(`${blocker[0]} stopped`, () => !p.isAlive());
      times[`${blocker[0]}${sync ? "Sync" : ""}`] = performance.now() - t0;
      assertEquals(p.exitCode, -15);
      assertEquals(Atomics.load(rep, stop.Slot.Done), 0, "its wait returned");
      await p.join();
      if (linux) {
        // Its thread really went (not only the report of it).
        const tid = Atomics.load(rep, stop.Slot.Tid);
        await until(
          `${blocker[0]}'s thread gone`,
          () => stop.threadTicks(tid) === null,
          5000,
        );
      }
    }
    lock.release();
  }
  // The issue asks for 50 ms (measured: see bench/RESULTS.md); a loaded
  // test machine gets more room.
  for (const [what, ms] of Object.entries(times)) {
    assert(ms < 1000, `${what} took ${ms} ms to stop`);
  }
});

Deno.test("A lock holder terminated in its critical section keeps the lock until its thread stops", async () => {
  const lock = new Lock();
  const rep = report();
  const p = new Process({
    target: stop.holdWhileBusy,
    args: [lock, rep, 800],
    module: STOP_TASKS,
  });
  p.start();
  await until("holding", () => Atomics.load(rep, stop.Slot.Started) === 1);
  await sleep(50);
  p.terminate();
  assert(await lock.acquire({ timeout: 60 }), "never got the lock");
  // Nobody entered while the holder was inside: it had left its busy
  // critical section (and ended) before the lock moved on.
  const count = Atomics.load(rep, stop.Slot.Count);
  assertEquals(Atomics.load(rep, stop.Slot.Done), 1);
  assertEquals(p.isAlive(), false);
  assertEquals(lock.ownerDied, true);
  await sleep(100);
  assertEquals(Atomics.load(rep, stop.Slot.Count), count);
  lock.release();
  await p.join();
  assertEquals(p.exitCode, -15);
});

Deno.test("A pool task with a timeout on a busy loop rejects on time; the pool keeps its size and reports the stopping worker", async () => {
  const r = await runDeno("./pool_stop_main.ts", [], 90);
  assertEquals(r.code, 0, r.stderr);
  const [first, second] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(first.error, "TimeoutError");
  assertEquals(first.started, 1);
  // Rejected at its 0.3 s timeout, not once its thread stopped (never).
  assert(first.rejectedMs < 3000, `rejected after ${first.rejectedMs} ms`);
  assertEquals(first.afterTimeout.workers, 2);
  assertEquals(first.afterTimeout.stopping, 1);
  assertEquals(first.pair, [true, true], "two workers did not run at once");
  assertEquals(first.squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
  assertEquals(first.end.stopping, 1);
  // join() does not wait for good on the worker that cannot stop.
  assertEquals(second.afterJoin.stopping, 1);
  assertEquals(second.afterJoin.workers, 0);
  assertStringIncludes(r.stderr, "pool worker 'PoolWorker-");
  assertStringIncludes(r.stderr, 'startMethod: "subprocess"');
});

Deno.test("A pool worker that took its stop but ends slowly is waited for, not reported as running code", async () => {
  const r = await runDeno("./pool_ending_main.ts", [], 90);
  assertEquals(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  // Its thread was still tearing down 600 ms after terminate(): counted.
  assertEquals(out.meanwhile.stopping, 1, r.stdout);
  // join() returned once it had really ended, not at the warning's timer.
  assertEquals(out.endedBeforeJoin, 1, r.stdout);
  assertEquals(out.after.stopping, 0, r.stdout);
  assert(!r.stderr.includes("taken out of service"), r.stderr);
});

Deno.test("A terminated pool's busy worker runs nothing more of what it was sent", async () => {
  const pool = new Pool(1, { module: STOP_TASKS });
  await pool.apply(stop.countRun, [report()]); // started, function loaded
  const rep = report();
  // The second task is sent while the first runs (two messages in flight).
  const busy = pool.apply(stop.busyThenReturn, [600]);
  const next = pool.apply(stop.countRun, [rep]);
  await sleep(150);
  pool.terminate();
  await assertRejects(() => busy, Error, "terminated");
  await assertRejects(() => next, Error, "terminated");
  // The busy task ends on its own, 600 ms in; then the worker stops.
  await pool.join();
  await sleep(200);
  assertEquals(Atomics.load(rep, stop.Slot.Count), 0, "a cancelled task ran");
});

Deno.test({
  name: "Canary: does this Deno stop a worker thread busy in synchronous code?",
  ignore: !linux,
  fn: async () => {
    const r = await runDeno("./canary_main.ts", [], 60);
    assertEquals(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    // Recorded, never failed: the day this says true, the docs (README,
    // Process.terminate) can promise a hard stop for worker threads.
    console.log(
      `Deno ${out.deno} ${
        out.stopped ? "STOPS" : "does not stop"
      } a busy worker thread on terminate()`,
    );
  },
});

for (const startMethod of ["worker", "subprocess"] as const) {
  Deno.test(`An unhandled rejection in a process target gives exitCode 1 and prints the error [${startMethod}]`, async () => {
    const r = await runDeno("./rejection_main.ts", [], 60, {
      MP_TEST_START_METHOD: startMethod,
    });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "exitCode=1");
    assertStringIncludes(r.stderr, "Process Rejecter:");
    assertStringIncludes(r.stderr, "nobody handled this rejection");
  });
}

async function running(path: string): Promise<void> {
  await until("running", () => {
    try {
      return Deno.readTextFileSync(path) === "running";
    } catch {
      return false;
    }
  }, 60_000);
}

Deno.test("terminate(): a subprocess child that handles SIGTERM and exits 0 reports 0", async () => {
  const path = Deno.makeTempFileSync();
  const p = new Process({
    target: stop.onSigterm,
    args: [path, 0],
    module: STOP_TASKS,
    startMethod: "subprocess",
  });
  p.start();
  await running(path);
  p.terminate();
  await p.join();
  assertEquals(p.exitCode, 0);
  Deno.removeSync(path);
});

Deno.test("terminate() then kill(): a subprocess child that ignores SIGTERM reports -9", async () => {
  const path = Deno.makeTempFileSync();
  const p = new Process({
    target: stop.onSigterm,
    args: [path, null],
    module: STOP_TASKS,
    startMethod: "subprocess",
  });
  p.start();
  await running(path);
  p.terminate();
  await p.join(0.3);
  assert(p.isAlive(), "it did not ignore SIGTERM");
  p.kill();
  await p.join();
  assertEquals(p.exitCode, -9);
  Deno.removeSync(path);
});

for (const startMethod of ["worker", "subprocess"] as const) {
  const tag = ` [${startMethod}]`;
  Deno.test(`12 tasks that call Deno.exit in a burst do not break a Pool(2)${tag}`, async () => {
    await using pool = new Pool(2, { module: TASKS, startMethod });
    const exits = await Promise.allSettled(
      Array.from({ length: 12 }, () => pool.apply(tasks.exitWith, [3])),
    );
    for (const e of exits) {
      assertEquals(e.status, "rejected");
      assert((e as PromiseRejectedResult).reason instanceof WorkerLostError);
    }
    const squares = await Promise.all(
      Array.from({ length: 10 }, (_, i) => pool.apply(tasks.square, [i])),
    );
    assertEquals(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
  });

  Deno.test(`9 tasks that call Deno.exit over a pool's life (maxtasksperchild 1) do not break it${tag}`, async () => {
    await using pool = new Pool(1, {
      module: TASKS,
      startMethod,
      maxtasksperchild: 1,
    });
    for (let i = 0; i < 9; i++) {
      await assertRejects(
        () => pool.apply(tasks.exitWith, [3]),
        WorkerLostError,
      );
      assertEquals(await pool.apply(tasks.square, [i]), i * i);
    }
  });
}
