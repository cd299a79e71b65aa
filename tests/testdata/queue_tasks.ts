/**
 * Functions the queue and pipe tests run in worker processes.
 *
 * @module
 */

import type {
  Connection,
  JoinableQueue,
  Queue,
  SimpleQueue,
} from "../../mod.ts";
import { EOFError } from "../../mod.ts";

/** Puts `[producer, i]` for i in 0..n-1 (blocking twin). */
export function produce(q: Queue<[number, number]>, id: number, n: number) {
  for (let i = 0; i < n; i++) q.putSync([id, i]);
}

/** Puts `[producer, i]` for i in 0..n-1 with the async put. */
export async function produceAsync(
  q: Queue<[number, number]>,
  id: number,
  n: number,
) {
  for (let i = 0; i < n; i++) await q.put([id, i]);
}

/**
 * Counts `[producer, i]` items, marking each in `seen` (one counter per
 * item) and checking each producer's items come in order.
 */
function tally(seen: Int32Array, perProducer: number) {
  const last = new Map<number, number>();
  let count = 0;
  let inOrder = true;
  return {
    add([id, i]: [number, number]): void {
      if ((last.get(id) ?? -1) >= i) inOrder = false;
      last.set(id, i);
      Atomics.add(seen, id * perProducer + i, 1);
      count++;
    },
    report: () => ({ count, inOrder }),
  };
}

/**
 * Gets `[producer, i]` items until `null`, counting them as
 * {@linkcode tally} does; reports `{ count, inOrder }` on `results`.
 */
export function consume(
  q: Queue<[number, number] | null>,
  seen: Int32Array,
  perProducer: number,
  results: Queue<{ count: number; inOrder: boolean }>,
) {
  const items = tally(seen, perProducer);
  for (let item; (item = q.getSync()) !== null;) items.add(item);
  results.putSync(items.report());
}

/** As {@linkcode consume}, with the async get. */
export async function consumeAsync(
  q: Queue<[number, number] | null>,
  seen: Int32Array,
  perProducer: number,
  results: Queue<{ count: number; inOrder: boolean }>,
) {
  const items = tally(seen, perProducer);
  for (let item; (item = await q.get()) !== null;) items.add(item);
  await results.put(items.report());
}

/** Puts `n` numbers, reporting progress in `progress[0]`. */
export function fill(q: Queue<number>, n: number, progress: Int32Array) {
  for (let i = 0; i < n; i++) {
    q.putSync(i);
    Atomics.store(progress, 0, i + 1);
  }
}

/** Gets jobs until `null`, counts each in `done[0]` and marks it done. */
export async function worker(
  q: JoinableQueue<number | null>,
  done: Int32Array,
) {
  for (;;) {
    const job = await q.get();
    if (job === null) {
      q.taskDone();
      return;
    }
    // Some work, so join() really has to wait.
    await new Promise((r) => setTimeout(r, job % 3));
    Atomics.add(done, 0, 1);
    q.taskDone();
  }
}

/** Echoes every value and bytes message back until `null` arrives. */
export function echo(conn: Connection) {
  for (;;) {
    if (!conn.pollSync(60)) throw new Error("echo: nothing came in 60s");
    const v = conn.recvSync();
    if (v === null) break;
    if (v instanceof Uint8Array) conn.sendBytesSync(v);
    else conn.sendSync(v);
  }
  conn.close();
}

/** Sends 0..n-1 through `w` (async), then closes it. */
export async function sendAll(w: Connection, n: number) {
  for (let i = 0; i < n; i++) await w.send(i);
  w.close();
}

/** Receives until EOF, and sends back how many came and their sum. */
export async function recvAll(r: Connection, back: Connection) {
  let count = 0;
  let sum = 0;
  for (;;) {
    try {
      sum += await r.recv() as number;
      count++;
    } catch (e) {
      if (e instanceof EOFError) break;
      throw e;
    }
  }
  await back.send({ count, sum });
}

/** Gets one item and puts it back on `out`, unchanged. */
export async function relay(input: Queue, out: Queue) {
  await out.put(await input.get());
}

/** The same through a SimpleQueue, with the blocking twins. */
export function relaySimple(input: SimpleQueue, out: SimpleQueue) {
  out.putSync(input.getSync());
}

/** Sleeps in a blocking get on `q` forever (to be terminated). */
export function blockForever(q: Queue, started: Int32Array) {
  Atomics.store(started, 0, 1);
  q.getSync();
}

/**
 * Puts `n` numbers on `q` (more than its ring holds: the rest waits in the
 * feeder), then blocks in `cmd.getSync()` without returning to the event
 * loop until told to end.
 */
export function putManyThenBlock(q: Queue<number>, cmd: Queue, n: number) {
  for (let i = 0; i < n; i++) q.putSync(i);
  cmd.getSync();
}

/** Bench: for each count `n` from `cmd`, puts n small items; ends at `null`. */
export function benchProducer(cmd: Queue<number | null>, q: Queue<number>) {
  for (;;) {
    const n = cmd.getSync();
    if (n === null) return;
    for (let i = 0; i < n; i++) q.putSync(i);
  }
}

/** Bench: for each count `n` from `cmd`, gets n items, then reports on `done`. */
export function benchConsumer(
  cmd: Queue<number | null>,
  q: Queue<number>,
  done: Queue<number>,
) {
  for (;;) {
    const n = cmd.getSync();
    if (n === null) return;
    for (let i = 0; i < n; i++) q.getSync();
    done.putSync(n);
  }
}

/** Bench: sends back whatever comes on `a` through `b`, until `null`. */
export function echoQueue(a: Queue, b: Queue) {
  for (;;) {
    const v = a.getSync();
    b.putSync(v);
    if (v === null) return;
  }
}

/** One-way latency percentiles, in µs. */
type Latency = { p50: number; p99: number };

function percentiles(samples: number[]): Latency {
  samples.sort((x, y) => x - y);
  return {
    p50: samples[Math.floor(samples.length * 0.5)],
    p99: samples[Math.floor(samples.length * 0.99)],
  };
}

/**
 * Times `n` calls of `roundTrip(i)`, calls `stop()`, then reports the
 * one-way latency (half the round trip) percentiles on `out`.
 */
function ping(
  n: number,
  out: Queue<Latency>,
  roundTrip: (i: number) => void,
  stop: () => void,
): void {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    roundTrip(i);
    samples.push((performance.now() - t) * 500);
  }
  stop();
  out.putSync(percentiles(samples));
}

/**
 * Bench: `n` round trips through `a` → echo → `b`; reports the one-way
 * latency percentiles on `out`.
 */
export function pingQueue(a: Queue, b: Queue, n: number, out: Queue<Latency>) {
  const send = (v: number | null) => {
    a.putSync(v);
    b.getSync();
  };
  ping(n, out, send, () => send(null));
}

/** Bench: as {@linkcode pingQueue} through a pipe (the other end echoes). */
export function pingPipe(conn: Connection, n: number, out: Queue<Latency>) {
  ping(n, out, (i) => {
    conn.sendSync(i);
    conn.recvSync();
  }, () => conn.sendSync(null));
}

/**
 * Puts `size` bytes of 7s, then `"after"`, with the blocking put, and sets
 * `returned` once both calls returned (before any reader came).
 */
export function putBigThenSignal(
  q: Queue<unknown>,
  size: number,
  returned: { set(): void },
) {
  q.putSync(new Uint8Array(size).fill(7));
  q.putSync("after");
  returned.set();
}

/**
 * Starts putting `size` bytes of 7s, then blocks this thread (so its
 * feeder stops part-way) until `pause[0]` is set, then lets it finish.
 */
export async function putBigPaused(
  q: Queue<unknown>,
  size: number,
  pause: Int32Array,
) {
  const put = q.put(new Uint8Array(size).fill(7));
  Atomics.wait(pause, 0, 0);
  await put;
}

/** Gets one item and reports its length and whether it is all 7s. */
export async function getAndReport(
  q: Queue<Uint8Array>,
  out: Queue<{ length: number; sevens: boolean }>,
) {
  const x = await q.get({ timeout: 120 });
  await out.put({ length: x.length, sevens: x.every((b) => b === 7) });
}

/** Puts `size` bytes (more than the ring holds) and returns at once. */
export async function putBigAndEnd(q: Queue<unknown>, size: number) {
  await q.put(new Uint8Array(size).fill(7));
}

/** As {@linkcode putBigAndEnd}, after `cancelJoinThread()`. */
export async function putBigCancelAndEnd(q: Queue<unknown>, size: number) {
  q.cancelJoinThread();
  await q.put(new Uint8Array(size).fill(7));
}

/** Sends 0..n-1 and returns without closing: its end closes the handle. */
export async function sendAndEnd(conn: Connection, n: number) {
  for (let i = 0; i < n; i++) await conn.send(i);
}

/** Sends `"before"`, then throws. */
export async function sendThenThrow(conn: Connection) {
  await conn.send("before");
  throw new Error("boom (expected by the test)");
}

/** Sends `"ready"`, then waits on `recv` until it is killed. */
export async function readyThenWait(conn: Connection) {
  await conn.send("ready");
  await conn.recv({ timeout: 120 });
}

/** Receives one message, then returns. */
export async function recvOneAndEnd(conn: Connection) {
  await conn.recv({ timeout: 60 });
}
