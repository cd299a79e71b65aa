/**
 * The broker pool: `Pool.map` over a Redis broker, with two local worker
 * processes. More machines join with the worker command:
 *
 *   deno run -A lib/worker.ts --broker redis://127.0.0.1:6379 --name example
 *
 * Run: deno task example:cluster   (starts a redis-server on a free port
 * when one is installed), or, against your own Redis:
 *   deno run -A examples/cluster_map.ts redis://127.0.0.1:6379
 */
import * as mp from "../lib/cluster.ts";

export function square(n: number): number {
  return n * n;
}

async function withRedis(run: (url: string) => Promise<void>): Promise<void> {
  if (Deno.args[0] !== undefined) return await run(Deno.args[0]);
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  let redis: Deno.ChildProcess;
  try {
    redis = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", ""],
      stdout: "null",
    }).spawn();
  } catch {
    console.error(
      "redis-server is not installed (apt-get install -y redis-server); or pass a broker URL",
    );
    Deno.exit(1);
  }
  try {
    await new Promise((r) => setTimeout(r, 300));
    await run(`redis://127.0.0.1:${port}`);
  } finally {
    redis.kill();
    await redis.status;
  }
}

if (import.meta.main) {
  await withRedis(async (broker) => {
    await using pool = new mp.Pool(2, { broker, name: "example" });
    console.log(await pool.map(square, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    for await (const sq of pool.imap(square, [11, 12, 13])) console.log(sq);
    console.log(pool.stats());
    await using q = new mp.Queue<string>({ broker, name: "example" });
    await q.put("hello from the broker");
    console.log(await q.get({ timeout: 5 }));
  });
}
