/**
 * The worker host command: joins this machine to a broker `Pool`'s
 * cluster and runs its tasks in local worker processes.
 *
 * ```sh
 * deno run -A jsr:@seed/multiprocessing/worker --broker redis://10.0.0.5:6379 --name render --processes 8
 * ```
 *
 * Run it in the directory of the program's code: functions are found by
 * module and export name, and a `file:` module under the caller's working
 * directory is looked up under the host's. `--help` lists the options.
 *
 * @module
 */

import { parseArgs } from "npm:deno-std@1.4.0/cli/parse_args.js";
import { HostRunner } from "./_cluster/host.ts";
import { checkBrokerUrl, redactUrl } from "./_cluster/broker.ts";
import { checkName, checkSeconds } from "./_cluster/options.ts";
import { cpuCount } from "./process.ts";

/** What `--help` prints. */
export const HELP: string =
  `Usage: deno run -A jsr:@seed/multiprocessing/worker --broker URL [options]

Joins this machine to the cluster of broker Pools named --name and runs
their tasks in local worker processes. Run it in the directory that holds
the program's code: tasks name their function by module and export, and
a module under the caller's working directory is looked up under this
one's. Stop it with Ctrl-C or SIGTERM: it finishes the tasks in hand.

Options:
  --broker URL           redis://[user:password@]host:port[/db] or rediss://
                         (TLS); required
  --name NAME            cluster name, as the Pool's 'name' (default: default)
  --processes N          local worker processes (default: CPU count)
  --start-method M       worker | subprocess (default: worker; subprocess
                         when permissions are limited)
  --permissions P        inherit | none: the Deno permissions of each local
                         worker process (none implies subprocess)
  --allow-read PATHS     with --permissions none: paths tasks may read
                         (comma-separated; repeatable)
  --allow-net HOSTS      with --permissions none: hosts tasks may reach
                         (comma-separated; repeatable)
  --allow-module ROOTS   directories or URL prefixes whose modules tasks may
                         name (comma-separated; repeatable; default: the
                         working directory)
  --allow-source         also run functions shipped by their source (anyone
                         who can write to the broker can then run any code
                         here); off by default
  --tls-ca FILE          with a rediss:// broker: a PEM certificate to trust
                         (the CA of a private Redis server)
  --broker-timeout S     seconds to keep trying an unreachable broker
                         (default: 10)
  -h, --help             show this help
`;

/** Settings parsed from the command line. */
export interface WorkerArgs {
  /** Broker URL. */
  broker: string;
  /** Cluster name. */
  name: string;
  /** Local worker processes. */
  processes: number;
  /** How they start. */
  startMethod: "worker" | "subprocess";
  /** Their permissions. */
  permissions: Deno.PermissionOptions;
  /** Module roots (URL prefixes). */
  roots: string[];
  /** Whether source-shipped functions may run. */
  allowSource: boolean;
  /** Seconds to keep trying the broker. */
  brokerTimeout: number;
  /** A certificate file to trust (rediss://). */
  tlsCa?: string;
}

const STRINGS = [
  "broker",
  "name",
  "processes",
  "start-method",
  "permissions",
  "allow-read",
  "allow-net",
  "allow-module",
  "broker-timeout",
  "tls-ca",
];

/**
 * Parses and checks the command line.
 *
 * @param argv The arguments (without the program).
 * @returns The settings, or `"help"`.
 * @throws {TypeError} With a message for the user when an option is
 *   missing, unknown or malformed.
 */
export function parseWorkerArgs(argv: string[]): WorkerArgs | "help" {
  const what = "start the worker host";
  const a = readFlags(argv, what);
  if (a === "help") return "help";
  if (a.broker === undefined) {
    throw new TypeError(
      `Cannot ${what}: --broker is required, e.g. --broker redis://127.0.0.1:6379`,
    );
  }
  const broker = checkBrokerUrl(a.broker, what, "--broker");
  const name = checkName(a.name ?? "default", what);
  const processes = a.processes === undefined
    ? cpuCount()
    : Number(a.processes);
  if (!Number.isInteger(processes) || processes < 1) {
    throw new RangeError(
      `Cannot ${what}: --processes must be a positive integer, got "${a.processes}"`,
    );
  }
  const brokerTimeout = checkSeconds(
    a["broker-timeout"] === undefined ? 10 : Number(a["broker-timeout"]),
    "--broker-timeout",
    what,
    0.1,
  );
  const cwd = `file://${Deno.cwd().replace(/\/?$/, "/")}`;
  const moduleArgs = splitList(a["allow-module"]);
  const roots = moduleArgs.length === 0
    ? [cwd]
    : moduleArgs.map((r) => toRoot(r, cwd));
  return {
    broker,
    name,
    processes,
    ...localWorkers(a, roots, what),
    roots,
    allowSource: a["allow-source"] === true,
    brokerTimeout,
    tlsCa: a["tls-ca"],
  };
}

/** The command line as flags, checked for unknown and empty ones. */
function readFlags(argv: string[], what: string) {
  const unknown: string[] = [];
  const a = parseArgs(argv, {
    string: STRINGS,
    boolean: ["allow-source", "help"],
    collect: ["allow-read", "allow-net", "allow-module"],
    alias: { h: "help" },
    unknown: (arg: string) => {
      unknown.push(arg);
      return false;
    },
  });
  if (a.help) return "help";
  if (unknown.length > 0) {
    throw new TypeError(
      `Cannot ${what}: unknown option '${unknown[0]}'; see --help`,
    );
  }
  for (const key of STRINGS) {
    const v = (a as Record<string, unknown>)[key];
    const list = Array.isArray(v) ? v : [v];
    if (list.some((x) => x === "")) {
      throw new TypeError(`Cannot ${what}: --${key} needs a value`);
    }
  }
  return a;
}

/** How the local workers run: `--permissions`, `--start-method`, `--allow-*`. */
function localWorkers(
  a: Exclude<ReturnType<typeof readFlags>, "help">,
  roots: string[],
  what: string,
): Pick<WorkerArgs, "startMethod" | "permissions"> {
  const perm = a.permissions ?? "inherit";
  if (perm !== "inherit" && perm !== "none") {
    throw new TypeError(
      `Cannot ${what}: --permissions must be "inherit" or "none", got "${perm}"`,
    );
  }
  const reads = splitList(a["allow-read"]);
  const nets = splitList(a["allow-net"]);
  if (perm === "inherit" && (reads.length > 0 || nets.length > 0)) {
    throw new TypeError(
      `Cannot ${what}: --allow-read and --allow-net narrow --permissions none; add --permissions none`,
    );
  }
  const startMethod = a["start-method"] ??
    (perm === "none" ? "subprocess" : "worker");
  if (startMethod !== "worker" && startMethod !== "subprocess") {
    throw new TypeError(
      `Cannot ${what}: --start-method must be "worker" or "subprocess", got "${startMethod}"`,
    );
  }
  if (perm === "none" && startMethod === "worker") {
    throw new TypeError(
      `Cannot ${what}: --permissions none needs --start-method subprocess (a worker thread shares this process's permissions)`,
    );
  }
  if (perm === "inherit") return { startMethod, permissions: "inherit" };
  // Local workers must read the modules they import.
  const fileRoots = roots.filter((r) => r.startsWith("file:")).map((r) =>
    decodeURIComponent(new URL(r).pathname)
  );
  const permissions = {
    read: [...reads, ...fileRoots],
    net: nets.length === 0 ? false : nets,
    import: true,
  } as Deno.PermissionOptions;
  return { startMethod, permissions };
}

function splitList(v: unknown): string[] {
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.flatMap((x) => String(x).split(",")).map((x) => x.trim())
    .filter((x) => x !== "");
}

/** A module root as a URL prefix (directories end in "/"). */
function toRoot(root: string, cwd: string): string {
  if (/^(https?|jsr|npm):/.test(root)) return root;
  const url = new URL(root, cwd).href;
  return url.endsWith("/") ? url : `${url}/`;
}

/**
 * Runs the command: parses `argv`, serves until SIGINT/SIGTERM.
 *
 * @param argv The arguments.
 * @returns The exit code.
 */
export async function main(argv: string[]): Promise<number> {
  let args: WorkerArgs | "help";
  try {
    args = parseWorkerArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (args === "help") {
    console.log(HELP);
    return 0;
  }
  let host: HostRunner;
  try {
    host = await HostRunner.start({
      broker: args.broker,
      brokerTimeout: args.brokerTimeout,
      tls: args.tlsCa === undefined
        ? undefined
        : { ca: await Deno.readTextFile(args.tlsCa) },
      name: args.name,
      processes: args.processes,
      local: { startMethod: args.startMethod, permissions: args.permissions },
      roots: args.roots,
      allowSource: args.allowSource,
      log: (line) => console.error(line),
    });
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  console.error(
    `worker host ${host.id}: serving '${args.name}' on ${
      redactUrl(args.broker)
    } with ${args.processes} ${args.startMethod} processes`,
  );
  let signals = 0;
  const stop = () => {
    // The first signal finishes the tasks in hand; a second one leaves
    // them to other hosts at once.
    if (++signals === 1) host.stop(true);
    else Deno.exit(130);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, stop);
  }
  await host.done;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.removeSignalListener(sig, stop);
  }
  return host.failure === null ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
