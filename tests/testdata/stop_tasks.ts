// Targets for the tests of stopping processes (tests/stop_test.ts and the
// programs it runs). Each reports through shared memory what it did, so a
// test can tell a real stop from a reported one.
import type {
  Barrier,
  Condition,
  Connection,
  Event,
  Lock,
  Queue,
  Semaphore,
} from "../../mod.ts";

/** Slots of the `Int32Array` a target reports through. */
export const Slot = {
  /** The thread's Linux thread id (0 until known). */
  Tid: 0,
  /** 1 once the target got past its busy part. */
  Done: 1,
  /** Items taken, or steps made inside a critical section. */
  Count: 2,
  /** 1 once the target is about to block (or spin). */
  Started: 3,
} as const;

/** Bytes of a report buffer. */
export const REPORT_BYTES = 16;

/** This thread's Linux thread id, from `/proc/thread-self`. */
export function threadTid(): number {
  return Number(Deno.readLinkSync("/proc/thread-self").split("/").pop());
}

/**
 * The CPU time (clock ticks) thread `tid` of this program has used, or
 * `null` when the thread is gone.
 */
export function threadTicks(tid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/self/task/${tid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return null;
  }
}

function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Synchronous work no stop request can interrupt.
  }
}

/**
 * Busy in synchronous code for `ms`, then back to its event loop (where a
 * stop takes effect) for good.
 */
export async function spinThenIdle(report: Int32Array, ms: number) {
  Atomics.store(report, Slot.Tid, threadTid());
  Atomics.store(report, Slot.Started, 1);
  busyFor(ms);
  Atomics.store(report, Slot.Done, 1);
  await new Promise((resolve) => setTimeout(resolve, 600_000));
}

/** Busy forever in synchronous code. */
export function spinForever(report: Int32Array): never {
  Atomics.store(report, Slot.Tid, threadTid());
  Atomics.store(report, Slot.Started, 1);
  for (;;) {
    // Nothing stops this thread.
  }
}

/**
 * Holds `lock` while busy for `ms` (counting its steps), then goes back to
 * its event loop still holding it.
 */
export async function holdWhileBusy(
  lock: Lock,
  report: Int32Array,
  ms: number,
) {
  lock.acquireSync();
  Atomics.store(report, Slot.Started, 1);
  const end = performance.now() + ms;
  while (performance.now() < end) Atomics.add(report, Slot.Count, 1);
  Atomics.store(report, Slot.Done, 1);
  await new Promise((resolve) => setTimeout(resolve, 600_000));
}

/** Takes items with `getSync()` for good, counting them. */
export function readSync(q: Queue<number>, report: Int32Array): void {
  Atomics.store(report, Slot.Started, 1);
  for (;;) {
    q.getSync();
    Atomics.add(report, Slot.Count, 1);
  }
}

/** Takes items with `await get()` for good, counting them. */
export async function readAsync(q: Queue<number>, report: Int32Array) {
  Atomics.store(report, Slot.Started, 1);
  for (;;) {
    await q.get();
    Atomics.add(report, Slot.Count, 1);
  }
}

/**
 * Writes "running" to `path` once a SIGTERM listener is in place that
 * exits with `code` (or, when `code` is `null`, ignores the signal).
 */
export async function onSigterm(path: string, code: number | null) {
  Deno.addSignalListener("SIGTERM", () => {
    if (code !== null) Deno.exit(code);
  });
  Deno.writeTextFileSync(path, "running");
  await new Promise((resolve) => setTimeout(resolve, 600_000));
}

/** Leaves a rejected promise unhandled, and returns. */
export function rejectUnhandled(): void {
  void Promise.reject(new Error("nobody handled this rejection"));
}

/** What {@linkcode blockIn} waits on, by kind. */
export type Blocker =
  | ["lock", Lock]
  | ["semaphore", Semaphore]
  | ["event", Event]
  | ["condition", Condition]
  | ["barrier", Barrier]
  | ["recv", Connection]
  | ["put", Queue<number>];

/**
 * The blocking and the async form of the wait `blocker` makes (after
 * taking the condition's lock, which its wait needs).
 */
function waitsOf(
  [kind, obj]: Blocker,
): [() => unknown, () => Promise<unknown>] {
  switch (kind) {
    case "lock":
    case "semaphore":
      return [() => obj.acquireSync(), () => obj.acquire()];
    case "condition":
      obj.acquireSync();
      return [() => obj.waitSync(), () => obj.wait()];
    case "event":
    case "barrier":
      return [() => obj.waitSync(), () => obj.wait()];
    case "recv":
      return [() => obj.recvSync(), () => obj.recv()];
    case "put":
      return [() => obj.putSync(1), () => obj.put(1)];
  }
}

/**
 * Blocks for good in one library wait, synchronously (`…Sync`) or not,
 * after saying it started: nothing it waits for ever comes.
 */
export async function blockIn(
  blocker: Blocker,
  sync: boolean,
  report: Int32Array,
) {
  if (Deno.build.os === "linux") Atomics.store(report, Slot.Tid, threadTid());
  Atomics.store(report, Slot.Started, 1);
  const [blocking, async] = waitsOf(blocker);
  sync ? blocking() : await async();
  Atomics.store(report, Slot.Done, 1);
}

/** Busy in synchronous code for `ms`, then returns. */
export function busyThenReturn(ms: number): number {
  busyFor(ms);
  return ms;
}

/** Counts its runs in `report`. */
export function countRun(report: Int32Array): void {
  Atomics.add(report, Slot.Count, 1);
}
