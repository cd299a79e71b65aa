/**
 * The entry module of a manager's server process (Python's "manager
 * process"; see `_manager/child.ts`): runs a {@linkcode ManagerServer}
 * and nothing else. It imports only the server modules, never user code.
 *
 * Over stdin it gets one JSON line of options (the authkey in base64),
 * then `shutdown`; the end of stdin means the parent is gone, and the
 * server goes too. Over stdout it answers one JSON line:
 * `{ "t": "ready", "address": [host, port] }` or
 * `{ "t": "error", "name", "message" }` (it could not listen).
 *
 * @module
 */

import { logUncaughtErrors, ManagerServer } from "./server.ts";
import { hmacKey } from "./handshake.ts";
import { fromBase64 } from "./values.ts";

logUncaughtErrors();

// stdin is read with Deno.stdin.read, not its ReadableStream: setting up
// the streams costs a new process ~8 ms (measured), on the way to its
// first client.
const decoder = new TextDecoder();
const chunk = new Uint8Array(4096);
let pending = "";

/** The next line from the parent, or `null` once it is gone. */
async function nextLine(): Promise<string | null> {
  for (;;) {
    const at = pending.indexOf("\n");
    if (at >= 0) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      return line;
    }
    const n = await Deno.stdin.read(chunk).catch(() => null);
    if (n === null) return null;
    pending += decoder.decode(chunk.subarray(0, n), { stream: true });
  }
}

function say(message: unknown): void {
  Deno.stdout.writeSync(
    new TextEncoder().encode(`${JSON.stringify(message)}\n`),
  );
}

const first = await nextLine();
if (first === null) Deno.exit(0);
const options = JSON.parse(first);
const authkey = fromBase64(options.authkey);
// Imported while the parent connects, not during its handshake.
hmacKey(authkey).catch(() => {});
let server: ManagerServer;
try {
  server = new ManagerServer({ ...options, authkey });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  say({ t: "error", name: e.name, message: e.message });
  Deno.exit(1);
}
say({ t: "ready", address: server.address });
// Serve until told to stop, or until the parent is gone.
for (;;) {
  const line = await nextLine();
  if (line === null || line === "shutdown") break;
}
await server.close();
Deno.exit(0);
