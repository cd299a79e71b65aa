/**
 * The line-based TCP plumbing the two socket-server examples share
 * (`socket_server_process.ts`, `socket_server_pool.ts`): read a request
 * line, write an answer, accept connections until the listener closes,
 * and play a client. Not an example itself.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads one `\n`-terminated line (without the `\n`), or up to EOF. */
export async function readLine(conn: Deno.Conn): Promise<string> {
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

/** Writes `line` and a `\n` (looping: a single `write` may be short). */
export async function writeLine(conn: Deno.Conn, line: string): Promise<void> {
  const data = encoder.encode(`${line}\n`);
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Accepts connections until the listener is closed, serving each with
 * `handle` (which closes it); then waits for those in progress.
 */
export async function serve(
  listener: Deno.Listener,
  handle: (conn: Deno.Conn) => Promise<void>,
): Promise<void> {
  const handlers = new Set<Promise<void>>();
  try {
    for await (const conn of listener) {
      const h = handle(conn).catch((e) => console.error("handler:", e));
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.BadResource)) throw e;
  }
  await Promise.all(handlers); // let connections in progress finish
}

/** One client: sends a line, returns the server's answer. */
export async function client(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeLine(conn, text);
    return await readLine(conn);
  } finally {
    conn.close();
  }
}
