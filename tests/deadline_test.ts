// The one deadline helper (lib/_common/timer.ts): a Python-style timeout in
// seconds to an absolute `performance.now()` deadline.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { deadlineFrom } from "../lib/_common/timer.ts";

Deno.test("deadlineFrom: no timeout is no deadline", () => {
  assertEquals(deadlineFrom(undefined), Infinity);
  assertEquals(deadlineFrom(null), Infinity);
  assertEquals(deadlineFrom(Infinity), Infinity);
});

Deno.test("deadlineFrom: seconds from now; a negative timeout is now", () => {
  const before = performance.now();
  const d = deadlineFrom(1.5);
  const after = performance.now();
  assert(d >= before + 1500 && d <= after + 1500, `deadline ${d}`);
  const now = deadlineFrom(-1);
  assert(now >= after && now <= performance.now(), `deadline ${now}`);
});

Deno.test("deadlineFrom: a timeout that is not a number names the action", () => {
  assertThrows(
    () => deadlineFrom("1", "get an item"),
    TypeError,
    "Cannot get an item: 'timeout' must be a number of seconds",
  );
  assertThrows(() => deadlineFrom(NaN), TypeError, "'timeout'");
});
