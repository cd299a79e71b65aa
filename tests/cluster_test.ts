/**
 * The broker-backed Pool and Queue (`./cluster`), against a private
 * redis-server and real worker hosts (the worker command itself:
 * `worker_test.ts`).
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "@std/assert";
import * as mp from "../lib/cluster.ts";
import { Broker } from "../lib/_cluster/broker.ts";
import { dropDeadConsumers } from "../lib/_cluster/claims.ts";
import {
  fn,
  lines,
  poolOn,
  startCluster,
  startHost,
  startRedis,
  TASKS,
} from "./testdata/redis.ts";

Deno.test("cluster Pool runs the Pool API on its local processes", async () => {
  const redis = await startRedis();
  try {
    await using pool = poolOn(redis, "api", 2);
    assertEquals(pool.processes, 2);
    const items = Array.from({ length: 1000 }, (_, i) => i);
    assertEquals(
      await pool.map(fn("square"), items),
      items.map((i) => i * i),
    );
    assertEquals(await pool.apply(fn("add"), [2, 3]), 5);
    assertEquals(await pool.starmap(fn("add"), [[1, 2], [3, 4]]), [3, 7]);
    const got: number[] = [];
    let progress = 0;
    for await (
      const v of pool.imap(fn("square"), [1, 2, 3], {
        onProgress: (done) => (progress = done),
      })
    ) got.push(v as number);
    assertEquals(got, [1, 4, 9]);
    assertEquals(progress, 3);
    const unordered: number[] = [];
    for await (const v of pool.imapUnordered(fn("square"), [3, 1, 2])) {
      unordered.push(v as number);
    }
    assertEquals(unordered.sort(), [1, 4, 9]);
    const r = pool.applyAsync(fn("add"), [1, 1]);
    assertEquals(await r.get(10), 2);
    assert(r.ready() && r.successful());
    const err = await assertRejects(
      () => pool.apply(fn("fail"), ["boom"]),
      mp.ProcessError,
    );
    assertEquals(err.remoteName, "RangeError");
    assertMatch(err.message, /Task 'fail' threw RangeError: boom/);
    const s = pool.stats();
    assertEquals(s.queued + s.running, 0);
    assert(s.done >= 5 && s.failed === 1, JSON.stringify(s));
    pool.close();
    await pool.join();
    assertEquals(await redis.cli("--scan", "--pattern", "mp:api:r:*"), "");
  } finally {
    await redis.stop();
  }
});

Deno.test("cluster Pool runs an exported function passed by identity", async () => {
  const redis = await startRedis();
  try {
    const { square } = await import(TASKS.href);
    await using pool = poolOn(redis, "ident", 1);
    assertEquals(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
  } finally {
    await redis.stop();
  }
});

Deno.test("cluster Pool: worker hosts serve a pure client; a SIGKILLed host loses no result", async () => {
  await using cluster = await startCluster("kill", { hosts: 2, processes: 2 });
  const { redis, hosts: [a] } = cluster;
  await using pool = new mp.Pool(0, {
    broker: redis.url,
    name: "kill",
    visibilityTimeout: 1,
  });
  const n = 120;
  const seen: number[] = [];
  let killed = false;
  for await (
    const v of pool.imapUnordered(
      fn("slow"),
      Array.from({ length: n }, (_, i) => i),
    )
  ) {
    seen.push(v as number);
    if (seen.length === 20 && !killed) {
      killed = true;
      a.kill("SIGKILL");
    }
  }
  assertEquals(seen.length, n);
  assertEquals(
    seen.sort((x, y) => x - y),
    Array.from({ length: n }, (_, i) => i),
  );
  assertEquals((await a.status).signal, "SIGKILL");
  // Its consumer name is forgotten once idle (here: at once).
  const consumers = () =>
    redis.cli("XINFO", "CONSUMERS", "mp:kill:tasks", "hosts");
  assertMatch(await consumers(), new RegExp(`-${a.pid}-`));
  const broker = await Broker.connect(redis.url, 5);
  try {
    await dropDeadConsumers(broker, "mp:kill:tasks", 0);
  } finally {
    await broker.close();
  }
  assert(!(await consumers()).includes(`-${a.pid}-`));
});

Deno.test("cluster Pool: an unreachable broker is a BrokerError within its brokerTimeout", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const t0 = performance.now();
  await using pool = new mp.Pool(0, {
    broker: `redis://127.0.0.1:${port}`,
    brokerTimeout: 1,
  });
  const err = await assertRejects(
    () => pool.map(fn("square"), [1, 2]),
    mp.BrokerError,
  );
  assertMatch(err.message, /Cannot reach the broker at redis:\/\/127\.0\.0\.1/);
  // One catch for every error of the module.
  assert(err instanceof mp.MultiprocessingError);
  assert(performance.now() - t0 < 8000, "gave up in bounded time");
  // The pool stays broken: no new task hangs.
  await assertRejects(() => pool.apply(fn("add"), [1, 2]), mp.BrokerError);
});

Deno.test("cluster Pool: redis://user:pass@ logs in with an ACL user; a wrong password is a BrokerError", async () => {
  const redis = await startRedis([
    "--user",
    "default",
    "off",
    "--user",
    "alice",
    "on",
    ">s3cret",
    "~*",
    "&*",
    "+@all",
  ]);
  try {
    const url = `redis://alice:s3cret@127.0.0.1:${redis.port}`;
    await using pool = new mp.Pool(1, {
      broker: url,
      name: "acl",
      module: TASKS,
    });
    assertEquals(await pool.apply(fn("add"), [2, 2]), 4);
    await using bad = new mp.Pool(0, {
      broker: `redis://alice:wrong@127.0.0.1:${redis.port}`,
      brokerTimeout: 1,
    });
    const err = await assertRejects(
      () => bad.apply(fn("add"), [1, 1]),
      mp.BrokerError,
    );
    assert(!err.message.includes("wrong"), "the password is not shown");
  } finally {
    await redis.stop();
  }
});

Deno.test("cluster Pool: a task timeout of Infinity or over 2^31 ms does not fire at once", async () => {
  const redis = await startRedis();
  try {
    await using pool = poolOn(redis, "longtimeout", 1);
    for (const timeout of [Infinity, 3e6]) {
      assertEquals(
        await pool.apply(fn("slow"), [7, 200], undefined, { timeout }),
        7,
      );
    }
  } finally {
    await redis.stop();
  }
});

Deno.test("cluster Pool checks its options", () => {
  assertThrows(
    () => new mp.Pool(0, { broker: "http://x" }),
    TypeError,
    "'broker' must be a redis:// or rediss:// URL",
  );
  assertThrows(
    () => new mp.Pool(0, { broker: "redis://h", name: "a:b" }),
    TypeError,
    "'name' must be",
  );
  for (
    const [o, message] of [
      [{ broker: "redis://h", visibilityTimeout: 0 }, "'visibilityTimeout'"],
      [{ broker: "redis://h", maxDeaths: 0 }, "'maxDeaths'"],
      [{ broker: "redis://h", processes: -1 }, "'processes'"],
    ] as const
  ) {
    assertThrows(() => new mp.Pool(o), RangeError, message);
  }
});

async function eventually(
  check: () => Promise<boolean>,
  what: string,
  seconds = 20,
): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("cluster Pool: a task that killed its host maxDeaths times fails with WorkerLostError", async () => {
  await using cluster = await startCluster("deaths", { hosts: 2 });
  const { redis, dir, hosts } = cluster;
  try {
    await using pool = new mp.Pool(0, {
      broker: redis.url,
      name: "deaths",
      visibilityTimeout: 1,
      maxDeaths: 1,
    });
    const marker = `${dir}/ran`;
    const err = await assertRejects(
      () => pool.apply(fn("killHost"), [marker]),
      mp.WorkerLostError,
    );
    assertMatch(err.message, /died 1 times \(maxDeaths 1\)/);
    assertEquals(await lines(marker), 1, "it ran once, then was not retried");
    // The survivor goes on.
    assertEquals(await pool.apply(fn("add"), [1, 2]), 3);
    const codes = await Promise.race([
      Promise.any(hosts.map((h) => h.status)),
      new Promise((r) => setTimeout(r, 5000, null)),
    ]);
    assertEquals((codes as Deno.CommandStatus).signal, "SIGKILL");
  } finally {
    for (const h of hosts) h.kill("SIGKILL");
  }
});

Deno.test("cluster Pool: heartbeats keep a task longer than the visibility timeout from running twice", async () => {
  await using cluster = await startCluster("long", { hosts: 2 });
  const { redis, dir } = cluster;
  await using pool = new mp.Pool(0, {
    broker: redis.url,
    name: "long",
    // Long enough that a host stalled by the machine's load for a
    // moment still renews in time; the task lasts over twice as long.
    visibilityTimeout: 2,
  });
  const marker = `${dir}/ran`;
  assertEquals(await pool.apply(fn("touchSlow"), [marker, 5000]), marker);
  assertEquals(await lines(marker), 1);
});

Deno.test("cluster Pool: timeout, signal and terminate stop the task on its host", async () => {
  await using cluster = await startCluster("cancel");
  const { redis, dir } = cluster;
  const stops = async (path: string) => {
    await eventually(async () => (await lines(path)) > 0, "the task runs");
    return path;
  };
  const stopped = async (path: string) => {
    // Growing while it runs (every 20 ms); still once stopped.
    await new Promise((r) => setTimeout(r, 500));
    const before = await lines(path);
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(await lines(path), before, `${path} stopped growing`);
  };
  {
    await using pool = new mp.Pool(0, { broker: redis.url, name: "cancel" });
    const t0 = performance.now();
    await assertRejects(
      () =>
        pool.apply(fn("tick"), [`${dir}/timeout`], undefined, {
          timeout: 1,
        }),
      mp.TimeoutError,
    );
    assert(performance.now() - t0 < 5000);
    await stops(`${dir}/timeout`);
    await stopped(`${dir}/timeout`);
    const ac = new AbortController();
    const p = pool.apply(fn("tick"), [`${dir}/signal`], undefined, {
      signal: ac.signal,
    });
    await stops(`${dir}/signal`);
    ac.abort(new Error("enough"));
    await assertRejects(() => p, Error, "enough");
    await stopped(`${dir}/signal`);
    // The host replaced its local worker and goes on.
    assertEquals(await pool.apply(fn("add"), [1, 2]), 3);
    // A task cancelled while it waits behind another never runs.
    const busy = pool.apply(fn("touchSlow"), [`${dir}/busy`, 1500]);
    busy.catch(() => {});
    await stops(`${dir}/busy`);
    const queued = new AbortController();
    const dropped = pool.apply(fn("touch"), [`${dir}/dropped`], undefined, {
      signal: queued.signal,
    });
    dropped.catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    queued.abort(new Error("not needed"));
    await assertRejects(() => dropped, Error, "not needed");
    await busy;
    assertEquals(await pool.apply(fn("add"), [2, 2]), 4);
    assertEquals(
      await lines(`${dir}/dropped`),
      0,
      "the queued task never ran",
    );
    const r = pool.applyAsync(fn("tick"), [`${dir}/terminate`]);
    await stops(`${dir}/terminate`);
    pool.terminate();
    await assertRejects(() => r.get(), Error, "terminated");
  }
  await stopped(`${dir}/terminate`);
});

Deno.test("cluster Pool: a dead caller's streams expire and its queued tasks are skipped", async () => {
  const redis = await startRedis();
  const dir = await Deno.makeTempDir();
  const marker = `${dir}/ran`;
  const caller = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      new URL("./testdata/cluster_caller.ts", import.meta.url).pathname,
      redis.url,
      marker,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let host: Awaited<ReturnType<typeof startHost>> | undefined;
  try {
    const reader = caller.stdout.getReader();
    let out = "";
    while (!out.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`caller ended early: ${out}`);
      out += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    assertMatch(
      await redis.cli("--scan", "--pattern", "mp:exp:r:*"),
      /mp:exp:r:/,
    );
    assertEquals(await redis.cli("XLEN", "mp:exp2:tasks"), "1");
    caller.kill("SIGKILL");
    await caller.status;
    await caller.stdout.cancel();
    await eventually(
      async () =>
        (await redis.cli("--scan", "--pattern", "mp:exp*:[rcx]*:*")) === "",
      "the dead caller's keys expire",
      10,
    );
    host = await startHost([
      "--broker",
      redis.url,
      "--name",
      "exp2",
      "--processes",
      "1",
    ]);
    await eventually(
      async () => (await redis.cli("XLEN", "mp:exp2:tasks")) === "0",
      "the host drops the dead caller's task",
    );
    assertEquals(await lines(marker), 0, "the task did not run");
  } finally {
    try {
      caller.kill("SIGKILL");
    } catch {
      // Already dead.
    }
    host?.kill();
    await host?.status;
    await Deno.remove(dir, { recursive: true });
    await redis.stop();
  }
});

Deno.test("cluster Queue: FIFO by name, bounded, Empty/Full, fed from tasks", async () => {
  const redis = await startRedis();
  try {
    await using a = new mp.Queue<number>({
      broker: redis.url,
      name: "jobs",
      maxsize: 3,
    });
    await using b = new mp.Queue<number>({
      broker: redis.url,
      name: "jobs",
      maxsize: 3,
    });
    assert(await a.empty());
    await a.put(1);
    await a.putNowait(2);
    await b.put(3);
    assert(await b.full());
    assertEquals(await b.qsize(), 3);
    await assertRejects(() => a.putNowait(4), mp.Full);
    const t0 = performance.now();
    await assertRejects(() => a.put(4, { timeout: 0.2 }), mp.Full);
    assert(performance.now() - t0 >= 150);
    assertEquals([await b.get(), await b.getNowait(), await a.get()], [
      1,
      2,
      3,
    ]);
    await assertRejects(() => a.getNowait(), mp.Empty);
    await assertRejects(() => a.get({ timeout: 0.2 }), mp.Empty);
    // A blocked put goes on once a getter makes room.
    for (const i of [10, 11, 12]) await a.put(i);
    const late = a.put(13);
    assertEquals(await b.get({ timeout: 5 }), 10);
    await late;
    assertEquals(await b.qsize(), 3);
    await a.drop();

    // Tasks on two local workers feed it; each item arrives once.
    await using pool = new mp.Pool(2, { broker: redis.url, name: "qp" });
    const feeding = pool.starmap(fn("produce"), [
      [redis.url, "jobs", 0, 50],
      [redis.url, "jobs", 50, 100],
    ]);
    const got: number[] = [];
    while (got.length < 100) got.push(await b.get({ timeout: 20 }));
    assertEquals(await feeding, [50, 50]);
    assertEquals(
      got.sort((x, y) => x - y),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert(await b.empty());
  } finally {
    await redis.stop();
  }
});

Deno.test("cluster Pool and worker host reach a rediss:// (TLS) broker", async () => {
  await using cluster = await startCluster("tls", { tls: true });
  const { redis } = cluster;
  const ca = await Deno.readTextFile(redis.ca!);
  await using pool = new mp.Pool(0, {
    broker: redis.url,
    name: "tls",
    tls: { ca },
  });
  assertEquals(await pool.map(fn("square"), [1, 2, 3]), [1, 4, 9]);
  // Without trusting the certificate, the broker is refused.
  await using untrusted = new mp.Pool(0, {
    broker: redis.url,
    name: "tls",
    brokerTimeout: 0.5,
  });
  const err = await assertRejects(
    () => untrusted.apply(fn("add"), [1, 2]),
    mp.BrokerError,
  );
  assertMatch(err.message, /certificate/);
});

Deno.test("cluster Pool: a broker that goes away fails the waiting tasks with BrokerError in bounded time", async () => {
  const redis = await startRedis();
  let stopped = false;
  try {
    await using pool = poolOn(redis, "drop", 1, { brokerTimeout: 1 });
    assertEquals(await pool.apply(fn("add"), [1, 2]), 3);
    const waiting = pool.apply(fn("slow"), [1, 10_000]);
    await new Promise((r) => setTimeout(r, 300));
    await redis.stop();
    stopped = true;
    const t0 = performance.now();
    const err = await assertRejects(() => waiting, mp.BrokerError);
    assertMatch(err.message, /broker at redis:\/\/127\.0\.0\.1:\d+/);
    assert(performance.now() - t0 < 8000, "failed in bounded time");
    await assertRejects(() => pool.apply(fn("add"), [1, 2]), mp.BrokerError);
  } finally {
    if (!stopped) await redis.stop();
  }
});

Deno.test("cluster Queue: close() while the broker is down ends within brokerTimeout; a waiting put fails with BrokerError", async () => {
  const redis = await startRedis();
  let stopped = false;
  try {
    const q = new mp.Queue<number>({
      broker: redis.url,
      name: "down",
      brokerTimeout: 1,
    });
    await q.put(1);
    await redis.stop();
    stopped = true;
    const waiting = q.put(2);
    waiting.catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await q.close();
    assert(performance.now() - t0 < 5000, "close() ended in bounded time");
    await assertRejects(() => waiting, mp.BrokerError);
  } finally {
    if (!stopped) await redis.stop();
  }
});
