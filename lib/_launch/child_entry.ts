/**
 * The entry module of every `deno` child (`"subprocess"` start method): a
 * `Process`'s, or a pool worker's. It reads the parent's port and token
 * from stdin, connects, receives its init frame, and hands it with a
 * frame-based port to the shared runner (`_launch/runner.ts`). See
 * `_launch/child_spawn.ts` for the drawing of the exchange.
 *
 * It imports the registry of shareable classes (`_launch/shareables.ts`)
 * first, so the primitives among its arguments can be revived; those
 * that live in the parent's shared memory arrive as stand-ins the parent
 * serves (`_served/proxy.ts`), registered by `connectServed` below, after
 * every import, so that they win over the parent side's reviver of the
 * same tag. (A child starts in a new `deno` process, so loading the
 * library here is a small part of its start; a worker thread's entry
 * loads it lazily.)
 *
 * @module
 */

import "./shareables.ts";
import { encodeFrame, FrameChannel } from "./frames.ts";
import type { PoolInit, ProcessInit, TasksMessage } from "./protocol.ts";
import { runChild } from "./runner.ts";
import { runProcess } from "./run_process.ts";
import { markRegistryLoaded, servePool } from "./run_pool.ts";
import { connectServed, onServedReply } from "../_served/proxy.ts";
import type { ServedReply } from "../_served/spec.ts";

/** Slots of the liveness table (as `_common/runtime.ts` makes it). */
const TABLE_SLOTS = 1 << 16;

// This entry loaded the registry (`shareables.ts`) above.
markRegistryLoaded();

const realExit: (code?: number) => never = Deno.exit;
const stdin = Deno.stdin;
const chunk = new Uint8Array(4096);
const decoder = new TextDecoder();
let line = "";
while (!line.includes("\n")) {
  const n = await stdin.read(chunk);
  if (n === null) realExit(1);
  line += decoder.decode(chunk.subarray(0, n), { stream: true });
}
const { path, port, token } = JSON.parse(
  line.slice(0, line.indexOf("\n")),
) as { path?: string; port?: number; token: string };

// The parent holds our stdin open; EOF means it is gone, however it
// ended. Exit then, so no child outlives its program. (A child busy in
// synchronous code notices when it next yields; the parent also signals
// its children when it ends normally, on an uncaught error or SIGTERM.)
void (async () => {
  while ((await stdin.read(chunk)) !== null) {
    // Nothing else is sent on stdin.
  }
  realExit(1);
})();

const conn: Deno.Conn = path !== undefined
  ? await Deno.connect({ transport: "unix", path })
  : await Deno.connect({ hostname: "127.0.0.1", port: port! });
let listener: ((message: TasksMessage) => void) | null = null;
const early: TasksMessage[] = [];
let started = false;
const channel = new FrameChannel(conn, (message) => {
  if (!started) {
    started = true;
    void start(message as ProcessInit | PoolInit);
    return;
  }
  if ((message as { t?: unknown }).t === "srv-r") {
    onServedReply(message as ServedReply);
    return;
  }
  if (listener !== null) listener(message as TasksMessage);
  else early.push(message as TasksMessage);
});
channel.send(encodeFrame({ token }));
// Primitives the parent sent arrive as stand-ins that call it here.
connectServed({ send: (request) => channel.send(encodeFrame(request)) });
// The parent closed the connection: it ended this child's pool, or died.
channel.done.then(() => realExit(1));

function start(wire: ProcessInit | PoolInit): Promise<void> {
  // Shared memory does not cross: this child gets its own liveness table
  // (holding only itself, key 1) and its own state slots, which only its
  // own code reads.
  const table = new Int32Array(new SharedArrayBuffer(TABLE_SLOTS * 4));
  table[0] = 1;
  table[1] = 1;
  const init = {
    ...wire,
    runtime: { ...wire.runtime, table: table.buffer, key: 1 },
    state: new SharedArrayBuffer(8),
  } as ProcessInit | PoolInit;
  return runChild(init, {
    startMethod: "subprocess",
    postMessage: (message) => channel.send(encodeFrame(message)),
    onMessage: (fn) => {
      listener = fn;
      for (const m of early.splice(0)) fn(m);
    },
  }, { runProcess, servePool });
}
