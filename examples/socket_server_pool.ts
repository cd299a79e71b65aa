/**
 * A TCP server whose requests are computed by a `Pool(2)`, serving at most
 * N = 2 clients at once: the seeds' "socket server with a process pool".
 *
 * Run: `deno run --allow-all examples/socket_server_pool.ts`
 *
 * The parent listens on 127.0.0.1 (port 0), accepts every connection at
 * once, but a `Semaphore(2)` lets only two of them be served at a time;
 * the others wait, connected, until a slot frees up. A served connection's
 * request line goes to `pool.apply` (about 300 ms of CPU work in a pool
 * worker) and the answer goes back to the client. Five clients connect
 * together; the start/end lines, with milliseconds since the start, show
 * that no more than two are in service at any moment. Then the program
 * closes the listener and the pool, and exits.
 *
 * As in `socket_server_process.ts`, the socket stays in the parent: Deno
 * cannot hand an open connection to another process or worker, so only
 * the request's text and the answer cross over.
 *
 * @module
 */

import * as mp from "../mod.ts";

/** How many connections are served at once. */
const N = 2;
/** CPU time each request costs in a worker, in milliseconds. */
const WORK_MS = 300;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const t0 = performance.now();
const stamp = () => `[${(performance.now() - t0).toFixed(0).padStart(5)} ms]`;

/**
 * The pool task: spins about `ms` milliseconds of CPU, then answers `text`
 * upper-cased with the worker's name.
 */
export function work(text: string, ms: number): string {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return `${text.toUpperCase()} (by ${mp.currentProcess().name})`;
}

/** Reads one `\n`-terminated line (without the `\n`), or up to EOF. */
async function readLine(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(1024);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    const chunk = buf.slice(0, n);
    const nl = chunk.indexOf(10);
    if (nl >= 0) {
      chunks.push(chunk.subarray(0, nl));
      break;
    }
    chunks.push(chunk);
  }
  let text = "";
  for (const c of chunks) text += decoder.decode(c, { stream: true });
  return text + decoder.decode();
}

/** Writes all of `data` (a single `write` may be short). */
async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

let inService = 0;
let maxInService = 0;

/** Serves one connection once a slot is free. */
async function handle(
  conn: Deno.Conn,
  pool: mp.Pool,
  slots: mp.Semaphore,
): Promise<void> {
  try {
    await slots.acquire();
    try {
      const request = await readLine(conn);
      inService++;
      maxInService = Math.max(maxInService, inService);
      console.log(`${stamp()} start ${request}   (in service: ${inService})`);
      try {
        const reply = await pool.apply(work, [request, WORK_MS]);
        await writeAll(conn, encoder.encode(`${reply}\n`));
      } finally {
        inService--;
        console.log(`${stamp()} end   ${request}`);
      }
    } finally {
      slots.release();
    }
  } finally {
    conn.close();
  }
}

/** Accepts connections until the listener is closed. */
async function serve(
  listener: Deno.Listener,
  pool: mp.Pool,
  slots: mp.Semaphore,
): Promise<void> {
  const handlers = new Set<Promise<void>>();
  try {
    for await (const conn of listener) {
      const h = handle(conn, pool, slots).catch((e) =>
        console.error("handler:", e)
      );
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.BadResource)) throw e;
  }
  await Promise.all(handlers); // let connections in progress finish
}

/** One client: sends a line, returns the server's answer. */
async function client(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, encoder.encode(`${text}\n`));
    return await readLine(conn);
  } finally {
    conn.close();
  }
}

if (import.meta.main) {
  await using pool = new mp.Pool(2);
  await pool.apply(work, ["warm-up", 0]); // start the workers first
  const slots = new mp.Semaphore(N);

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  console.log(`${stamp()} server: listening on 127.0.0.1:${port}, N = ${N}`);
  const server = serve(listener, pool, slots);

  const names = ["client-1", "client-2", "client-3", "client-4", "client-5"];
  const answers = await Promise.all(names.map((n) => client(port, n)));
  names.forEach((n, i) => console.log(`${n} got: ${answers[i]}`));

  listener.close(); // ends the accept loop
  await server;
  console.log(`at most ${maxInService} clients were served at once`);
}
