/**
 * The core module with `Pool` and `Queue` backed by a Redis broker, so a
 * program outgrows one machine by changing its import:
 *
 * ```ts ignore
 * import * as mp from "jsr:@seed/multiprocessing/cluster";
 *
 * export function render(frame: number) {
 *   return frame * 2;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new mp.Pool(4, { broker: "redis://10.0.0.5:6379", name: "render" });
 *   console.log(await pool.map(render, [1, 2, 3])); // [2, 4, 6]
 * }
 * ```
 *
 * More machines join with the worker command (`./worker`):
 *
 * ```sh
 * deno run -A jsr:@seed/multiprocessing/worker --broker redis://10.0.0.5:6379 --name render --processes 8
 * ```
 *
 * Tasks travel on a Redis stream read by a consumer group of worker
 * hosts. Each host runs them in a local {@linkcode Pool} of the core
 * module. Functions travel by reference (module and export name); a
 * host imports only modules under the roots it allows, and runs a
 * function shipped by its source only when started with
 * `--allow-source`. Delivery is at-least-once: a task whose host dies is
 * claimed by another after the visibility timeout; the caller gets each
 * result exactly once.
 *
 * @module
 */

export * from "../mod.ts";
import { Pool as LocalPool, type PoolOptions } from "./pool.ts";
import { ENGINE } from "./_pool/interface.ts";
import { CallerEngine } from "./_cluster/caller.ts";
import { checkBrokerUrl, type TlsOptions } from "./_cluster/broker.ts";
import { checkName, checkSeconds } from "./_cluster/options.ts";
import { cpuCount } from "./process.ts";

export { BrokerError, type TlsOptions } from "./_cluster/broker.ts";
export { type ClusterQueueOptions, Queue } from "./_cluster/queue.ts";

/** Options of the broker-backed {@linkcode Pool}. */
export interface ClusterPoolOptions
  extends Omit<PoolOptions, "initializer" | "initargs"> {
  /** The broker: `redis://[user:password@]host:port[/db]` or `rediss://` (TLS). */
  broker: string | URL;
  /**
   * The cluster's name: pools and worker hosts of the same name share
   * tasks.
   *
   * @default {"default"}
   */
  name?: string;
  /**
   * Local worker processes this program adds to the cluster (0: a pure
   * client; other machines run the worker command).
   *
   * @default {cpuCount()}
   */
  processes?: number;
  /**
   * Seconds a task taken by a worker host may go without that host's
   * heartbeat before another host claims it (the first host is presumed
   * dead). Hosts renew their tasks' claims every 250 ms while they run.
   *
   * @default {30}
   */
  visibilityTimeout?: number;
  /**
   * Times a task may lose its worker host (the host died while running
   * it) before it fails with `WorkerLostError` instead of running again.
   *
   * @default {3}
   */
  maxDeaths?: number;
  /**
   * Seconds this pool's keys outlive its last sign of life (it renews
   * them while it runs). When the program dies, its queued tasks are
   * skipped by the hosts and its result stream expires after this long.
   *
   * @default {60}
   */
  expire?: number;
  /**
   * Seconds to keep trying an unreachable broker before every waiting
   * task fails with `BrokerError`.
   *
   * @default {10}
   */
  brokerTimeout?: number;
  /** TLS settings of a `rediss://` broker (certificates to trust). */
  tls?: TlsOptions;
}

/**
 * A `Pool` whose tasks run on worker hosts anywhere, through a Redis
 * broker: the same API, options and error classes as the core
 * {@linkcode LocalPool | Pool} (`apply`, `applyAsync`, the map family,
 * `AsyncResult`, `close`/`join`/`terminate`, `await using`, `stats()`,
 * `onProgress`, per-call `signal` and `timeout`).
 *
 * `stats()` counts as `queued` the tasks not yet written to the broker,
 * as `running` those written and not finished (waiting for a host or
 * running on one), and as `workers` the processes of the live hosts of
 * this `name` (at least this pool's own).
 *
 * Requires `--allow-net` (the broker) and `--allow-read` (the modules
 * whose exports it looks functions up in).
 *
 * @example Map over a cluster, with two local workers
 * ```ts ignore
 * import * as mp from "@seed/multiprocessing/cluster";
 *
 * export function square(n: number) {
 *   return n * n;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new mp.Pool(2, { broker: "redis://127.0.0.1:6379" });
 *   console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 * }
 * ```
 */
export class Pool extends LocalPool {
  #processes: number;

  /**
   * Connects to the broker (in the background: tasks wait for it) and
   * starts the local worker processes.
   *
   * @param processes Local worker processes, or the options.
   * @param options The broker, name and the rest.
   * @throws {TypeError} When `broker` is not a redis:// or rediss:// URL,
   *   or `name` is not a simple name.
   * @throws {RangeError} When a number is out of range.
   */
  constructor(
    processes: number | ClusterPoolOptions,
    options?: ClusterPoolOptions,
  ) {
    const opts: ClusterPoolOptions = typeof processes === "object" &&
        processes !== null
      ? processes
      : { ...(options as ClusterPoolOptions), processes };
    const made = prepare(opts);
    super(made.hint, made.core);
    this.#processes = made.processes;
  }

  /** The local worker processes this program adds to the cluster. */
  override get processes(): number {
    return this.#processes;
  }
}

function prepare(
  opts: ClusterPoolOptions,
): { processes: number; hint: number; core: PoolOptions } {
  const what = "make a broker pool";
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(
      `Cannot ${what}: the options with a 'broker' URL are required, e.g. new Pool(4, { broker: "redis://127.0.0.1:6379" })`,
    );
  }
  const broker = checkBrokerUrl(opts.broker, what);
  const name = checkName(opts.name ?? "default", what);
  const processes = opts.processes ?? cpuCount();
  if (!Number.isInteger(processes) || processes < 0) {
    throw new RangeError(
      `Cannot ${what}: 'processes' must be an integer >= 0, got ${
        String(processes)
      }`,
    );
  }
  const loose = opts as PoolOptions;
  if (loose.initializer !== undefined) {
    throw new TypeError(
      `Cannot ${what}: 'initializer' is not supported on a broker pool; do the set-up at the top of the module that exports the task function (each host imports it once)`,
    );
  }
  const engine = new CallerEngine({
    broker,
    name,
    processes,
    visibilityTimeout: checkSeconds(
      opts.visibilityTimeout ?? 30,
      "visibilityTimeout",
      what,
      1,
    ),
    maxDeaths: checkCount(opts.maxDeaths ?? 3, "maxDeaths", what),
    expire: checkSeconds(opts.expire ?? 60, "expire", what, 1),
    brokerTimeout: checkSeconds(
      opts.brokerTimeout ?? 10,
      "brokerTimeout",
      what,
      0.1,
    ),
    local: {
      startMethod: opts.startMethod,
      permissions: opts.permissions,
      maxtasksperchild: opts.maxtasksperchild,
    },
    tls: opts.tls,
  });
  // Chunking as for a pool of at least 8 workers: hosts join at any time.
  const hint = Math.max(processes, 8);
  const {
    broker: _b,
    name: _n,
    visibilityTimeout: _v,
    maxDeaths: _m,
    expire: _e,
    brokerTimeout: _t,
    tls: _tls,
    ...rest
  } = opts;
  return {
    processes,
    hint,
    core: { ...rest, processes: hint, [ENGINE]: engine } as PoolOptions,
  };
}

function checkCount(value: number, option: string, what: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot ${what}: '${option}' must be a positive integer, got ${
        String(value)
      }`,
    );
  }
  return value;
}
