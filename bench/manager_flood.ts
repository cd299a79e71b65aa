/**
 * A manager under a flood of strangers (issue 10.9): how much memory its
 * server holds while thousands of unauthenticated connections hit it.
 *
 * Run: deno run --allow-all bench/manager_flood.ts [total] [open]
 *
 * Starts `serveManager` in a child process (the remote-manager test's
 * server, loopback only), then opens `total` connections (default
 * 20,000) that never authenticate, at most `open` (default 10,000) at a
 * time, each kept open until its wave is done. Prints the server's
 * resident memory (VmRSS, from /proc) before, at the end of each wave
 * (and its peak, VmHWM), and after every connection closed; and how many
 * connections the server closed unread (refused over its cap).
 * Figures are in bench/RESULTS.md.
 *
 * @module
 */

const SERVER = new URL("../tests/testdata/manager_server.ts", import.meta.url);

const total = Number(Deno.args[0] ?? 20_000);
const open = Number(Deno.args[1] ?? 10_000);

function memory(pid: number): { rss: number; peak: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (name: string) =>
    Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

function mb(n: number): string {
  return `${n.toFixed(0)} MB`;
}

const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", SERVER.pathname, "0123456789abcdef-flood"],
  stdin: "piped",
  stdout: "piped",
}).spawn();
const line = await new Response(child.stdout).body!.getReader().read();
const { address, pid } = JSON.parse(new TextDecoder().decode(line.value));
const [hostname, port] = address as [string, number];
await new Promise((r) => setTimeout(r, 500));
console.log(`server pid ${pid}, before: RSS ${mb(memory(pid).rss)}`);

let refused = 0;
let done = 0;
const t0 = performance.now();
while (done < total) {
  const wave = Math.min(open, total - done);
  const conns: Deno.Conn[] = [];
  const reads: Promise<void>[] = [];
  // Connect in batches so the listener's backlog keeps up.
  for (let i = 0; i < wave; i += 500) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(500, wave - i) },
        () => Deno.connect({ hostname, port }).catch(() => null),
      ),
    );
    for (const c of batch) {
      if (c === null) continue;
      conns.push(c);
      // A refused connection ends without a byte.
      reads.push(
        c.read(new Uint8Array(256)).then((n) => {
          if (n === null) refused++;
        }, () => {}),
      );
    }
  }
  done += wave;
  await new Promise((r) => setTimeout(r, 200));
  const m = memory(pid);
  console.log(
    `${done} connections made (${conns.length} in this wave): server RSS ${
      mb(m.rss)
    }, peak ${mb(m.peak)}`,
  );
  for (const c of conns) c.close();
  await Promise.allSettled(reads);
}
await new Promise((r) => setTimeout(r, 1000));
const end = memory(pid);
console.log(
  `after: RSS ${mb(end.rss)}, peak ${
    mb(end.peak)
  }; ${refused} of ${total} closed unread; ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);
await child.stdin.close();
await child.status;
