import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStringIncludes,
} from "@std/assert";
import { parseBench, renderSvg } from "../bench/chart.ts";

function row(name: string, avgNs: number) {
  return { group: null, name, results: [{ ok: { avg: avgNs, n: 10 } }] };
}

const report = JSON.stringify({
  cpu: "Test CPU",
  runtime: "Deno/test",
  benches: [
    ...["10us", "100us", "1ms", "10ms"].flatMap((size) => [
      row(`cpu ${size}: serial`, 128e6),
      row(`cpu ${size}: Pool(1).map`, 130e6),
      row(`cpu ${size}: Pool(2).map`, 68e6),
    ]),
    row("noop: applyAsync x20000 on Pool(2)", 100e6),
  ],
});

Deno.test("bench chart reads speed-ups and throughput from deno bench --json", () => {
  const data = parseBench(report);
  assertEquals([...data.speedup.keys()], [1, 2]);
  assertAlmostEquals(data.speedup.get(2)!.get(1000)!, 128 / 68, 1e-9);
  assertAlmostEquals(data.speedup.get(1)!.get(10)!, 128 / 130, 1e-9);
  assertAlmostEquals(data.noopPerSecond, 200_000, 1e-6);
});

Deno.test("bench chart draws a line per pool size and a bar per peer", () => {
  const svg = renderSvg({
    ...parseBench(report),
    python: {
      speedup: { "10": 0.5, "100": 1, "1000": 1.6, "10000": 1.9 },
      noop_tasks_per_s: 14_000,
    },
    load: "0.42",
  }, "2026-12-01");
  assert(svg.startsWith("<svg"));
  assertEquals(svg.match(/<polyline/g)?.length, 3); // Pool(1), Pool(2), Python
  assertEquals(svg.match(/<rect [^>]*fill="#/g)?.length, 2); // ours and Python
  assertStringIncludes(svg, "Pool(2): 1.88× at 10 ms");
  assertStringIncludes(svg, "200k/s");
  assertStringIncludes(svg, "load average 0.42 before the run");
});
