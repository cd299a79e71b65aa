/**
 * Draws `bench/speedup.svg`: Pool vs serial speed-up by task size for
 * 1 … N workers, and no-op throughput next to Python's Pool measured in
 * the same run. Plain SVG written here (a handful of lines and bars needs
 * no charting library).
 *
 * Run: deno task bench:chart   (deno run --allow-all bench/chart.ts)
 *
 * It runs `deno bench --json bench/speedup_bench.ts` and, when `python3`
 * is on the PATH, `bench/peers/python_pool.py`, then writes the SVG.
 *
 * @module
 */
import { sizeLabel, SIZES } from "./_tasks.ts";

/** One row of `deno bench --json`. */
interface BenchRow {
  group: string | null;
  name: string;
  results: Array<{ ok?: { avg: number; n: number } }>;
}

/** What the chart shows. */
export interface ChartData {
  /** Speed-up by worker count, then by task size in µs. */
  speedup: Map<number, Map<number, number>>;
  /** No-op tasks per second of the widest pool. */
  noopPerSecond: number;
  /** Python's Pool, when measured. */
  python?: { speedup: Record<string, number>; noop_tasks_per_s: number };
  /** The machine, as `deno bench` names it. */
  cpu: string;
  /** The Deno version. */
  runtime: string;
  /** The 1-minute load average before the run (Linux), if known. */
  load?: string;
}

/** Reads speed-ups and throughput out of `deno bench --json` output. */
export function parseBench(json: string): Omit<ChartData, "python"> {
  const report = JSON.parse(json) as {
    cpu: string;
    runtime: string;
    benches: BenchRow[];
  };
  const avg = (name: string) => {
    const row = report.benches.find((b) => b.name === name);
    const ok = row?.results[0]?.ok;
    if (ok === undefined) {
      throw new Error(`Cannot chart: no result for "${name}"`);
    }
    return ok.avg; // nanoseconds
  };
  const speedup = new Map<number, Map<number, number>>();
  for (const b of report.benches) {
    const m = /^cpu (\S+): Pool\((\d+)\)\.map$/.exec(b.name);
    if (m === null) continue;
    const us = SIZES.find((s) => sizeLabel(s) === m[1]);
    if (us === undefined) continue;
    const k = Number(m[2]);
    if (!speedup.has(k)) speedup.set(k, new Map());
    speedup.get(k)!.set(us, avg(`cpu ${m[1]}: serial`) / avg(b.name));
  }
  const noop = report.benches.find((b) =>
    b.name.startsWith("noop: applyAsync")
  );
  if (noop === undefined) throw new Error("Cannot chart: no noop benchmark");
  return {
    speedup,
    noopPerSecond: 20_000 / (avg(noop.name) / 1e9),
    cpu: report.cpu,
    runtime: report.runtime,
  };
}

const COLORS = ["#7f8c8d", "#2874a6", "#1e8449", "#b9770e", "#884ea0"];

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

/** Renders the chart as an SVG document. */
export function renderSvg(data: ChartData, date: string): string {
  const W = 820, H = 420;
  const out: string[] = [];
  const text = (x: number, y: number, s: string, attrs = "") =>
    out.push(`<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  );
  text(
    20,
    28,
    "@seed/multiprocessing: Pool.map speed-up over a serial loop",
    'font-size="16" font-weight="bold"',
  );

  // Left: speed-up by task size, one line per worker count.
  const L = { x: 60, y: 60, w: 420, h: 280 };
  const ks = [...data.speedup.keys()].sort((a, b) => a - b);
  const maxY = Math.max(ks.at(-1) ?? 1, 1) + 0.5;
  const px = (i: number) => L.x + 30 + i * ((L.w - 60) / (SIZES.length - 1));
  const py = (v: number) => L.y + L.h - (v / maxY) * L.h;
  for (let v = 0; v <= maxY; v += 0.5) {
    out.push(
      `<line x1="${L.x}" y1="${py(v)}" x2="${L.x + L.w}" y2="${
        py(v)
      }" stroke="${Number.isInteger(v) ? "#ccc" : "#eee"}"/>`,
    );
    if (Number.isInteger(v)) {
      text(L.x - 8, py(v) + 4, `${v}×`, 'text-anchor="end"');
    }
  }
  SIZES.forEach((us, i) =>
    text(
      px(i),
      L.y + L.h + 18,
      sizeLabel(us).replace("us", " µs").replace("ms", " ms"),
      'text-anchor="middle"',
    )
  );
  text(
    L.x + L.w / 2,
    L.y + L.h + 38,
    "CPU time per task",
    'text-anchor="middle" fill="#555"',
  );
  const line = (points: Array<[number, number]>, color: string, dash = "") => {
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.5" ${dash} points="${
        points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")
      }"/>`,
    );
    for (const [x, y] of points) {
      out.push(
        `<circle cx="${x.toFixed(1)}" cy="${
          y.toFixed(1)
        }" r="3.5" fill="${color}"/>`,
      );
    }
  };
  const legend: Array<[string, string, string]> = [];
  ks.forEach((k, j) => {
    const color = COLORS[(j + 1) % COLORS.length];
    const pts: Array<[number, number]> = [];
    SIZES.forEach((us, i) => {
      const v = data.speedup.get(k)!.get(us);
      if (v !== undefined) pts.push([px(i), py(v)]);
    });
    line(pts, color);
    const last = data.speedup.get(k)!.get(SIZES.at(-1)!);
    legend.push([
      color,
      `Pool(${k})${last === undefined ? "" : `: ${last.toFixed(2)}× at 10 ms`}`,
      "",
    ]);
  });
  if (data.python !== undefined) {
    const pts = SIZES.map((us, i) =>
      [px(i), py(data.python!.speedup[String(us)] ?? 0)] as [number, number]
    );
    line(pts, "#c0392b", 'stroke-dasharray="6 4"');
    legend.push([
      "#c0392b",
      `Python multiprocessing.Pool(${ks.at(-1)})`,
      'stroke-dasharray="6 4"',
    ]);
  }
  legend.forEach(([color, label, dash], i) => {
    const y = L.y + 12 + i * 18;
    out.push(
      `<line x1="${L.x + 12}" y1="${y - 4}" x2="${L.x + 36}" y2="${
        y - 4
      }" stroke="${color}" stroke-width="2.5" ${dash}/>`,
    );
    text(L.x + 42, y, label);
  });

  // Right: no-op tasks per second.
  const R = { x: 560, y: 60, w: 220, h: 280 };
  text(
    R.x + R.w / 2,
    R.y - 10,
    "No-op tasks per second",
    'text-anchor="middle" font-weight="bold"',
  );
  const bars: Array<[string, number, string]> = [[
    `ours, Pool(${ks.at(-1)})`,
    data.noopPerSecond,
    COLORS[2],
  ]];
  if (data.python !== undefined) {
    bars.push([
      `Python Pool(${ks.at(-1)})`,
      data.python.noop_tasks_per_s,
      "#c0392b",
    ]);
  }
  const maxBar = Math.max(...bars.map((b) => b[1]));
  const bw = 60;
  bars.forEach(([label, v, color], i) => {
    const h = (v / maxBar) * (R.h - 20);
    const x = R.x + 30 + i * (bw + 40);
    out.push(
      `<rect x="${x}" y="${
        R.y + R.h - h
      }" width="${bw}" height="${h}" fill="${color}"/>`,
    );
    text(
      x + bw / 2,
      R.y + R.h - h - 6,
      v >= 1e4 ? `${(v / 1e3).toFixed(0)}k/s` : `${v.toFixed(0)}/s`,
      'text-anchor="middle"',
    );
    text(x + bw / 2, R.y + R.h + 18, label, 'text-anchor="middle"');
  });
  out.push(
    `<line x1="${R.x}" y1="${R.y + R.h}" x2="${R.x + R.w}" y2="${
      R.y + R.h
    }" stroke="#999"/>`,
  );

  text(
    20,
    H - 30,
    `${data.cpu}, ${data.runtime}, ${date}${
      data.load === undefined
        ? ""
        : `, load average ${data.load} before the run`
    }.`,
    'fill="#777" font-size="11"',
  );
  text(
    20,
    H - 14,
    "Data: deno task bench:chart (bench/speedup_bench.ts, bench/peers/python_pool.py).",
    'fill="#777" font-size="11"',
  );
  out.push("</svg>");
  return out.join("\n") + "\n";
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot chart: ${cmd} ${args.join(" ")} failed (exit ${out.code})`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const here = new URL(".", import.meta.url).pathname;
  // The load before the run tells whether other work shared the cores
  // (the run itself loads both).
  let load: string | undefined;
  try {
    load = (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
  } catch {
    load = undefined; // not Linux: the footnote leaves it out
  }
  console.error("Running bench/speedup_bench.ts …");
  const bench = parseBench(
    await run(Deno.execPath(), [
      "bench",
      "--allow-all",
      "--json",
      `${here}speedup_bench.ts`,
    ]),
  );
  let python: ChartData["python"];
  try {
    console.error("Running bench/peers/python_pool.py …");
    python = JSON.parse(
      await run("python3", [
        `${here}peers/python_pool.py`,
        String(Math.max(...bench.speedup.keys())),
      ]),
    );
  } catch (err) {
    console.error(`Python's Pool not measured: ${(err as Error).message}`);
  }
  const svg = renderSvg(
    { ...bench, python, load },
    new Date().toISOString().slice(0, 10),
  );
  await Deno.writeTextFile(`${here}speedup.svg`, svg);
  console.error(`Wrote ${here}speedup.svg`);
}
