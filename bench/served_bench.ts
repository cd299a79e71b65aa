/**
 * What a primitive costs in a `"subprocess"` child, where the parent
 * serves it (an OS child shares no memory with its parent): each
 * operation is a round trip to the parent. Async members travel over the
 * process channel; blocking ones (`…Sync`, `value.value`) through the
 * child's helper thread.
 *
 * Run: deno bench --allow-all bench/served_bench.ts
 * Figures and the machine are in bench/RESULTS.md.
 *
 * Every bench runs one pool task that does {@linkcode OPS} operations in
 * the child, so the time per operation is the bench's time / OPS.
 * `deno run --allow-all bench/served_bench.ts` instead times 2,000 of each
 * operation one by one in the child and prints p50/p90/p99. The last
 * groups echo one big item (4 and 16 MiB) through a `Pipe` end in the
 * child, with its blocking twins and with its async members.
 */
import * as mp from "../mod.ts";

const HERE = import.meta.url;

/** Operations per bench iteration. */
export const OPS = 200;

/** `acquireSync()` + `release()`: two blocking calls. */
export function lockSync(lock: mp.Lock): void {
  for (let i = 0; i < OPS; i++) {
    lock.acquireSync();
    lock.release();
  }
}

/** `await acquire()` + `release()`: an async call and a blocking one. */
export async function lockAsync(lock: mp.Lock): Promise<void> {
  for (let i = 0; i < OPS; i++) {
    await lock.acquire();
    lock.release();
  }
}

/** Reads `v.value`: one blocking call. */
export function readValue(v: mp.Value<"i">): number {
  let sum = 0;
  for (let i = 0; i < OPS; i++) sum += v.value;
  return sum;
}

/** `v.value += 1` under the value's lock: four blocking calls. */
export function incrementValue(v: mp.Value<"i">): void {
  for (let i = 0; i < OPS; i++) {
    using _held = v.getLock().lockSync();
    v.value += 1;
  }
}

/** `await q.put(i)` then `await q.get()`: two async calls. */
export async function queueAsync(q: mp.Queue<number>): Promise<void> {
  for (let i = 0; i < OPS; i++) {
    await q.put(i);
    await q.get();
  }
}

/** `q.putSync(i)` then `q.getSync()`: two blocking calls. */
export function queueSync(q: mp.Queue<number>): void {
  for (let i = 0; i < OPS; i++) {
    q.putSync(i);
    q.getSync();
  }
}

/** Echoes `n` items on a Pipe end with the blocking twins. */
export function echoSync(c: mp.Connection, n: number): void {
  for (let i = 0; i < n; i++) c.sendSync(c.recvSync());
}

/** Echoes `n` items on a Pipe end with `await recv()` / `await send()`. */
export async function echoAsync(c: mp.Connection, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await c.send(await c.recv());
}

/**
 * Sends `item` through a child that echoes it `rounds` times with `echo`
 * (a big item: issue 11.8, the blocking path must cost at most about
 * twice the async one).
 */
async function bigEcho(
  pool: mp.Pool,
  echo: typeof echoSync | typeof echoAsync,
  item: Uint8Array,
  rounds: number,
): Promise<void> {
  const [a, b] = mp.Pipe();
  const done = pool.apply(echo, [b, rounds]);
  for (let i = 0; i < rounds; i++) {
    await a.send(item);
    const back = (await a.recv()) as Uint8Array;
    if (back.length !== item.length) throw new Error("the echo lost bytes");
  }
  await done;
  a.close();
  b.close();
}

function percentiles(ts: number[]): string {
  ts.sort((a, b) => a - b);
  const at = (q: number) =>
    `${Math.round(ts[Math.floor(q * (ts.length - 1))] * 1000)} µs`;
  return `p50 ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}`;
}

/** Times each operation one by one, in the child (the second of 2 rounds). */
export async function timeEach(
  lock: mp.Lock,
  v: mp.Value<"i">,
  q: mp.Queue<number>,
): Promise<Record<string, string>> {
  const n = 2000;
  const out: Record<string, string> = {};
  const time = async (
    name: string,
    op: () => unknown,
    after?: () => unknown,
  ) => {
    const ts: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await op();
      ts.push(performance.now() - t);
      await after?.();
    }
    out[name] = percentiles(ts);
  };
  for (let round = 0; round < 2; round++) {
    await time("await q.put(i) (async)", () => q.put(1), () => q.get());
    await time(
      "await lock.acquire()",
      () => lock.acquire(),
      () => lock.release(),
    );
    await time("v.value (blocking)", () => v.value);
    await time(
      "lock.acquireSync()",
      () => lock.acquireSync(),
      () => lock.release(),
    );
    await time("q.getSync()", () => q.getSync(), () => q.putSync(1));
  }
  return out;
}

if (mp.parentProcess() === null && import.meta.main) {
  await using pool = new mp.Pool(1, {
    startMethod: "subprocess",
    module: HERE,
  });
  const q = new mp.Queue<number>();
  await q.put(1);
  console.table(
    await pool.apply(timeEach, [new mp.Lock(), new mp.Value("i", 0), q]),
  );
} else if (mp.parentProcess() === null) {
  const pool = new mp.Pool(1, { startMethod: "subprocess", module: HERE });
  const lock = new mp.Lock();
  const v = new mp.Value("i", 0);
  const q = new mp.Queue<number>();
  // Warm the child: its helper thread, the stand-ins, the JIT.
  await pool.apply(lockSync, [lock]);
  await pool.apply(lockAsync, [lock]);
  await pool.apply(queueSync, [q]);

  // One task per row, run in the child: OPS calls on a served primitive.
  const rows: [string, () => Promise<unknown>][] = [
    ["Lock acquireSync + release", () => pool.apply(lockSync, [lock])],
    ["Lock await acquire + release", () => pool.apply(lockAsync, [lock])],
    ["Value read (v.value)", () => pool.apply(readValue, [v])],
    ["Value += 1 under lockSync", () => pool.apply(incrementValue, [v])],
    ["Queue await put + await get", () => pool.apply(queueAsync, [q])],
    ["Queue putSync + getSync", () => pool.apply(queueSync, [q])],
  ];
  for (const [name, run] of rows) {
    Deno.bench({
      name: `${name} (x${OPS})`,
      group: "served",
      n: 20,
      async fn() {
        await run();
      },
    });
  }

  // Big items: one echo per iteration through the child's Pipe end.
  for (const mib of [4, 16]) {
    const item = new Uint8Array(mib << 20).fill(7);
    for (const echo of [echoAsync, echoSync]) {
      Deno.bench({
        name: `Pipe echo of ${mib} MiB, ${
          echo === echoSync ? "recvSync + sendSync" : "await recv + send"
        }`,
        group: `served ${mib} MiB`,
        baseline: echo === echoAsync,
        n: 5,
        warmup: 1,
        // An async function: Deno times a plain one's call only.
        async fn() {
          await bigEcho(pool, echo, item, 1);
        },
      });
    }
  }

  globalThis.addEventListener("unload", () => pool.terminate());
}
