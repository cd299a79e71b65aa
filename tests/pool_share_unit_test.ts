// Shared batches in the parent (lib/_pool/share.ts), each part alone: which
// queued tasks go in one, how a worker's claim is seen, and what goes back
// to the queue when one ends. tests/pool_share_test.ts runs them on workers.
import { assertEquals } from "@std/assert";
import { Share, takeLike } from "../lib/_pool/share.ts";
import { Task } from "../lib/_pool/task.ts";
import { Deque } from "../lib/_pool/deque.ts";
import { ClaimedTasks, toRunColumns } from "../lib/_launch/batch_columns.ts";
import { TaskMode } from "../lib/_launch/protocol.ts";
import type { TaskSpec } from "../lib/_pool/interface.ts";

function task(id: number, over: Partial<TaskSpec> = {}): Task {
  const spec: TaskSpec = {
    fn: { name: "f", source: "", modules: [], byName: false },
    fnKey: 1,
    mode: TaskMode.Map,
    args: [id],
    label: "f",
    ...over,
  };
  return new Task(id, spec, () => {}, () => {});
}

function queueOf(tasks: Task[]): Deque<Task> {
  const q = new Deque<Task>();
  for (const t of tasks) q.push(t);
  return q;
}

function shareOf(tasks: Task[]): Share {
  return new Share(tasks, toRunColumns(tasks.map((t) => t.toWire(false)))!);
}

/** A worker's view of what the parent posts it (structured clone). */
function received(share: Share): ClaimedTasks {
  const member = { knows: () => true, dropShare: () => {} };
  return new ClaimedTasks(structuredClone(share.messageFor(member)));
}

Deno.test("takeLike takes the like tasks at the front and stops at the first unlike one", () => {
  const settled = task(2);
  settled.settled = true;
  const q = queueOf([
    task(1),
    settled,
    task(3),
    task(4, { fnKey: 2 }),
    task(5),
  ]);
  assertEquals(takeLike(q, 10).map((t) => t.id), [1, 3]);
  assertEquals(q.peek()?.id, 4);
  assertEquals(q.length, 2);
});

Deno.test("takeLike leaves tasks that travel alone, carry kwargs or another mode", () => {
  const signal = new AbortController().signal;
  for (
    const odd of [
      task(2, { signal }),
      task(2, { kwargs: { k: 1 } }),
      task(2, { mode: TaskMode.Starmap, args: [[2]] }),
      task(2, { args: new Float64Array(new SharedArrayBuffer(16)) }),
    ]
  ) {
    const q = queueOf([task(1), odd, task(3)]);
    assertEquals(takeLike(q, 10).map((t) => t.id), [1]);
    assertEquals(q.peek(), odd);
  }
  assertEquals(takeLike(queueOf([task(1), task(2), task(3)]), 2).length, 2);
});

Deno.test("Map chunks of numbers packed in shared memory share a batch among themselves, and arrive as they went", () => {
  const packed = (id: number) =>
    task(id, { args: new Float64Array(new SharedArrayBuffer(16)).fill(id) });
  const q = queueOf([packed(1), packed(2), task(3)]);
  const tasks = takeLike(q, 10);
  assertEquals(tasks.map((t) => t.id), [1, 2]);
  assertEquals(q.peek()?.id, 3);
  const worker = received(shareOf(tasks));
  for (const id of [1, 2]) {
    const t = worker.take()!;
    assertEquals(t.id, id);
    assertEquals([...new Float64Array(t.args as SharedArrayBuffer)], [id, id]);
  }
  assertEquals(worker.take(), null);
});

Deno.test("Each task of a shared batch is taken once, by whichever worker claims it first", () => {
  const tasks = [task(11), task(12), task(13), task(14), task(15)];
  const share = shareOf(tasks);
  const a = received(share);
  const b = received(share);
  assertEquals(share.untaken, 5);
  const took = [a.take(), b.take(), b.take(), a.take()].map((t) => t!.id);
  assertEquals(took, [11, 12, 13, 14]);
  assertEquals(a.take()!.args, [15]);
  assertEquals([a.take(), b.take()], [null, null]);
  assertEquals(share.untaken, 0);
});

Deno.test("A shared batch that ends with tasks unreported gives them back in order and stops the claims", () => {
  const tasks = [task(1), task(2), task(3), task(4)];
  const share = shareOf(tasks);
  const worker = received(share);
  const dropped: Share[] = [];
  const a = { knows: () => true, dropShare: (s: Share) => dropped.push(s) };
  const b = { knows: () => true, dropShare: (s: Share) => dropped.push(s) };
  share.join(a);
  share.join(b);
  worker.take(); // task 1: taken, reported below
  worker.take(); // task 2: taken by a worker that died
  assertEquals(share.take(1), tasks[0]);
  tasks[0].settled = true;
  assertEquals(share.open, 3);
  assertEquals(share.leave(a), false);
  assertEquals(share.close().map((t) => t.id), [2, 3, 4]);
  // The worker still in it is let go, and takes nothing more.
  assertEquals(dropped, [share]);
  assertEquals(worker.take(), null);
  assertEquals(share.open, 0);
});
