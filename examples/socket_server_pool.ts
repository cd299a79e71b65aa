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
import { client, readLine, serve, writeLine } from "./_line_server.ts";

/** How many connections are served at once. */
const N = 2;
/** CPU time each request costs in a worker, in milliseconds. */
const WORK_MS = 300;

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
        await writeLine(conn, reply);
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

if (import.meta.main) {
  await using pool = new mp.Pool(2);
  await pool.apply(work, ["warm-up", 0]); // start the workers first
  const slots = new mp.Semaphore(N);

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  console.log(`${stamp()} server: listening on 127.0.0.1:${port}, N = ${N}`);
  const server = serve(listener, (conn) => handle(conn, pool, slots));

  const names = ["client-1", "client-2", "client-3", "client-4", "client-5"];
  const answers = await Promise.all(names.map((n) => client(port, n)));
  names.forEach((n, i) => console.log(`${n} got: ${answers[i]}`));

  listener.close(); // ends the accept loop
  await server;
  console.log(`at most ${maxInService} clients were served at once`);
}
