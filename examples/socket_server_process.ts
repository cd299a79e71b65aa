/**
 * A TCP server that hands each connection's request to a new `Process`:
 * the seeds' "socket server, one process per client", in Deno.
 *
 * Run: `deno run --allow-all examples/socket_server_process.ts`
 *
 * The parent listens on 127.0.0.1 (port 0, so the kernel picks a free
 * port), accepts each connection and reads the client's request line. A
 * new `Process` computes the answer and sends it back through a one-way
 * `Pipe()`; the parent writes it to the client and closes the connection.
 * The same program then plays three clients on loopback, prints their
 * answers and shuts the server down, so it runs to completion by itself.
 *
 * Why the connection itself is not handed over: Python's `multiprocessing`
 * can pass a socket to a child because it duplicates the OS file
 * descriptor into it (`SCM_RIGHTS` over a Unix socket, or `fork`, which
 * inherits every descriptor). Deno has neither: `Deno.Conn` is a resource
 * id valid only in the isolate that opened it, it cannot be posted to a
 * worker, `Deno.Command` cannot pass extra descriptors to a child, and
 * there is no API to send a descriptor over a Unix socket. So the parent
 * keeps the socket and does the I/O, and the process does the work: only
 * the request's bytes and the answer cross the process boundary. For real
 * CPU work that is the expensive part anyway; for work that is all I/O,
 * plain `async` handlers in the parent are the better tool.
 *
 * @module
 */

import * as mp from "../mod.ts";
import { client, readLine, serve, writeLine } from "./_line_server.ts";

/**
 * The work done in the child: answers `text` upper-cased and reversed,
 * tagged with the child's name, through the send-only end `out`.
 */
export function answer(out: mp.Connection, text: string): void {
  const reply = [...text.toUpperCase()].reverse().join("");
  out.sendSync(`${reply} (from ${mp.currentProcess().name})`);
  out.close();
}

/** Serves one connection: read the request, let a new process answer. */
async function handle(conn: Deno.Conn): Promise<void> {
  try {
    const request = await readLine(conn);
    const [rx, tx] = mp.Pipe(false); // receive end, send end
    const p = new mp.Process({ target: answer, args: [tx, request] });
    p.start();
    // Python's idiom: now only the child holds the send end, so a child
    // that dies before answering ends the recv with EOFError.
    tx.close();
    try {
      const reply = await rx.recv({ timeout: 10 });
      await writeLine(conn, String(reply));
    } finally {
      await p.join();
      rx.close();
    }
  } finally {
    conn.close();
  }
}

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  console.log(`server: listening on 127.0.0.1:${port}`);
  const server = serve(listener, handle);

  const requests = ["hello world", "multiprocessing", "deno"];
  const answers = await Promise.all(requests.map((t) => client(port, t)));
  requests.forEach((t, i) => console.log(`client: ${t} -> ${answers[i]}`));

  listener.close(); // ends the accept loop
  await server;
  console.log("server: shut down");
}
