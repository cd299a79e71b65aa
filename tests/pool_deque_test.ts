// The pool engine's task queue (lib/_pool/deque.ts): a ring-buffer deque,
// checked against a plain array model over many mixed operations.
import { assertEquals } from "@std/assert";
import { Deque } from "../lib/_pool/deque.ts";

Deno.test("Deque: push, shift and peek in FIFO order", () => {
  const q = new Deque<number>();
  assertEquals(q.length, 0);
  assertEquals(q.peek(), undefined);
  assertEquals(q.shift(), undefined);
  for (let i = 0; i < 100; i++) q.push(i);
  assertEquals(q.length, 100);
  assertEquals(q.peek(), 0);
  for (let i = 0; i < 100; i++) assertEquals(q.shift(), i);
  assertEquals(q.length, 0);
});

Deno.test("Deque: unshiftAll puts items back at the front in their order", () => {
  const q = new Deque<string>();
  q.push("c");
  q.push("d");
  q.unshiftAll(["a", "b"]);
  assertEquals([...q], ["a", "b", "c", "d"]);
  q.unshiftAll([]);
  assertEquals(q.length, 4);
  // Across the ring's wrap and growth.
  const r = new Deque<number>();
  for (let i = 0; i < 10; i++) r.push(i);
  for (let i = 0; i < 8; i++) r.shift();
  r.unshiftAll(Array.from({ length: 40 }, (_, i) => 100 + i));
  assertEquals([...r], [
    ...Array.from({ length: 40 }, (_, i) => 100 + i),
    8,
    9,
  ]);
});

Deno.test("Deque: drain takes everything, front first, and the deque is reusable", () => {
  const q = new Deque<number>();
  for (let i = 0; i < 20; i++) q.push(i);
  q.shift();
  assertEquals(q.drain(), Array.from({ length: 19 }, (_, i) => i + 1));
  assertEquals(q.length, 0);
  q.push(7);
  assertEquals([...q], [7]);
});

Deno.test("Deque: matches an array model over 100,000 random operations", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const q = new Deque<number>();
  const model: number[] = [];
  let next = 0;
  for (let op = 0; op < 100_000; op++) {
    const r = rand();
    if (r < 0.45) {
      q.push(next);
      model.push(next++);
    } else if (r < 0.85) {
      assertEquals(q.shift(), model.shift());
    } else if (r < 0.95) {
      const items = Array.from(
        { length: Math.floor(rand() * 5) },
        () => next++,
      );
      q.unshiftAll(items);
      model.unshift(...items);
    } else {
      assertEquals(q.peek(), model[0]);
    }
    assertEquals(q.length, model.length);
  }
  assertEquals([...q], model);
});

Deno.test("Deque: a drained burst gives its memory back and keeps working", () => {
  const q = new Deque<number>();
  for (let i = 0; i < 20_000; i++) q.push(i);
  for (let i = 0; i < 20_000; i++) assertEquals(q.shift(), i);
  q.push(1);
  q.unshiftAll([0]);
  assertEquals([...q], [0, 1]);
});
