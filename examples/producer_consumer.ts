/**
 * Producer/consumer over a `Queue`, the Python way: a `null` sentinel
 * tells a consumer to stop. First one producer and one consumer, then
 * several of each (one sentinel per consumer, put after every producer
 * has finished).
 *
 * Run: `deno run --allow-all examples/producer_consumer.ts`
 *
 * @module
 */

import * as mp from "../mod.ts";

/** Puts `count` jobs `[producer, i]`. */
export function producer(
  q: mp.Queue<[number, number] | null>,
  id: number,
  count: number,
): void {
  for (let i = 0; i < count; i++) q.putSync([id, i]);
}

/** Squares jobs until the `null` sentinel, putting results on `out`. */
export function consumer(
  q: mp.Queue<[number, number] | null>,
  out: mp.Queue<number>,
): void {
  for (;;) {
    const job = q.getSync();
    if (job === null) return;
    out.putSync(job[1] * job[1]);
  }
}

async function run(producers: number, consumers: number, count: number) {
  const q = new mp.Queue<[number, number] | null>(100); // bounded: backpressure
  const out = new mp.Queue<number>();
  const cs = Array.from(
    { length: consumers },
    () => new mp.Process({ target: consumer, args: [q, out] }),
  );
  const ps = Array.from(
    { length: producers },
    (_, id) => new mp.Process({ target: producer, args: [q, id, count] }),
  );
  for (const p of [...cs, ...ps]) p.start();
  let sum = 0;
  for (let i = 0; i < producers * count; i++) sum += await out.get();
  for (const p of ps) await p.join();
  for (let i = 0; i < consumers; i++) await q.put(null); // one each
  for (const c of cs) await c.join();
  console.log(
    `${producers} producer(s) → ${consumers} consumer(s): ${
      producers * count
    } jobs, sum of squares ${sum}`,
  );
}

if (import.meta.main) {
  await run(1, 1, 1000);
  await run(3, 4, 1000);
}
