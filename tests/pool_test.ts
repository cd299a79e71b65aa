// The Pool tests, each run under both start methods ("worker", then
// "subprocess"): test names end in ` [<method>]`; checks that differ by
// method branch on `sub`. What only the "subprocess" method has
// (sandboxed tasks, refusing bare shared memory) closes this file; the
// checks of Pool's arguments and options are in tests/pool_options_test.ts.
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  AsyncResult,
  Pool,
  ProcessError,
  TimeoutError,
  ValueError,
  WorkerLostError,
} from "../mod.ts";
import * as tasks from "./testdata/tasks.ts";
import {
  eachStartMethod,
  type MethodCase,
  runDeno,
  TASKS,
} from "./testdata/helpers.ts";

/** A `MethodCase` that also makes pools of its start method. */
interface PoolCase extends MethodCase {
  /** A pool of `size` workers on tests/testdata/tasks.ts. */
  pool(size?: number, opts?: ConstructorParameters<typeof Pool>[1]): Pool;
}

/**
 * Registers a Pool test once per start method, named `<name> [<method>]`;
 * `fn` gets the method's `PoolCase`.
 */
function test(name: string, fn: (c: PoolCase) => Promise<void>): void {
  eachStartMethod(name, (c) =>
    fn({
      ...c,
      pool: (size = 2, opts = {}) =>
        new Pool(size, { module: TASKS, startMethod: c.startMethod, ...opts }),
    }));
}

test("Pool.map() keeps input order", async ({ pool }) => {
  await using p = pool();
  const items = Array.from({ length: 1000 }, (_, i) => i);
  assertEquals(await p.map(tasks.square, items), items.map((i) => i * i));
  assertEquals(await p.map(tasks.square, []), []);
  assertEquals(await p.map(tasks.square, new Set([3, 4]), 1), [9, 16]);
});

test("Pool runs tasks in parallel on separate workers", async ({ sub, pool }) => {
  await using p = pool(2);
  if (sub) {
    // No shared memory between processes: two busy tasks whose time
    // windows overlap ran at once.
    await p.map(tasks.square, [1, 2], 1);
    const [a, b] = await Promise.all([
      p.apply(tasks.busyWindow, [300]),
      p.apply(tasks.busyWindow, [300]),
    ]);
    assert(a[0] < b[1] && b[0] < a[1], `no overlap: ${a} ${b}`);
    return;
  }
  const sab = new SharedArrayBuffer(8);
  // Each task waits until both are inside at once: only true parallelism
  // lets both return true.
  const both = await Promise.all([
    p.apply(tasks.rendezvous, [sab, 2]),
    p.apply(tasks.rendezvous, [sab, 2]),
  ]);
  assertEquals(both, [true, true]);
});

test("Pool.apply() one call at a time returns every value exactly", async ({ pool }) => {
  // One task at a time takes the fast lane when its values are plain
  // JSON; everything else must fall back to messages without loss.
  await using p = pool(2);
  const values: unknown[] = [
    1,
    "text",
    null,
    true,
    [1, [2, { a: 3 }]],
    { nested: { ok: [true] } },
    undefined,
    -0,
    NaN,
    Infinity,
    10n,
    new Date(0),
    new Map([[1, "a"]]),
    new Set(["x"]),
    new Uint8Array([1, 2, 3]),
    "x".repeat(100_000),
    [undefined],
    { u: undefined },
  ];
  for (let round = 0; round < 3; round++) {
    for (const v of values) {
      assertEquals(await p.apply(tasks.identity, [v]), v);
    }
    await assertRejects(
      () => p.apply(tasks.throwIf, ["throw"]),
      ProcessError,
      "asked to throw",
    );
    assertEquals(await p.apply(tasks.throwIf, ["fine"]), "fine");
  }
  for (let i = 0; i < 2000; i++) {
    assertEquals(await p.apply(tasks.add, [i, 1]), i + 1);
  }
});

test("Pool.apply() passes args and kwargs", async ({ pool }) => {
  await using p = pool();
  assertEquals(await p.apply(tasks.add, [2, 3]), 5);
  assertEquals(await p.apply(tasks.withKwargs, [4], { times: 3 }), 12);
  assertEquals(await p.apply(tasks.sleepThen, [5, { a: [1, new Date(0)] }]), {
    a: [1, new Date(0)],
  });
  assertEquals(await p.apply((x: number) => x + 1, [1]), 2);
  assertEquals(await p.apply({ module: TASKS, name: "square" }, [5]), 25);
});

test("Pool.starmap() spreads each argument list", async ({ pool }) => {
  await using p = pool();
  assertEquals(await p.starmap(tasks.add, [[1, 2], [3, 4], [5, 6]]), [
    3,
    7,
    11,
  ]);
  const r = p.starmapAsync(tasks.add, [[1, 1]]);
  assertEquals(await r.get(10), [2]);
  await assertRejects(
    () => p.starmap(tasks.add, [1 as unknown as [number, number]]),
    TypeError,
    "item 0 must be an array",
  );
});

test("Pool.applyAsync() calls callback and errorCallback", async ({ pool }) => {
  await using p = pool();
  const seen: unknown[] = [];
  const ok = p.applyAsync(tasks.square, [6], undefined, {
    callback: (v) => seen.push(["ok", v]),
  });
  const bad = p.applyAsync(tasks.fail, ["nope"], undefined, {
    errorCallback: (e) => seen.push(["err", (e as ProcessError).remoteName]),
  });
  assert(ok instanceof AsyncResult);
  await ok.wait();
  await bad.wait();
  assertEquals(seen.length, 2);
  assert(seen.some((s) => JSON.stringify(s) === '["ok",36]'));
  assert(seen.some((s) => JSON.stringify(s) === '["err","RangeError"]'));
  assertEquals(ok.successful(), true);
  assertEquals(bad.successful(), false);
});

test("AsyncResult.get(timeout) raises TimeoutError; ready() and successful() follow", async ({ pool }) => {
  await using p = pool(1);
  const r = p.applyAsync(tasks.sleepThen, [300, "late"]);
  assertEquals(r.ready(), false);
  assertThrows(() => r.successful(), ValueError, "has not finished");
  await assertRejects(() => r.get(0.01), TimeoutError, "not ready within");
  assertEquals(await r.get(), "late");
  assertEquals(r.ready(), true);
  assertEquals(await r, "late");
});

test("AsyncResult.get() and task timeouts of Infinity or over 2^31 ms wait; get(-1) does not", async ({ pool }) => {
  await using p = pool(1);
  const r = p.applyAsync(tasks.sleepThen, [300, "late"]);
  // Python's get(-1) raises TimeoutError at once when not ready.
  await assertRejects(() => r.get(-1), TimeoutError, "not ready within");
  assertEquals(await r.get(Infinity), "late");
  assertEquals(
    await p.applyAsync(tasks.sleepThen, [300, "huge"]).get(3e6),
    "huge",
  );
  for (const timeout of [Infinity, 3e6]) {
    assertEquals(
      await p.apply(tasks.sleepThen, [300, timeout], undefined, { timeout }),
      timeout,
    );
    assertEquals(
      await p.starmap(tasks.sleepThen, [[300, "m"]], { timeout }),
      ["m"],
    );
  }
});

test("A task that throws rejects with ProcessError; the pool goes on", async ({ pool }) => {
  await using p = pool();
  const err = await assertRejects(
    () => p.apply(tasks.fail, ["out of cheese"]),
    ProcessError,
  );
  assertEquals(err.remoteName, "RangeError");
  assertEquals(err.remoteMessage, "out of cheese");
  assertStringIncludes(err.remoteStack, "tasks.ts");
  assertEquals(err.cause, { code: 42 });
  assertEquals(await p.apply(tasks.square, [3]), 9);
  await assertRejects(
    () => p.map(tasks.failOn, [1, 2, 3, 4], 1),
    ProcessError,
    "bad item 3",
  );
});

test("A task that throws a non-Error keeps the value as the cause", async ({ pool }) => {
  await using p = pool(1);
  const cases: Array<[unknown, string]> = [
    ["boom", '"boom"'],
    [{ code: 7 }, "{ code: 7 }"],
    [undefined, "undefined"],
    [null, "null"],
    [42, "42"],
  ];
  for (const fn of [tasks.throwValue, tasks.rejectValue]) {
    for (const [value, shown] of cases) {
      const err = await assertRejects(
        () => p.apply(fn, [value]),
        ProcessError,
      );
      assertEquals(
        err.message,
        `Task '${fn.name}' threw a non-Error value: ${shown}`,
      );
      assert("cause" in err, `no cause for ${shown}`);
      assertEquals(err.cause, value);
    }
  }
  const err = await assertRejects(
    () => p.map(tasks.throwValue, ["in a map"]),
    ProcessError,
  );
  assertEquals(err.cause, "in a map");
  // An uncloneable value is still shown.
  const fnErr = await assertRejects(
    () => p.apply(tasks.throwFunction, []),
    ProcessError,
  );
  assertStringIncludes(fnErr.message, "[Function: thrown]");
});

test("Pool.imap() yields in order, imapUnordered() as completed", async ({ pool }) => {
  await using p = pool(2);
  const ordered: unknown[] = [];
  for await (const v of p.imap(tasks.square, [1, 2, 3, 4, 5])) {
    ordered.push(v);
  }
  assertEquals(ordered, [1, 4, 9, 16, 25]);

  async function* slowFirst() {
    yield [400, "slow"] as [number, string];
    yield [10, "fast"] as [number, string];
  }
  const unordered: unknown[] = [];
  for await (
    const v of p.imapUnordered(
      (pair: [number, string]) =>
        new Promise((r) => setTimeout(() => r(pair[1]), pair[0])),
      slowFirst(),
    )
  ) unordered.push(v);
  assertEquals(unordered, ["fast", "slow"]);
});

test("Pool.imap() raises a task's error at its position", async ({ pool }) => {
  await using p = pool(2);
  const got: number[] = [];
  await assertRejects(async () => {
    for await (const v of p.imap(tasks.failOn, [1, 2, 3, 4])) got.push(v);
  }, ProcessError);
  assertEquals(got, [1, 2]);
});

test("Pool.imap() yields what it has before the input's error, as Python", async ({ pool }) => {
  await using p = pool(2);
  function* failsAt3() {
    yield 0;
    yield 1;
    yield 2;
    throw new RangeError("input broke at 3");
  }
  for (const chunksize of [1, 2]) {
    for (const ordered of [true, false]) {
      const got: number[] = [];
      const it = ordered
        ? p.imap(tasks.square, failsAt3(), chunksize)
        : p.imapUnordered(tasks.square, failsAt3(), chunksize);
      await assertRejects(
        async () => {
          for await (const v of it) got.push(v);
        },
        RangeError,
        "input broke at 3",
      );
      assertEquals(
        got.sort((a, b) => a - b),
        [0, 1, 4],
        `ordered=${ordered} chunksize=${chunksize}`,
      );
    }
  }
});

test("Pool map family reports onProgress up to the total", async ({ pool }) => {
  await using p = pool(2);
  const calls: Array<[number, number | undefined]> = [];
  await p.map(tasks.square, Array.from({ length: 20 }, (_, i) => i), {
    chunksize: 3,
    onProgress: (done, total) => calls.push([done, total]),
  });
  assertEquals(calls.length, 7);
  assertEquals(calls.at(-1), [20, 20]);
  for (let i = 1; i < calls.length; i++) {
    assert(calls[i][0] > calls[i - 1][0]);
  }
});

test("Pool.map(): an onProgress that throws fails the call with its error", async ({ pool }) => {
  await using p = pool(2);
  const err = await assertRejects(
    () =>
      p.map(tasks.square, Array.from({ length: 20 }, (_, i) => i), {
        chunksize: 5,
        onProgress: (done) => {
          if (done >= 10) throw new RangeError("progress broke");
        },
      }),
    RangeError,
  );
  assertEquals(err.message, "progress broke");
  // The pool goes on.
  assertEquals(await p.map(tasks.square, [1, 2, 3]), [1, 4, 9]);
});

test("Pool initializer runs once per worker with initargs", async ({ pool }) => {
  await using p = pool(2, {
    initializer: tasks.init,
    initargs: [{ ready: true }],
  });
  assertEquals(await p.map(tasks.readInit, [1, 2, 3, 4], 1), [
    { ready: true },
    { ready: true },
    { ready: true },
    { ready: true },
  ]);
});

test("Pool initializer runs in a started worker even when no task comes", async ({ pool }) => {
  const out = Deno.makeTempFileSync({ prefix: "mp-pool-init-" });
  // Python: Pool(1, initializer), close(), join() runs it once.
  const p = pool(1, {
    initializer: tasks.appendLine,
    initargs: [out, "init"],
  });
  p.close();
  await p.join();
  assertEquals(Deno.readTextFileSync(out), "init\n");
  Deno.removeSync(out);
});

test("A pool worker's default start method is the one that started it", async ({ startMethod, pool }) => {
  await using p = pool(1);
  assertEquals(await p.apply(tasks.startMethodHere, []), startMethod);
});

test("Pool with an initializer that throws rejects its tasks", async ({ pool }) => {
  await using p = pool(1, { initializer: tasks.fail, initargs: ["no init"] });
  const err = await assertRejects(
    () => p.apply(tasks.square, [2]),
    ProcessError,
  );
  assertStringIncludes(err.message, "initializer");
  assertStringIncludes(err.message, "no init");
});

test("Pool maxtasksperchild replaces workers after that many tasks", async ({ pool }) => {
  await using p = pool(1, { maxtasksperchild: 2 });
  const ids = await p.map(tasks.ident, [0, 0, 0, 0, 0, 0], 1);
  assertEquals(new Set(ids).size, 3);
  assertEquals(ids[0], ids[1]);
  assertEquals(ids[2], ids[3]);
  assert(ids[1] !== ids[2]);
});

test("A worker that exits mid-task is replaced; its task rejects WorkerLostError", async ({ pool }) => {
  await using p = pool(2);
  const results = await Promise.allSettled(
    [1, 2, 3, 4, 5, 6, 7, 8].map((n) => p.apply(tasks.exitOn, [n, 5])),
  );
  for (const [i, r] of results.entries()) {
    if (i === 4) {
      assertEquals(r.status, "rejected");
      const reason = (r as PromiseRejectedResult).reason;
      assert(reason instanceof WorkerLostError);
      assertEquals(reason.exitCode, 5);
    } else {
      assertEquals(r, { status: "fulfilled", value: i + 1 });
    }
  }
  assertEquals(await p.map(tasks.square, [1, 2, 3]), [1, 4, 9]);
  assertEquals(p.stats().workers, 2);
});

test("A worker that runs out of memory is replaced; its task rejects WorkerLostError", async ({ pool }) => {
  await using p = pool(1, { resourceLimits: { maxOldGenerationSizeMb: 48 } });
  const lost = p.apply(tasks.hog);
  const after = p.apply(tasks.square, [8]);
  await assertRejects(() => lost, WorkerLostError);
  assertEquals(await after, 64);
});

test("Pool apply signal stops a running task by replacing its worker", async ({ busy, pool }) => {
  await using p = pool(1);
  const ctl = new AbortController();
  const spinning = p.apply(busy, [], undefined, { signal: ctl.signal });
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(p.stats().running, 1);
  ctl.abort(new Error("stop it"));
  await assertRejects(() => spinning, Error, "stop it");
  assertEquals(await p.apply(tasks.square, [4]), 16);
});

test("Pool apply timeout stops a running task; a queued task can be cancelled", async ({ busy, pool }) => {
  await using p = pool(1);
  const spinning = p.apply(busy, [], undefined, { timeout: 0.1 });
  const ctl = new AbortController();
  const queued = p.apply(tasks.square, [2], undefined, {
    signal: ctl.signal,
  });
  ctl.abort(new Error("dropped"));
  await assertRejects(() => queued, Error, "dropped");
  await assertRejects(() => spinning, TimeoutError, "did not finish within");
  assertEquals(await p.apply(tasks.square, [5]), 25);
  const pre = new AbortController();
  pre.abort(new Error("already"));
  await assertRejects(
    () => p.apply(tasks.square, [1], undefined, { signal: pre.signal }),
    Error,
    "already",
  );
});

test("Pool map with a timeout stops its running chunks", async ({ busy, pool }) => {
  await using p = pool(2);
  await assertRejects(
    () => p.map(busy, [1, 2, 3], { chunksize: 1, timeout: 0.1 }),
    TimeoutError,
  );
  assertEquals(await p.map(tasks.square, [2, 3]), [4, 9]);
});

test("Pool transfers ArrayBuffers instead of copying them", async ({ pool }) => {
  await using p = pool(1);
  const buf = new ArrayBuffer(1024);
  const n = await p.apply(tasks.byteLength, [buf], undefined, {
    transfer: [buf],
  });
  assertEquals(n, 1024);
  assertEquals(buf.byteLength, 0, "the buffer moved to the worker");
});

test("Pool rejects an uncloneable argument and names it", async ({ pool }) => {
  await using p = pool(1);
  await assertRejects(
    () => p.apply(tasks.add, [1, (() => 2) as unknown as number]),
    TypeError,
    "argument 1 of task 'add'",
  );
  await assertRejects(
    () => p.apply(tasks.returnsFunction),
    ProcessError,
    "Cannot send the task's result back",
  );
  assertEquals(await p.apply(tasks.square, [3]), 9);
});

test("Pool.stats() counts done, failed and workers", async ({ pool }) => {
  await using p = pool(2);
  await p.map(tasks.square, [1, 2, 3, 4], 1);
  await p.apply(tasks.fail, ["x"]).catch(() => {});
  const s = p.stats();
  assertEquals(s.done, 4);
  assertEquals(s.failed, 1);
  assertEquals(s.queued, 0);
  assertEquals(s.running, 0);
  assertEquals(s.workers, 2);
});

test("Pool close/join/terminate follow Python's rules", async ({ busy, pool }) => {
  const p = pool(2);
  await assertRejects(() => p.join(), ValueError, "still running");
  const r = p.applyAsync(tasks.sleepThen, [50, "done"]);
  p.close();
  await assertRejects(() => p.apply(tasks.square, [1]), ValueError, "closed");
  await p.join();
  assertEquals(await r, "done");

  const q = pool(1);
  const pending = q.apply(busy);
  await new Promise((res) => setTimeout(res, 20));
  q.terminate();
  await assertRejects(() => pending, Error, "terminated");
  await q.join();
});

test("A program that never closes its pool still exits", async ({ env }) => {
  const r = await runDeno("./pool_exit.ts", [], 30, env);
  assertEquals(r.timedOut, false, "the program hung");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim(), "[1,4,9]");
});

test("Pool many small tasks in flight all complete exactly once", async ({ pool }) => {
  await using p = pool(2);
  const n = 20_000;
  const results = await Promise.all(
    Array.from(
      { length: n },
      (_, i) => p.applyAsync(tasks.square, [i]).get(),
    ),
  );
  for (let i = 0; i < n; i++) assertEquals(results[i], i * i);
  assertEquals(p.stats().done, n);
});

// --- What only the "subprocess" start method has ---

Deno.test("Pool [subprocess] runs untrusted tasks sandboxed; a denied access is the task's error", async () => {
  const secret = Deno.makeTempFileSync({ prefix: "mp-subprocess-test-" });
  Deno.writeTextFileSync(secret, "s3cret");
  await using p = new Pool(1, {
    module: TASKS,
    startMethod: "subprocess",
    permissions: "none",
  });
  const err = await assertRejects(
    () => p.apply(tasks.writeFile, [secret, "overwritten"]),
    ProcessError,
  );
  assertEquals(err.remoteName, "NotCapable");
  assertStringIncludes(err.remoteMessage, "write access");
  assertEquals(Deno.readTextFileSync(secret), "s3cret");
  // The pool goes on, on the same worker.
  assertEquals(await p.apply(tasks.square, [7]), 49);
  assertEquals(p.stats().workers, 1);
  Deno.removeSync(secret);
});

Deno.test("Pool [subprocess] rejects a task given bare shared memory", async () => {
  await using p = new Pool(1, { module: TASKS, startMethod: "subprocess" });
  const err = await assertRejects(
    () => p.apply(tasks.identity, [new Int32Array(new SharedArrayBuffer(8))]),
    TypeError,
    "a SharedArrayBuffer cannot reach",
  );
  assert(err instanceof TypeError);
  assertStringIncludes(err.message, "Manager()");
  // Inside a Map or a Set too, with the same message (it was a bare
  // clone failure there).
  const sab = new SharedArrayBuffer(8);
  for (const arg of [new Map([["k", sab]]), new Set([new Int32Array(sab)])]) {
    await assertRejects(
      () => p.apply(tasks.identity, [arg]),
      TypeError,
      "a SharedArrayBuffer cannot reach",
    );
  }
  assertEquals(await p.apply(tasks.square, [3]), 9);
});
