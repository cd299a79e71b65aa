/**
 * A remote manager: one OS process serves a job queue and a results dict
 * over TCP; another connects with the address and authkey and uses them.
 *
 * This one script plays both parts. Run without arguments, it starts a
 * copy of itself with `Deno.Command` as the server (`serve` argument),
 * reads the server's address from the child's stdout, connects on
 * loopback and works with the published objects; closing the child's
 * stdin tells the server to shut down. To run the parts yourself, in two
 * terminals:
 *
 * ```sh
 * deno run --allow-all examples/manager_remote.ts serve   # prints the address
 * deno run --allow-all examples/manager_remote.ts connect <port>
 * ```
 *
 * Run: `deno run --allow-all examples/manager_remote.ts` (needs
 * `--allow-net` and `--allow-run`)
 *
 * @module
 */

import * as mp from "../mod.ts";

const AUTHKEY = "example secret";

/** The server part: publishes "jobs" and "results", serves until stdin closes. */
async function serve(): Promise<void> {
  const server = await mp.serveManager({
    address: ["127.0.0.1", 0],
    authkey: AUTHKEY,
  });
  await server.register("jobs", await server.Queue<number>());
  await server.register("results", await server.dict<number, number>());
  console.log(JSON.stringify(server.address));
  // Serve until whoever started us closes our stdin (or ^D in a terminal).
  const buf = new Uint8Array(64);
  while (await Deno.stdin.read(buf) !== null) {
    // Ignore input.
  }
  await server.shutdown();
}

/** The client part: squares the jobs it finds and stores the results. */
async function connect(address: mp.ManagerAddress): Promise<void> {
  const m = await mp.connectManager({ address, authkey: AUTHKEY });
  const jobs = await m.get<mp.QueueProxy<number>>("jobs");
  const results = await m.get<mp.DictProxy<number, number>>("results");
  for (let i = 1; i <= 5; i++) await jobs.put(i);
  while (!await jobs.empty()) {
    const n = await jobs.get();
    await results.set(n, n * n);
  }
  console.log("results:", await results.toObject());
  await m.shutdown(); // closes our connection; the server goes on
}

if (import.meta.main) {
  const [mode, port] = Deno.args;
  if (mode === "serve") {
    await serve();
  } else if (mode === "connect") {
    await connect(["127.0.0.1", Number(port)]);
  } else {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", import.meta.filename!, "serve"],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("Cannot start the server: it ended early");
      line += value;
    }
    const address = JSON.parse(line) as mp.ManagerAddress;
    console.log(`server (pid ${child.pid}) listens on ${address.join(":")}`);
    await connect(address);
    await child.stdin.close();
    await reader.cancel();
    console.log("server exited with", (await child.status).code);
  }
}
