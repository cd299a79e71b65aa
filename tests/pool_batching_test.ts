// The batching policy's decisions (lib/_pool/batching.ts), each alone:
// how many queued tasks go to a worker in one message.
import { assert, assertEquals } from "@std/assert";
import {
  type BatchContext,
  batchLimit,
  MAX_BATCH,
  MAX_BATCH_MS,
  SHORT_TASK_MS,
  takeBatch,
  TaskClock,
  type WorkerLoad,
} from "../lib/_pool/batching.ts";
import { Deque } from "../lib/_pool/deque.ts";

const NOW = 10_000;

function worker(load: Partial<WorkerLoad> = {}): WorkerLoad {
  return {
    inflight: 0,
    batches: 0,
    mark: NOW,
    tasksDone: 0,
    leaving: false,
    ...load,
  };
}

function ctx(
  self: WorkerLoad,
  over: Partial<BatchContext> & { others?: WorkerLoad[] } = {},
): BatchContext {
  const { others = [worker()], ...rest } = over;
  return {
    avgTaskMs: Infinity,
    queued: 1000,
    toServe: 1 + others.length,
    workers: [self, ...others],
    pending: 0,
    maxTasksPerChild: null,
    now: NOW,
    ...rest,
  };
}

Deno.test("batchLimit: short tasks batch up to MAX_BATCH a message", () => {
  const w = worker();
  const short = SHORT_TASK_MS / 10;
  assertEquals(
    batchLimit(w, ctx(w, { avgTaskMs: short, queued: 100_000 })),
    MAX_BATCH,
  );
  // Fewer than fill every idle worker's batch: an even split.
  assertEquals(batchLimit(w, ctx(w, { avgTaskMs: short, queued: 100 })), 50);
  assertEquals(
    batchLimit(w, ctx(w, { avgTaskMs: short, queued: 100, toServe: 1 })),
    100,
  );
  // Never less than one.
  assertEquals(batchLimit(w, ctx(w, { avgTaskMs: short, queued: 1 })), 1);
});

Deno.test("batchLimit: tasks of unknown length go one at a time", () => {
  const w = worker();
  assertEquals(batchLimit(w, ctx(w, { avgTaskMs: Infinity })), 1);
});

Deno.test("batchLimit: nothing queued, nothing to send", () => {
  const w = worker();
  assertEquals(batchLimit(w, ctx(w, { queued: 0, avgTaskMs: 0.01 })), 0);
  assertEquals(batchLimit(w, ctx(w, { queued: 0, avgTaskMs: 5 })), 0);
});

Deno.test("batchLimit: long tasks batch up to MAX_BATCH_MS of work", () => {
  const w = worker();
  assertEquals(
    batchLimit(w, ctx(w, { avgTaskMs: 1, queued: 10_000 })),
    MAX_BATCH_MS,
  );
  assertEquals(
    batchLimit(w, ctx(w, { avgTaskMs: 4, queued: 10_000 })),
    MAX_BATCH_MS / 4,
  );
  // A task longer than MAX_BATCH_MS still goes, one at a time.
  assertEquals(
    batchLimit(w, ctx(w, { avgTaskMs: 10 * MAX_BATCH_MS, queued: 10 })),
    1,
  );
});

Deno.test("batchLimit: at the end of a map the workers get a fair share", () => {
  // 4 tasks of 10 ms left, two idle workers: two each, not four to one.
  const w = worker();
  assertEquals(batchLimit(w, ctx(w, { avgTaskMs: 10, queued: 4 })), 2);
  // The other worker still has 4 tasks (40 ms) in flight: this one takes
  // what evens the work out, (4 + 4) * 10 / 2 = 40 ms, all 4.
  const busy = worker({ inflight: 4, batches: 1 });
  assertEquals(
    batchLimit(w, ctx(w, { avgTaskMs: 10, queued: 4, others: [busy] })),
    4,
  );
  // A worker still to start counts: a third of 6 tasks each.
  assertEquals(
    batchLimit(w, ctx(w, { avgTaskMs: 10, queued: 6, pending: 1 })),
    2,
  );
  // A worker leaving the pool does not.
  const leaving = worker({ leaving: true });
  assertEquals(
    batchLimit(
      w,
      ctx(w, { avgTaskMs: 10, queued: 4, others: [worker(), leaving] }),
    ),
    2,
  );
});

Deno.test("batchLimit: a busy worker with enough work gets nothing, an idle one at least one", () => {
  // 8 tasks (80 ms) in flight that started just now, 2 queued, the other
  // worker idle: this one has more than its share.
  const loaded = worker({ inflight: 8, batches: 1 });
  assertEquals(
    batchLimit(loaded, ctx(loaded, { avgTaskMs: 10, queued: 2 })),
    0,
  );
  // Idle, with the other worker loaded far beyond the queue: still one.
  const idle = worker();
  const heavy = worker({ inflight: 100, batches: 2 });
  assert(
    batchLimit(
      idle,
      ctx(idle, { avgTaskMs: 10, queued: 1, others: [heavy] }),
    ) >= 1,
  );
  // Time passing drains the estimate of what is in flight.
  const later = ctx(loaded, { avgTaskMs: 10, queued: 2, now: NOW + 75 });
  assertEquals(batchLimit(loaded, later), 1);
});

Deno.test("batchLimit: maxtasksperchild caps a batch at what the worker may still run", () => {
  const w = worker({ tasksDone: 3, inflight: 1, batches: 1 });
  assertEquals(
    batchLimit(w, ctx(w, { avgTaskMs: 0.01, maxTasksPerChild: 5 })),
    1,
  );
  const spent = worker({ tasksDone: 4, inflight: 1, batches: 1 });
  assertEquals(
    batchLimit(spent, ctx(spent, { avgTaskMs: 0.01, maxTasksPerChild: 5 })),
    0,
  );
});

type T = { id: number; settled: boolean; alone: boolean };

function queueOf(...tasks: Partial<T>[]): Deque<T> {
  const q = new Deque<T>();
  tasks.forEach((t, i) =>
    q.push({ id: i, settled: false, alone: false, ...t })
  );
  return q;
}

Deno.test("takeBatch: takes up to the limit from the front, skipping settled tasks", () => {
  const q = queueOf({}, { settled: true }, {}, {}, {});
  assertEquals(takeBatch(q, 3, false).map((t) => t.id), [0, 2, 3]);
  assertEquals(q.length, 1);
  assertEquals(takeBatch(q, 3, false).map((t) => t.id), [4]);
  assertEquals(takeBatch(q, 3, false), []);
});

Deno.test("takeBatch: a task with a signal, timeout or transfer travels alone, to an idle worker", () => {
  // Alone at the front of the queue: alone in its batch.
  let q = queueOf({ alone: true }, {}, {});
  assertEquals(takeBatch(q, 10, false).map((t) => t.id), [0]);
  // Behind others: the batch stops before it.
  q = queueOf({}, {}, { alone: true }, {});
  assertEquals(takeBatch(q, 10, false).map((t) => t.id), [0, 1]);
  // Not to a worker with a batch in flight (stopping it would stop that).
  assertEquals(takeBatch(q, 10, true), []);
  assertEquals(takeBatch(q, 10, false).map((t) => t.id), [2]);
  assertEquals(takeBatch(q, 10, false).map((t) => t.id), [3]);
});

Deno.test("TaskClock: unknown until a report, then a moving average", () => {
  const clock = new TaskClock();
  assertEquals(clock.avgMs, Infinity);
  clock.record(10, 5);
  assertEquals(clock.avgMs, 2);
  clock.record(12, 1);
  assertEquals(clock.avgMs, 2 * 0.8 + 12 * 0.2);
  clock.record(4, 0); // a report of no task counts as one
  assertEquals(clock.avgMs, (2 * 0.8 + 12 * 0.2) * 0.8 + 4 * 0.2);
});
