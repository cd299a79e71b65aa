// Unit tests of the timer behind every timeout (lib/_common/timer.ts).
import { assert, assertEquals } from "@std/assert";
import { delay } from "@std/async/delay";
import { setLongTimeout, settlesWithin } from "../lib/_common/timer.ts";

Deno.test("setLongTimeout() waits its whole delay across several chunks", async () => {
  const t0 = performance.now();
  let fired = -1;
  // Chunks of at most 40 ms: firing before 200 ms would mean a chunk
  // was taken for the whole delay.
  setLongTimeout(() => (fired = performance.now() - t0), 200, 40);
  while (fired < 0) await delay(20);
  assert(fired >= 199, `fired after ${fired} ms`);
});

Deno.test("setLongTimeout() can be cleared between chunks; Infinity never fires", async () => {
  let fired = false;
  const timer = setLongTimeout(() => (fired = true), 150, 30);
  await delay(60);
  timer.clear();
  await delay(150);
  assertEquals(fired, false);
  // No timer is held for Infinity: the op sanitizer would see one.
  setLongTimeout(() => (fired = true), Infinity).clear();
  assertEquals(await settlesWithin(delay(10), Infinity), true);
  assertEquals(await settlesWithin(new Promise(() => {}), 20), false);
});
