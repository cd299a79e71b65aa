// A user's program, as tests/remote_test.ts runs it: copied into a folder
// of its own whose deno.json maps "@seed/multiprocessing" to the checkout
// served over HTTP (as `deno add jsr:@seed/multiprocessing` maps it to
// JSR). Prints one line per feature; `quick` runs only a pool map per
// start method and a manager.
import * as mp from "@seed/multiprocessing";

// Module state: a task that reads it works only when taken from this
// module (rebuilt from its source it would fail), so each line that
// prints it proves the worker or child imported this local file.
const TAG = "from main.ts";

/** Squares `n`, tagged. */
export function square(n: number): string {
  return `${n * n} ${TAG}`;
}

/** Puts a greeting on `q` while holding `lock`. */
export async function greet(q: mp.Queue<string>, lock: mp.Lock, who: string) {
  using _ = await lock.lock();
  await q.put(`hello ${who} ${TAG}`);
}

/** Adds `n` to `v` under its lock (the blocking twin). */
export function add(v: mp.Value<"i">, n: number) {
  using _ = v.getLock().lockSync();
  v.value += n;
}

/** Stores the tag under `key` in a manager's dict. */
export async function store(d: mp.DictProxy<string, string>, key: string) {
  await d.set(key, TAG);
}

/** Which of the flags a child should inherit it runs with (Linux). */
export function childFlags(): string {
  const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
  return ["--cached-only", "--config="]
    .filter((f) => argv.some((a) => a.startsWith(f)))
    .join(" ");
}

/** Sleeps for two minutes (until terminated). */
export async function sleepLong() {
  await new Promise((resolve) => setTimeout(resolve, 120_000));
}

async function features(method: mp.StartMethod, quick: boolean) {
  const ctx = mp.getContext(method);
  {
    await using pool = new ctx.Pool(2);
    const squares = await pool.map(square, [1, 2, 3]);
    console.log(`${method} pool: ${JSON.stringify(squares)}`);
    if (quick && method === "subprocess") {
      // Run with --allow-all, the child may read its command line.
      console.log(`child flags: ${await pool.apply(childFlags)}`);
    }
  }
  if (quick) return;
  if (method === "subprocess") {
    // A child with no permissions still loads the library (it gets
    // --allow-import for its host) and this module.
    await using pool = new ctx.Pool(1, { permissions: "none" });
    const squares = await pool.map(square, [4]);
    console.log(`${method} sandboxed pool: ${JSON.stringify(squares)}`);
  }
  const q = new mp.Queue<string>();
  const lock = new mp.Lock();
  const p = new ctx.Process({ target: greet, args: [q, lock, method] });
  p.start();
  console.log(`${method} queue: ${await q.get({ timeout: 60 })}`);
  await p.join();

  const v = new mp.Value("i", 0);
  const adders = [5, 7].map((n) =>
    new ctx.Process({ target: add, args: [v, n] })
  );
  for (const a of adders) a.start();
  for (const a of adders) await a.join();
  console.log(`${method} value: ${v.value}`);

  const sleeper = new ctx.Process({ target: sleepLong });
  sleeper.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  sleeper.terminate();
  await sleeper.join(60);
  console.log(`${method} terminate: ${sleeper.exitCode}`);
}

if (import.meta.main) {
  const quick = Deno.args.includes("quick");
  const methods: mp.StartMethod[] = ["worker", "subprocess"];
  for (const m of methods) await features(m, quick);
  {
    await using manager = await mp.Manager();
    const d = await manager.dict<string, string>();
    const ps = methods.map((m) =>
      new mp.Process({ target: store, args: [d, m], startMethod: m })
    );
    for (const p of ps) p.start();
    for (const p of ps) await p.join();
    console.log(`manager: ${JSON.stringify(await d.toObject())}`);
  }
  if (quick) Deno.exit(0);
  {
    const server = await mp.serveManager({
      address: ["127.0.0.1", 0],
      authkey: "secret",
    });
    await server.register("d", await server.dict());
    const client = await mp.connectManager({
      address: server.address,
      authkey: "secret",
    });
    const d = await client.get<mp.DictProxy<string, number>>("d");
    await d.set("x", 1);
    console.log(`served manager: ${await d.get("x")}`);
    await client.shutdown();
    await server.shutdown();
  }
  const r = await mp.run([Deno.execPath(), "--version"], {
    capture: true,
    text: true,
  });
  console.log(`run: ${r.returncode} ${r.stdout?.startsWith("deno ")}`);
}
