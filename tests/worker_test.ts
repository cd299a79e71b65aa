/**
 * The worker command (`./worker`) and the worker hosts it runs: its flags,
 * what a host agrees to run, how it treats bad entries, sandboxing; and
 * `./cluster` and `./worker` loaded from a plain URL.
 */
import {
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "@std/assert";
import * as mp from "../lib/cluster.ts";
import { parseWorkerArgs } from "../lib/worker.ts";
import { admit, RUN_SOURCE } from "../lib/_cluster/admit.ts";
import { fn, lines, runWorkerCommand, startCluster } from "./testdata/redis.ts";
import { runDenoArgs } from "./testdata/helpers.ts";

Deno.test("worker host refuses source shipping without --allow-source and modules outside --allow-module", async () => {
  await using cluster = await startCluster("refuse", {
    flags: ["--allow-module", "./tests/testdata"],
  });
  await using pool = new mp.Pool(0, {
    broker: cluster.redis.url,
    name: "refuse",
  });
  const e1 = await assertRejects(() => pool.apply((x: number) => x + 1, [1]));
  assertMatch((e1 as Error).message, /--allow-source/);
  assertEquals(await pool.apply(fn("add"), [1, 2]), 3);
  const e2 = await assertRejects(() =>
    pool.apply({
      module: new URL("../mod.ts", import.meta.url),
      name: "cpuCount",
    })
  );
  assertMatch((e2 as Error).message, /--allow-module/);
});

Deno.test("worker host logs and skips a malformed stream entry", async () => {
  await using cluster = await startCluster("bad");
  const { redis, hosts: [host] } = cluster;
  await redis.cli("XADD", "mp:bad:tasks", "*", "e", "not a payload");
  await redis.cli("XADD", "mp:bad:tasks", "*", "x", "1");
  await using pool = new mp.Pool(0, { broker: redis.url, name: "bad" });
  assertEquals(await pool.apply(fn("add"), [1, 2]), 3);
  assertMatch(host.log(), /skipping malformed entry .* undecodable payload/);
  assertMatch(host.log(), /skipping malformed entry .* no 'e' field/);
  assertEquals(await redis.cli("XLEN", "mp:bad:tasks"), "0");
  host.kill();
  assertEquals((await host.status).code, 0);
});

Deno.test("worker command validates its flags and prints --help", async () => {
  const help = await runWorkerCommand(["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /--allow-source/);
  const bad = await runWorkerCommand(["--broker", "redis://h", "--bogus"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /unknown option '--bogus'; see --help/);
  const cases: [string[], RegExp][] = [
    [[], /--broker is required/],
    [["--broker", "http://x"], /--broker must be a redis:\/\/ or rediss:\/\//],
    [
      ["--broker", "redis://h", "--processes", "0"],
      /--processes must be a positive integer, got "0"/,
    ],
    [["--broker", "redis://h", "--processes"], /--processes needs a value/],
    [
      ["--broker", "redis://h", "--permissions", "some"],
      /--permissions must be "inherit" or "none"/,
    ],
    [
      ["--broker", "redis://h", "--allow-read", "/tmp"],
      /add --permissions none/,
    ],
    [["--broker", "redis://h", "--name", "a b"], /'name' must be/],
    [
      ["--broker", "redis://h", "--start-method", "fork"],
      /--start-method must be/,
    ],
    [
      [
        "--broker",
        "redis://h",
        "--permissions",
        "none",
        "--start-method",
        "worker",
      ],
      /needs --start-method subprocess/,
    ],
  ];
  for (const [args, message] of cases) {
    const err = assertThrows(() => parseWorkerArgs(args));
    assertMatch((err as Error).message, message, args.join(" "));
  }
  const ok = parseWorkerArgs([
    "--broker",
    "redis://h",
    "--permissions",
    "none",
    "--allow-module",
    "./a,./b",
  ]);
  if (ok === "help") throw new Error("expected settings");
  assertEquals(ok.startMethod, "subprocess");
  assertEquals(ok.roots.length, 2);
});

Deno.test("worker host with --permissions none runs tasks sandboxed", async () => {
  await using cluster = await startCluster("sandbox", {
    flags: ["--permissions", "none"],
  });
  const { redis, dir } = cluster;
  await using pool = new mp.Pool(0, { broker: redis.url, name: "sandbox" });
  assertEquals(await pool.apply(fn("add"), [1, 2]), 3);
  const err = await assertRejects(
    () => pool.apply(fn("touch"), [`${dir}/x`]),
    mp.ProcessError,
  );
  assertEquals(err.remoteName, "NotCapable");
  assertEquals(await lines(`${dir}/x`), 0);
});

Deno.test("worker host maps the caller's working directory to its own and keeps modules under its roots", () => {
  const entry = {
    caller: "c",
    cwd: "file:///home/me/proj/",
    vt: 30,
    maxDeaths: 3,
    expire: 60,
    tasks: [],
  };
  const task = (module?: string, source?: string) => ({
    id: 1,
    ref: { name: "f", module, source },
    label: "f",
    mode: 0 as const,
    args: [],
    cancellable: false,
  });
  const rules = {
    cwd: "file:///srv/app/",
    roots: ["file:///srv/app/"],
    allowSource: false,
    anyModule: false,
  };
  assertEquals(admit(entry, task("file:///home/me/proj/lib/t.ts"), rules), {
    module: "file:///srv/app/lib/t.ts",
    name: "f",
  });
  for (
    const escape of [
      "file:///srv/app/../etc/t.ts",
      "file:///home/me/proj/../../../etc/t.ts",
      "file:///srv/app/%2e%2e/etc/t.ts",
      "https://example.com/t.ts",
    ]
  ) {
    assertMatch(
      admit(entry, task(escape), rules) as string,
      /outside the modules this worker host may import .*--allow-module/,
      escape,
    );
  }
  assertMatch(
    admit(entry, task(undefined, "(x) => x"), rules) as string,
    /--allow-source/,
  );
  assertEquals(
    admit(entry, task(undefined, "(x) => x"), { ...rules, allowSource: true }),
    RUN_SOURCE,
  );
});

Deno.test("./cluster and ./worker load from a plain URL, without this package's import map", async () => {
  // Imported by URL (not through JSR), the library has no deno.json: every
  // specifier it uses must resolve by itself.
  const cluster = new URL("../lib/cluster.ts", import.meta.url).href;
  const worker = new URL("../lib/worker.ts", import.meta.url).href;
  const cwd = await Deno.makeTempDir();
  const { code, stdout, stderr } = await runDenoArgs([
    "eval",
    "--no-config",
    `const c = await import(${JSON.stringify(cluster)});
     const w = await import(${JSON.stringify(worker)});
     console.log(typeof c.Pool, typeof c.Queue, typeof w.parseWorkerArgs);`,
  ], { cwd, timeoutSeconds: 120 }).finally(() => Deno.remove(cwd));
  assertEquals(code, 0, stderr);
  assertEquals(stdout.trim(), "function function function");
});
