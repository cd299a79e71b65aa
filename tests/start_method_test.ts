// What only the "subprocess" start method has (each process a `deno`
// child): permissions, refusal of bare shared memory, manager proxies
// across OS processes, choosing the method by context, inherited runtime
// flags, and no orphans. The Process and Pool tests that run under both
// methods are in tests/process_test.ts and tests/pool_test.ts (which also
// holds the Pool's own subprocess-only tests).
import {
  assert,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import * as mp from "../mod.ts";
import { firstLine, pidAlive, TASKS, testdata } from "./testdata/helpers.ts";
import { inheritableFlags, withV8Flags } from "../lib/_launch/child_flags.ts";

Deno.test("Process [subprocess] runs with the permissions it is given", async () => {
  const out = Deno.makeTempFileSync({ prefix: "mp-subprocess-test-" });
  const denied = new mp.Process({
    target: { module: TASKS, name: "writeFile" },
    args: [out, "not allowed"],
    startMethod: "subprocess",
    permissions: { read: true },
  });
  denied.start();
  await denied.join();
  assertEquals(denied.exitCode, 1);
  assertEquals(Deno.readTextFileSync(out), "");

  const allowed = new mp.Process({
    target: { module: TASKS, name: "writeFile" },
    args: [out, "allowed"],
    startMethod: "subprocess",
    permissions: { write: [out] },
  });
  allowed.start();
  await allowed.join();
  assertEquals(allowed.exitCode, 0);
  assertEquals(Deno.readTextFileSync(out), "allowed");
  Deno.removeSync(out);
});

Deno.test("Process permissions need the subprocess method and a known shape", () => {
  assertThrows(
    () => new mp.Process({ permissions: "none" }),
    TypeError,
    'needs startMethod "subprocess"',
  );
  assertThrows(
    () =>
      new mp.Process({
        startMethod: "subprocess",
        permissions: { disk: true } as unknown as Deno.PermissionOptions,
      }),
    TypeError,
    "unknown permission 'disk'",
  );
});

Deno.test("Process [subprocess] refuses bare shared memory and says what to use", () => {
  const p = new mp.Process({
    target: { module: TASKS, name: "square" },
    args: [{ nested: [new SharedArrayBuffer(8)] }],
    startMethod: "subprocess",
  });
  const err = assertThrows(
    () => p.start(),
    TypeError,
    "a SharedArrayBuffer cannot reach",
  );
  assertStringIncludes(err.message, "Value or Array");
  assertEquals(p.isAlive(), false);
});

Deno.test("Process [subprocess] works on a Manager dict proxy passed to it", async () => {
  await using m = await mp.Manager();
  const d = await m.dict<number, number>();
  const ps = [1, 2].map((i) =>
    new mp.Process({
      target: { module: testdata("manager_tasks.ts"), name: "setHundred" },
      args: [d, i],
      startMethod: "subprocess",
    })
  );
  for (const p of ps) p.start();
  await Promise.all(ps.map((p) => p.join()));
  for (const p of ps) assertEquals(p.exitCode, 0);
  assertEquals(await d.toObject(), { 1: 100, 2: 100 });
});

Deno.test("getContext('subprocess') and setStartMethod make subprocess processes", async () => {
  const ctx = mp.getContext("subprocess");
  assertEquals(ctx.startMethod, "subprocess");
  const p = new ctx.Process({ target: (n: number) => Deno.exit(n), args: [3] });
  p.start();
  assert(p.pid !== Deno.pid);
  await p.join();
  assertEquals(p.exitCode, 3);
  mp.setStartMethod("subprocess", { force: true });
  try {
    const q = new mp.Process({ target: () => {} });
    q.start();
    assert(q.pid !== Deno.pid);
    await q.join();
    assertEquals(q.exitCode, 0);
  } finally {
    mp.setStartMethod("worker", { force: true });
  }
});

async function allGone(pids: number[]): Promise<number[]> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    if (pids.every((p) => !pidAlive(p))) return [];
    await new Promise((r) => setTimeout(r, 50));
  }
  return pids.filter(pidAlive);
}

/** Runs orphan_main.ts in `mode` until it printed its children's pids. */
async function startOrphanMain(
  mode: string,
): Promise<
  { child: Deno.ChildProcess; pids: number[]; rest: Promise<string> }
> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      testdata("orphan_main.ts").pathname,
      mode,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const pids = JSON.parse(await firstLine(reader)) as number[];
  const rest = (async () => {
    let more = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) return more;
      more += value;
    }
  })();
  return { child, pids, rest };
}

for (const mode of ["exit", "throw", "sigterm", "sigkill"]) {
  Deno.test({
    name: `No subprocess child outlives its program (${mode})`,
    ignore: Deno.build.os !== "linux",
    fn: async () => {
      const { child, pids, rest } = await startOrphanMain(mode);
      assertEquals(pids.length, 4);
      if (mode === "sigterm" || mode === "sigkill") {
        for (const pid of pids) assert(pidAlive(pid), `${pid} not running`);
        child.kill(mode === "sigterm" ? "SIGTERM" : "SIGKILL");
      }
      // A program that never ends fails here within a minute instead of
      // holding up the whole run.
      let hung = false;
      const deadline = setTimeout(() => {
        hung = true;
        child.kill("SIGKILL");
      }, 60_000);
      const [status] = await Promise.all([
        child.status,
        rest,
        child.stderr.cancel(),
      ]);
      clearTimeout(deadline);
      assert(!hung, `the program did not end within 60 s (${mode})`);
      if (mode === "exit") assertEquals(status.code, 0);
      assertEquals(await allGone(pids), [], "children outlived the program");
    },
  });
}

for (const signal of ["SIGKILL", "SIGINT", "SIGHUP"] as const) {
  Deno.test({
    name:
      `A busy subprocess child is gone within 1 s of its program's death by ${signal}`,
    ignore: Deno.build.os !== "linux",
    fn: async () => {
      const main = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          testdata("busy_child_main.ts").pathname,
        ],
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).spawn();
      const reader = main.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      const pid = JSON.parse(await firstLine(reader)) as number;
      try {
        assert(pidAlive(pid), "the child is not running");
        main.kill(signal);
        await Promise.all([main.status, reader.cancel(), main.stderr.cancel()]);
        // Busy in a loop, it never reads its stdin's EOF: only the
        // parent-death signal (setpriv --pdeathsig) ends it.
        await new Promise((r) => setTimeout(r, 1000));
        assertEquals(pidAlive(pid), false, "the child outlived its program");
      } finally {
        if (pidAlive(pid)) Deno.kill(pid, "SIGKILL");
      }
    },
  });
}

Deno.test("Process [subprocess] children inherit the program's V8 and unstable flags", async () => {
  const main = testdata("flags_main.ts");
  const run = async (flags: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", ...flags, main.href],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assertEquals(out.code, 0);
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  const withFlags = await run(["--v8-flags=--expose-gc", "--unstable-kv"]);
  assertEquals([withFlags.gc, withFlags.kv], [true, true]);
  const without = await run([]);
  assertEquals([without.gc, without.kv], [false, false]);
});

Deno.test("inheritableFlags keeps runtime flags and drops the rest", () => {
  assertEquals(
    inheritableFlags([
      "deno",
      "test",
      "-A",
      "--allow-read=/x",
      "--v8-flags=--max-old-space-size=64",
      "--unstable-kv",
      "-c",
      "other.json",
      "--import-map=map.json",
      "--no-check",
      "--filter",
      "x",
      "--unstable-net",
      "tests/",
      "--v8-flags=--ignored-after-script",
    ]),
    [
      "--unstable-kv",
      "--config=other.json",
      "--import-map=map.json",
      "--no-check",
      "--unstable-net",
      "--v8-flags=--max-old-space-size=64",
    ],
  );
  assertEquals(
    withV8Flags(["--unstable-kv", "--v8-flags=--expose-gc"], [
      "--max-old-space-size=32",
    ]),
    ["--unstable-kv", "--v8-flags=--expose-gc,--max-old-space-size=32"],
  );
  assertEquals(withV8Flags([], ["--stack-size=100"]), [
    "--v8-flags=--stack-size=100",
  ]);
});
