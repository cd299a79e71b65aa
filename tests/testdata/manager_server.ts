/**
 * A program that serves a manager for the remote-manager test: it
 * publishes a dict ("shared") and a queue ("jobs"), prints its address
 * as JSON on stdout, and shuts down when its stdin closes.
 *
 * Usage: deno run -A manager_server.ts <authkey>
 *
 * @module
 */

import { serveManager } from "../../mod.ts";

const server = await serveManager({ authkey: Deno.args[0] });
const shared = await server.dict<string, unknown>({ greeting: "hello" });
await server.register("shared", shared);
await server.register("jobs", await server.Queue<string>());
console.log(JSON.stringify({ address: server.address, pid: Deno.pid }));

// Serve until the parent closes our stdin.
const buf = new Uint8Array(64);
while (await Deno.stdin.read(buf) !== null) {
  // Ignore input.
}
await server.shutdown();
