/**
 * Callbacks: fetch pages in a pool and handle each result (or error) as
 * it arrives. A local HTTP server stands in for the crawled sites.
 *
 * Run: deno run --allow-all examples/pool_callbacks.ts
 */
import * as mp from "../mod.ts";

export async function fetchLength(url: string): Promise<[string, number]> {
  const res = await fetch(url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${url} answered ${res.status}`);
  }
  return [url, (await res.text()).length];
}

if (import.meta.main) {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/missing") return new Response("no", { status: 404 });
      return new Response("x".repeat(path.length * 100));
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const urls = ["/", "/about", "/blog/post-1", "/missing"].map((p) => base + p);

  await using pool = new mp.Pool(2);
  const results = urls.map((url) =>
    pool.applyAsync(fetchLength, [url], undefined, {
      callback: ([u, n]) => console.log(`ok    ${u}: ${n} bytes`),
      errorCallback: (e) => console.log(`error ${(e as Error).message}`),
    })
  );
  for (const r of results) await r.wait();
  await server.shutdown();
}
