/**
 * Ping-pong over a duplex `Pipe()` between the main process and a child,
 * then a one-way pipe read until `EOFError`.
 *
 * Run: `deno run --allow-all examples/pipe_pingpong.ts`
 *
 * @module
 */

import * as mp from "../mod.ts";

/** Answers each "ping n" with "pong n" until `null`. */
export function ponger(conn: mp.Connection): void {
  for (;;) {
    const msg = conn.recvSync();
    if (msg === null) break;
    conn.sendSync(String(msg).replace("ping", "pong"));
  }
  conn.close();
}

/** Sends a few lines through the send-only end, then closes it. */
export async function talker(w: mp.Connection): Promise<void> {
  for (const line of ["one", "two", "three"]) await w.send(line);
  w.close(); // the reader gets EOFError once it has read them
}

if (import.meta.main) {
  const [here, there] = mp.Pipe();
  const p = new mp.Process({ target: ponger, args: [there] });
  p.start();
  there.close(); // as in Python: the child holds its own handle of it
  for (let i = 0; i < 3; i++) {
    await here.send(`ping ${i}`);
    console.log(await here.recv());
  }
  await here.send(null);
  await p.join();
  here.close();

  const [r, w] = mp.Pipe(false); // Python's order: receive end first
  const t = new mp.Process({ target: talker, args: [w] });
  t.start();
  w.close(); // the child's handle stays open; EOF comes once it closes it
  for (;;) {
    try {
      console.log("read", await r.recv());
    } catch (e) {
      if (!(e instanceof mp.EOFError)) throw e;
      console.log("EOF: the writer closed its end");
      break;
    }
  }
  await t.join();
  r.close();
}
