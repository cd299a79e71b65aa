/**
 * A private `redis-server` for one test file: a free loopback port,
 * persistence off, a temporary directory; stopped by `stop()`. Also
 * starts worker hosts as real OS processes through the worker command.
 */

import * as mp from "../../lib/cluster.ts";
import { type DenoRun, runDenoArgs } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url);
const WORKER = new URL("../../lib/worker.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** A running redis-server. */
export interface Redis {
  port: number;
  /** `redis://127.0.0.1:<port>` (with user:pass@ when made with acl). */
  url: string;
  /** With `tls`: the PEM certificate to trust. */
  ca?: string;
  /** Runs redis-cli against it; returns its stdout. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts redis-server, failing (never skipping) when it is not installed.
 *
 * @param extra More redis-server options (e.g. an ACL user).
 */
export async function startRedis(
  extra: string[] = [],
  { tls = false } = {},
): Promise<Redis> {
  const dir = await Deno.makeTempDir({ prefix: "mp_redis_" });
  const port = freePort();
  let ca: string | undefined;
  let listen = ["--port", String(port)];
  let cliTls: string[] = [];
  if (tls) {
    // A self-signed certificate for 127.0.0.1, trusted through `ca`.
    const made = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!made.success) {
      throw new Error(
        `Cannot make a test certificate: ${
          new TextDecoder().decode(made.stderr)
        }`,
      );
    }
    ca = `${dir}/cert.pem`;
    listen = [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--tls-cert-file",
      ca,
      "--tls-key-file",
      `${dir}/key.pem`,
      "--tls-auth-clients",
      "no",
    ];
    cliTls = ["--tls", "--cacert", ca];
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args: [
        ...listen,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        ...extra,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        "Cannot run the cluster tests: redis-server is not installed; install it with `apt-get install -y redis-server` (Debian/Ubuntu)",
      );
    }
    throw err;
  }
  const cli = async (...args: string[]) => {
    const out = await new Deno.Command("redis-cli", {
      args: [...cliTls, "-p", String(port), ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  for (let i = 0;; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      break;
    } catch {
      if (i > 200) throw new Error("redis-server did not start");
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    port,
    url: `${tls ? "rediss" : "redis"}://127.0.0.1:${port}`,
    ca,
    cli,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A worker host started with the worker command. */
export interface Host {
  pid: number;
  /** Everything it wrote to stderr so far. */
  log(): string;
  kill(signal?: Deno.Signal): void;
  /** Its exit code, once it ended. */
  status: Promise<Deno.CommandStatus>;
}

/**
 * Starts `lib/worker.ts` and waits until it serves.
 *
 * @param args Its arguments.
 */
export async function startHost(args: string[]): Promise<Host> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "--config", CONFIG, WORKER, ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const serving = Promise.withResolvers<void>();
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += dec.decode(chunk, { stream: true });
      if (text.includes("serving")) serving.resolve();
    }
    serving.reject(new Error(`worker host exited early:\n${text}`));
  })();
  const status = child.status.then(async (s) => {
    await reading;
    return s;
  });
  await serving.promise;
  return {
    pid: child.pid,
    log: () => text,
    kill: (signal = "SIGTERM") => {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    },
    status,
  };
}

/**
 * Runs the worker command to its end.
 *
 * @param args Its arguments.
 */
export function runWorkerCommand(args: string[]): Promise<DenoRun> {
  return runDenoArgs(
    ["run", "-A", "--no-check", "--config", CONFIG, WORKER, ...args],
    { cwd: ROOT },
  );
}

/** A private redis-server with worker hosts on one cluster, for one test. */
export interface Cluster extends AsyncDisposable {
  redis: Redis;
  /** The hosts, started with {@linkcode Cluster.hostArgs}. */
  hosts: Host[];
  /** `--broker <url> --name <name> --processes <n>` and the extra flags. */
  hostArgs: string[];
  /** A temporary directory, removed at the end. */
  dir: string;
}

/**
 * Starts redis-server, a temporary directory and `hosts` worker hosts of
 * cluster `name`. `await using` kills the hosts (`SIGTERM`, unless a test
 * has ended them already) and waits for them, removes the directory and
 * stops redis-server, however the test ends.
 *
 * @param name The cluster name.
 * @param opts How many hosts, their `--processes` and extra flags.
 */
export async function startCluster(
  name: string,
  { hosts = 1, processes = 1, flags = [] as string[], tls = false } = {},
): Promise<Cluster> {
  const redis = await startRedis([], { tls });
  const dir = await Deno.makeTempDir({ prefix: "mp_cluster_" });
  const hostArgs = [
    ...["--broker", redis.url, "--name", name],
    ...["--processes", String(processes), ...flags],
    ...(tls ? ["--tls-ca", redis.ca!] : []),
  ];
  const started = await Promise.allSettled(
    Array.from({ length: hosts }, () => startHost(hostArgs)),
  );
  const up = started.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  const cluster: Cluster = {
    redis,
    hosts: up,
    hostArgs,
    dir,
    async [Symbol.asyncDispose]() {
      for (const h of up) h.kill();
      await Promise.all(up.map((h) => h.status));
      await Deno.remove(dir, { recursive: true });
      await redis.stop();
    },
  };
  const failed = started.find((r) => r.status === "rejected");
  if (failed !== undefined) {
    await cluster[Symbol.asyncDispose]();
    throw failed.reason;
  }
  return cluster;
}

/** The task functions of the cluster tests and bench. */
export const TASKS: URL = new URL("./cluster_tasks.ts", import.meta.url);

/**
 * A task function of {@linkcode TASKS}, by name.
 *
 * @param name Its export name.
 */
export const fn = (name: string): { module: URL; name: string } => ({
  module: TASKS,
  name,
});

/**
 * A broker pool on cluster `name` of `redis`, running {@linkcode TASKS}.
 *
 * @param redis The broker.
 * @param name The cluster name.
 * @param processes Its local worker processes.
 * @param opts More options.
 */
export const poolOn = (
  redis: Redis,
  name: string,
  processes: number,
  opts: Omit<mp.ClusterPoolOptions, "broker" | "name"> = {},
): mp.Pool =>
  new mp.Pool(processes, { broker: redis.url, name, module: TASKS, ...opts });

/**
 * How many lines a file a task appends to has (0 when it does not exist).
 *
 * @param path The file.
 */
export async function lines(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).split("\n").length - 1;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}
