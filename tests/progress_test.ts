import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { Pool } from "../mod.ts";
import {
  drawBar,
  formatClock,
  formatRate,
  ProgressBar,
  type ProgressSink,
} from "../lib/_pool/progress.ts";
import { runDeno } from "./testdata/helpers.ts";
import * as tasks from "./testdata/tasks.ts";

/** The terminal code that clears the rest of the line. */
const CLEAR_LINE = "\x1b[K";

function fakeSink(isTerminal: boolean): ProgressSink & { out: string[] } {
  const out: string[] = [];
  return { isTerminal, out, columns: () => 100, write: (t) => out.push(t) };
}

Deno.test("ProgressBar redraws a terminal line at most every 100 ms", async () => {
  const sink = fakeSink(true);
  const bar = new ProgressBar("work", 1000, sink);
  for (let i = 1; i <= 500; i++) bar.update(i, 1000); // a burst: one draw
  const burst = sink.out.length;
  assert(burst <= 2, `a burst drew ${burst} times`);
  await delay(150); // the trailing redraw shows the last count
  assertEquals(sink.out.length, burst + 1);
  assertStringIncludes(sink.out.at(-1)!, "500/1000");
  assertStringIncludes(sink.out.at(-1)!, " 50%");
  // Each draw goes back to the line's start and clears what is left of it.
  assertMatch(sink.out.at(-1)!, /^\r.*ETA \d+:\d\d/);
  assert(sink.out.at(-1)!.endsWith(CLEAR_LINE));
  bar.end("done");
  assertMatch(
    sink.out.at(-1)!,
    /^\rwork 500\/1000 done in \d+:\d\d \(.* it\/s\)/,
  );
  assert(sink.out.at(-1)!.endsWith(`${CLEAR_LINE}\n`));
  bar.update(600, 1000);
  bar.end("failed");
  assertEquals(sink.out.at(-1)!.includes("600"), false); // ended: no more output
});

Deno.test("ProgressBar writes only a final line when stderr is not a terminal", () => {
  const sink = fakeSink(false);
  const bar = new ProgressBar("map", 10, sink);
  for (let i = 1; i <= 7; i++) bar.update(i, 10);
  assertEquals(sink.out, []);
  bar.end("cancelled");
  assertEquals(sink.out.length, 1);
  assertMatch(sink.out[0], /^map 7\/10 cancelled in 0:00 \(.* it\/s\)\n$/);
});

Deno.test("ProgressBar shows a count and a rate while the total is unknown", () => {
  const sink = fakeSink(true);
  const bar = new ProgressBar("imap", undefined, sink);
  assertStringIncludes(sink.out[0], "imap 0 done");
  assertStringIncludes(sink.out[0], "elapsed");
  assert(!sink.out[0].includes("%"));
  bar.end("done");
  assertMatch(sink.out.at(-1)!, /imap 0 done in/);
});

Deno.test("ProgressBar formats rates, clocks and partial cells", () => {
  assertEquals(formatRate(3.25), "3.3 it/s");
  assertEquals(formatRate(950), "950 it/s");
  assertEquals(formatRate(12_345), "12.3k it/s");
  assertEquals(formatRate(4_100_000), "4.1M it/s");
  assertEquals(formatClock(5), "0:05");
  assertEquals(formatClock(3725), "1:02:05");
  assertEquals(drawBar(0, 4), "    ");
  assertEquals(drawBar(1, 4), "████");
  assertEquals(drawBar(0.5, 4), "██  ");
  assertEquals(drawBar(0.125 / 4 * 4, 1), "▏");
});

Deno.test("Pool.imap() reports an undefined total until its input ends", async () => {
  await using pool = new Pool(2);
  const calls: Array<[number, number | undefined]> = [];
  async function* items() {
    // More items than the pool keeps in flight (8 for 2 workers), so the
    // first results come before the input has ended.
    for (let i = 0; i < 30; i++) yield i;
  }
  const out: number[] = [];
  for await (
    const v of pool.imap(tasks.square, items(), {
      onProgress: (done, total) => calls.push([done, total]),
    })
  ) out.push(v);
  assertEquals(out, Array.from({ length: 30 }, (_, i) => i * i));
  assertEquals(calls.at(-1), [30, 30]);
  assert(calls.some(([, total]) => total === undefined));
  assert(calls.every(([, total]) => total === undefined || total === 30));
});

Deno.test("Pool.map() rejects a progress option that is not a boolean or label", async () => {
  await using pool = new Pool(1);
  const err = await pool.map(tasks.square, [1], {
    progress: 1 as unknown as boolean,
  }).catch((e) => e);
  assert(err instanceof TypeError);
  assertStringIncludes(err.message, "'progress' must be a boolean or a label");
});

/** Runs progress_main.ts under a pseudo-terminal; returns what it drew. */
async function runInTerminal(args: string[]): Promise<string> {
  const main = new URL("./testdata/progress_main.ts", import.meta.url).pathname;
  const command = [Deno.execPath(), "run", "--allow-all", main, ...args]
    .map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { COLUMNS: "100", TERM: "xterm" },
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("Pool.map({ progress }) draws a redrawn bar on a terminal", async () => {
  const screen = await runInTerminal(["map", "squares"]);
  assertStringIncludes(screen, "sum 20540");
  const draws = screen.split("\r").filter((s) => s.startsWith("squares"));
  // 40 tasks of 30 ms on 2 workers take ~0.6 s: a few redraws, not 40.
  assert(draws.length >= 3, `drew ${draws.length} times:\n${screen}`);
  assert(draws.length <= 30, `drew ${draws.length} times`);
  assert(
    draws.some((d) =>
      /squares +\d+% \|.*\| \d+\/40 .* it\/s {2}ETA \d+:\d\d/.test(d)
    ),
  );
  assertMatch(screen, /squares 40\/40 done in \d+:\d\d \(.* it\/s\)/);
});

Deno.test("Pool.imap({ progress }) on a terminal ends with the final count", async () => {
  const screen = await runInTerminal(["imap"]);
  assertStringIncludes(screen, "sum 20540");
  assertMatch(screen, /imap 40\/40 done in/);
});

Deno.test("Pool.map({ progress }) into a pipe writes one final line", async () => {
  const run = await runDeno("./progress_main.ts", ["map"], 60);
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stdout, "sum 20540");
  assertEquals(run.stderr.includes("\r"), false);
  assertMatch(run.stderr, /^map 40\/40 done in \d+:\d\d \(.* it\/s\)\n$/);
});

Deno.test("Pool.map({ progress }) says failed when a task throws", async () => {
  const run = await runDeno("./progress_main.ts", ["fail", "job"], 60);
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stdout, "error");
  assertMatch(run.stderr, /^job \d+\/40 failed in /m);
});
