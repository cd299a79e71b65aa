// The Process tests, each run under both start methods ("worker", then
// "subprocess"): test names end in ` [<method>]`; checks that differ by
// method branch on `sub`. What only the "subprocess" method has
// (permissions, refusing bare shared memory, inherited flags, no orphans)
// is in tests/start_method_test.ts.
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  activeChildren,
  cpuCount,
  currentProcess,
  parentProcess,
  Process,
  type ProcessOptions,
  type StartMethod,
  ValueError,
} from "../mod.ts";
import * as tasks from "./testdata/tasks.ts";
// Each `test(name, fn)` registers the test once per start method, named
// `<name> [<method>]` (or under the methods given as a third argument).
import {
  eachStartMethod as test,
  type MethodCase,
  runDeno,
  TASKS,
} from "./testdata/helpers.ts";

/** Starts a process of `c`'s start method running its busy target. */
function startBusy({ startMethod, busy }: MethodCase): Process {
  const p = new Process({ startMethod, target: busy, module: TASKS });
  p.start();
  return p;
}

/** Starts a process with `options` and waits for its end. */
async function runToEnd<A extends unknown[]>(
  options: ProcessOptions<A>,
): Promise<Process<A>> {
  const p = new Process(options);
  p.start();
  await p.join();
  return p;
}

/**
 * Runs a process whose target writes to the file named by its one
 * argument (a new temporary file); returns the process and what it wrote.
 */
async function runWriting(
  options: ProcessOptions<[string]>,
): Promise<{ p: Process<[string]>; written: string }> {
  const out = tmp();
  try {
    const p = await runToEnd({ ...options, args: [out] });
    return { p, written: Deno.readTextFileSync(out) };
  } finally {
    Deno.removeSync(out);
  }
}

/** Starts a process of `startMethod` that sleeps `ms`, then ends normally. */
function startSleeping(startMethod: StartMethod, ms: number): Process {
  const p = new Process({
    startMethod,
    target: tasks.sleepThen,
    module: TASKS,
    args: [ms, null],
  });
  p.start();
  return p;
}

/** Terminates `p` and waits for its end. */
async function terminateAndJoin(p: Process): Promise<void> {
  p.terminate();
  await p.join();
}

/** Whether `path` exists. */
function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A new empty temporary file. */
function tmp(): string {
  return Deno.makeTempFileSync({ prefix: "mp-process-test-" });
}

test("Process runs its target with args and kwargs in a child", async ({ startMethod }) => {
  const out = tmp();
  const p = new Process({
    startMethod,
    target: { module: TASKS, name: "writeFile" },
    args: [out, "written in the child"],
  });
  assertEquals(p.exitCode, null);
  assertEquals(p.pid, null);
  p.start();
  await p.join();
  assertEquals(p.exitCode, 0);
  assertEquals(Deno.readTextFileSync(out), "written in the child");
  Deno.removeSync(out);
});

test("Process knows its name and parent; kwargs come last", async ({ startMethod, sub }) => {
  const { p, written } = await runWriting({
    startMethod,
    target: tasks.describeSelf,
    module: TASKS,
    name: "Describer",
  });
  assertEquals(p.exitCode, 0);
  const seen = JSON.parse(written);
  assertEquals(seen.name, "Describer");
  assertEquals(seen.parent, "MainProcess");
  assertEquals(seen.parentAlive, true);
  assertEquals(seen.daemon, false);
  assertEquals(seen.ident, p.ident);
  if (sub) {
    assert(p.pid !== Deno.pid, "a subprocess has its own pid");
    assertEquals(p.pid, p.ident);
  } else {
    assertEquals(p.pid, Deno.pid);
  }

  const q = await runToEnd({
    startMethod,
    target: (a: number, kw: { times: number }) => Deno.exit(a * kw.times),
    args: [3],
    kwargs: { times: 5 },
  });
  assertEquals(q.exitCode, 15);
});

test("A child's default start method is the one that started it", async ({ startMethod }) => {
  const { p, written } = await runWriting({
    startMethod,
    target: tasks.writeStartMethod,
    module: TASKS,
  });
  assertEquals(p.exitCode, 0);
  assertEquals(written, startMethod);
});

test("Process names default to Process-N and are settable", ({ startMethod }) => {
  const a = new Process({ startMethod });
  const b = new Process({ startMethod });
  assertMatch(a.name, /^Process-\d+$/);
  assertEquals(
    Number(b.name.split("-")[1]),
    Number(a.name.split("-")[1]) + 1,
  );
  a.name = "renamed";
  assertEquals(a.name, "renamed");
  assertEquals(String(a), "<Process name='renamed' initial>");
});

test("Process.exitCode is the code given to Deno.exit", async ({ startMethod }) => {
  const p = await runToEnd({
    startMethod,
    target: tasks.exitWith,
    args: [7],
    module: TASKS,
  });
  assertEquals(p.exitCode, 7);
});

test("Process.exitCode is 1 when the target throws, with a traceback on stderr", async ({ env }) => {
  const r = await runDeno("./throw_main.ts", [], 30, env);
  assertEquals(r.code, 0);
  assertStringIncludes(r.stdout, "exitCode=1");
  assertStringIncludes(r.stderr, "Process Brewer:");
  assertStringIncludes(r.stderr, "RangeError: no more tea");
  assertStringIncludes(r.stderr, "at brew (file:");
  assertStringIncludes(r.stderr, "throw_main.ts");
  // A thrown non-Error shows its value.
  assertStringIncludes(r.stdout, "thrower exitCode=1");
  assertStringIncludes(r.stderr, "Process Thrower:\nUncaught { code: 7 }");
});

test("A child importing an unguarded main module refuses to start processes (no fork bomb)", async ({ env }) => {
  for (const kind of ["process", "pool", "manager"]) {
    const r = await runDeno("./fork_bomb_main.ts", [kind], 60, env);
    assertEquals(r.timedOut, false, `${kind}: the program kept forking`);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.includes("hello ran"), false, r.stdout);
    if (kind !== "pool") {
      // One child, which failed once; the parent's line printed once.
      assertEquals(r.stdout.trim(), "exitCode=1");
      assertStringIncludes(r.stderr, "BootstrapError");
    } else {
      assertEquals(r.stdout.split("\n").filter((l) => l).length, 1);
      assertStringIncludes(r.stdout, "task failed: ");
      assertStringIncludes(r.stdout, "BootstrapError");
    }
    const said = kind === "pool" ? r.stdout : r.stderr;
    assertStringIncludes(said, "if (import.meta.main)");
    assertStringIncludes(said, "fork_bomb_main.ts");
  }
});

test("Process.terminate() stops a running process: exitCode -15, not alive", async (c) => {
  const p = startBusy(c);
  assert(p.isAlive());
  await new Promise((r) => setTimeout(r, 50));
  assert(p.isAlive());
  assertEquals(p.exitCode, null);
  await terminateAndJoin(p);
  assertEquals(p.exitCode, -15);
  assertEquals(p.isAlive(), false);
});

test("Process.kill() stops a running process: exitCode -9", async (c) => {
  const p = startBusy(c);
  p.kill();
  await p.join();
  assertEquals(p.exitCode, -9);
});

test(
  "A program that terminates a spinning process exits promptly",
  async ({ env }) => {
    const r = await runDeno("./spin_terminate.ts", [], 30, env);
    assertEquals(r.timedOut, false, "the program hung");
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "alive=true");
    assertStringIncludes(r.stdout, "exitCode=-15 alive=false");
  },
  ["subprocess"],
);

test("Process.join(timeout) returns while the process still runs", async (c) => {
  const p = startBusy(c);
  await p.join(0.05);
  assertEquals(p.exitCode, null);
  assert(p.isAlive());
  await terminateAndJoin(p);
  assertEquals(p.exitCode, -15);
});

test("Process.join() waits out Infinity and timeouts over 2^31 ms; a negative one does not wait", async ({ startMethod }) => {
  for (const timeout of [Infinity, 3e6]) {
    const p = startSleeping(startMethod, 300);
    // Python's join(-1) returns at once; so do both joins here.
    await p.join(-1);
    p.joinSync(-1);
    assertEquals(p.exitCode, null);
    await p.join(timeout);
    assertEquals(p.exitCode, 0, `join(${timeout}) returned early`);
  }
});

test("Process rejects a timeout that is not a number, showing its type", async ({ startMethod }) => {
  const p = startSleeping(startMethod, 10);
  await assertRejects(
    () => p.join("1" as unknown as number),
    TypeError,
    `'timeout' must be a number of seconds, got the string "1"`,
  );
  assertThrows(() => p.joinSync(NaN), TypeError, "got NaN");
  await p.join();
});

/**
 * Waits until the target has written "running" to `path`. A
 * "subprocess" child gets its target from this program's event loop,
 * so a test lets it start before blocking in joinSync.
 */
async function running(path: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Deno.readTextFileSync(path) !== "running") {
    if (Date.now() > deadline) throw new Error("the process did not start");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("Process.joinSync() blocks until the child exits and sees its code", async ({ startMethod }) => {
  const out = tmp();
  const p = new Process({
    startMethod,
    // Self-contained: ships by its source.
    target: async (path: string, ms: number, code: number) => {
      Deno.writeTextFileSync(path, "running");
      await new Promise((resolve) => setTimeout(resolve, ms));
      Deno.exit(code);
    },
    args: [out, 200, 3],
  });
  p.start();
  await running(out);
  assert(p.isAlive());
  p.joinSync(60);
  // Right away, with no await in between.
  assertEquals(p.exitCode, 3);
  assertEquals(p.isAlive(), false);
  assertEquals(activeChildren().includes(p), false);
  assertEquals(String(p), `<Process name='${p.name}' stopped exitcode=3>`);
  // The event loop's own report of the end agrees, and join() returns.
  await p.ended;
  await p.join();
  assertEquals(p.exitCode, 3);
  p.joinSync();
  p.close();
  Deno.removeSync(out);
});

test(
  "Process.joinSync() without a timeout refuses a child that is still starting",
  async (c) => {
    const p = startBusy(c);
    // Its target reaches it through this program's event loop, which
    // joinSync would block: it says so instead of waiting for good.
    assertThrows(() => p.joinSync(), Error, "still starting");
    assert(p.isAlive());
    p.kill();
    await p.join();
    assertEquals(p.exitCode, -9);
  },
  ["subprocess"],
);

test("Process.joinSync(timeout) returns while the process still runs", async (c) => {
  const p = startBusy(c);
  const t0 = performance.now();
  p.joinSync(0.1);
  assert(performance.now() - t0 >= 90, "joinSync(0.1) did not wait");
  assertEquals(p.exitCode, null);
  assert(p.isAlive());
  p.terminate();
  p.joinSync(60);
  assertEquals(p.exitCode, -15);
  assertEquals(p.isAlive(), false);
  await p.join();
  assertEquals(p.exitCode, -15);
});

test("Process.kill() then joinSync(): exitCode -9", async (c) => {
  const p = startBusy(c);
  p.kill();
  p.joinSync(60);
  assertEquals(p.exitCode, -9);
  assertEquals(p.isAlive(), false);
  // Stopping an ended process changes nothing.
  await terminateAndJoin(p);
  assertEquals(p.exitCode, -9);
});

test("Process.joinSync() sees exitCode 1 when the target throws", async ({ startMethod }) => {
  const out = tmp();
  const p = new Process({
    startMethod,
    target: async (path: string, ms: number) => {
      Deno.writeTextFileSync(path, "running");
      await new Promise((resolve) => setTimeout(resolve, ms));
      throw new RangeError("thrown on purpose by the test");
    },
    args: [out, 200],
  });
  p.start();
  await running(out);
  p.joinSync(60);
  assertEquals(p.exitCode, 1);
  assertEquals(p.isAlive(), false);
  await p.join();
  assertEquals(p.exitCode, 1);
  Deno.removeSync(out);
});

test("Process subclasses override run() and carry their own fields", async ({ startMethod }) => {
  const out = tmp();
  const g = new tasks.Greeter("hello", out, startMethod);
  g.start();
  await g.join();
  assertEquals(g.exitCode, 0);
  assertEquals(Deno.readTextFileSync(out), "hello from greeter");
  Deno.removeSync(out);
});

test("Each process has its own globals", async ({ startMethod }) => {
  const { written } = await runWriting({
    startMethod,
    target: tasks.bumpCounter,
    module: TASKS,
  });
  assertEquals(written, "100");
  assertEquals(tasks.getCounter(), 0);
});

test("A self-contained function ships by its source", async ({ startMethod }) => {
  const p = await runToEnd({
    startMethod,
    target: (n: number) => Deno.exit(n * 2),
    args: [21],
  });
  assertEquals(p.exitCode, 42);
});

test("Exported functions ship by reference; closures fail with advice to export", async ({ env }) => {
  const out = tmp();
  const r = await runDeno("./shipping_main.ts", [out], 30, env);
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "exported exitCode=0");
  assertEquals(Deno.readTextFileSync(out), "144");
  assertStringIncludes(r.stdout, "closure exitCode=1");
  assertStringIncludes(r.stderr, "secret is not defined");
  assertStringIncludes(r.stderr, "export");
  Deno.removeSync(out);
});

test("{ module, name } naming a missing export fails the process with a clear error", async ({ startMethod }) => {
  const p = await runToEnd({
    startMethod,
    target: { module: TASKS, name: "noSuchFunction" },
  });
  assertEquals(p.exitCode, 1);
});

test("Process rejects bad options and built-in targets with clear errors", ({ startMethod }) => {
  assertThrows(
    () => new Process({ startMethod, target: 5 as unknown as () => void }),
    TypeError,
    "'target' must be a function",
  );
  assertThrows(
    () => new Process({ startMethod, args: 1 as unknown as unknown[] }),
    TypeError,
    "'args' must be an array",
  );
  assertThrows(
    () => new Process({ startMethod, target: Math.max }).start(),
    TypeError,
    "built-in",
  );
  assertThrows(
    () => new Process({ startMethod: "fork" as "worker" }),
    TypeError,
    "unknown start method",
  );
  assertThrows(
    () => new Process({ startMethod, name: 5 as unknown as string }),
    TypeError,
    "'name' must be a string, got 5",
  );
  assertThrows(
    () => new Process({ startMethod, daemon: "yes" as unknown as boolean }),
    TypeError,
    `'daemon' must be true or false, got the string "yes"`,
  );
  const p = new Process({ startMethod });
  assertThrows(
    () => (p.daemon = 1 as unknown as boolean),
    TypeError,
    "'daemon' must be true or false, got 1",
  );
});

test("Process.start() names the argument that cannot be cloned", ({ startMethod }) => {
  const p = new Process<unknown[]>({
    startMethod,
    target: tasks.square as (...args: unknown[]) => number,
    args: [1, () => 2], // wrong on purpose: a function cannot be cloned
  });
  assertThrows(() => p.start(), TypeError, "argument 1");
});

test("Process follows Python's lifecycle rules", async ({ startMethod, busy }) => {
  const p = new Process({ startMethod, target: busy, module: TASKS });
  await assertRejects(() => p.join(), Error, "has not been started");
  p.start();
  assertThrows(() => p.start(), ValueError, "only be started once");
  assertThrows(() => (p.daemon = true), Error, "already started");
  assertThrows(() => p.close(), ValueError, "still running");
  await terminateAndJoin(p);
  p.close();
  assertThrows(() => p.isAlive(), ValueError, "closed");
});

test("activeChildren() lists running children only", async (c) => {
  const p = startBusy(c);
  assert(activeChildren().includes(p));
  await terminateAndJoin(p);
  assertEquals(activeChildren().includes(p), false);
});

test("currentProcess(), parentProcess() and cpuCount() in the main program", () => {
  assertEquals(currentProcess().name, "MainProcess");
  assert(currentProcess().isAlive());
  assertEquals(parentProcess(), null);
  assertEquals(cpuCount(), navigator.hardwareConcurrency);
});

test("A daemon process ends when the main module finishes", async ({ env }) => {
  const r = await runDeno("./daemon_main.ts", [], 30, env);
  assertEquals(r.timedOut, false, "the program did not exit");
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "daemon alive=true");
});

test("join() of daemon processes in a loop always sees their end", async ({ startMethod, sub }) => {
  // join() refs a daemon's handles. An OS child the system has already
  // reaped, whose end this program has not yet been told of, has no
  // handles left to ref: that must not make join() throw (BadResource).
  for (let i = 0; i < 20; i++) {
    const p = new Process({
      startMethod,
      target: tasks.sleepThen,
      module: TASKS,
      args: [(i % 3) * 40, null],
      daemon: true,
    });
    p.start();
    if (sub) {
      // Wait until the child is gone from /proc (reaped, not a zombie),
      // polling synchronously so that the event loop does not turn for
      // anything but the timer: the exit report is then still pending.
      while (exists(`/proc/${p.pid}`)) {
        await new Promise((r) => setTimeout(r, 1));
      }
    } else if (i % 2 === 1) {
      await new Promise((r) => setTimeout(r, 20 * i));
    }
    await p.join();
    assertEquals(p.exitCode, 0, `child ${i}`);
    await p.join();
  }
});

test("A daemon process may not start children", async ({ startMethod }) => {
  const p = await runToEnd({
    startMethod,
    target: tasks.startChild,
    module: TASKS,
    daemon: true,
  });
  assertEquals(p.exitCode, 1);
});
