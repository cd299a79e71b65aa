/**
 * Starting a manager's server for this program: the options of
 * `Manager()`, `serveManager()` and `connectManager()`, their checks, and
 * the choice of an OS process or a worker thread for the server.
 *
 * @module
 */

import { DEFAULT_MAX_FRAME } from "./wire.ts";
import { authkeyBytes, hmacKey } from "./handshake.ts";
import { ensureConnected, ServerId, watchServer } from "./client.ts";
import { ServerThread } from "./thread.ts";
import { canStartServerProcess, ServerProcess } from "./child.ts";
import {
  checkResourceLimits,
  type ResourceLimits,
} from "../_launch/worker_spawn.ts";
import type { ManagerAddress } from "./proxy.ts";

/** Options of {@linkcode Manager}. */
export interface ManagerOptions {
  /**
   * Where the server listens. Port `0` picks a free port; read it from
   * {@linkcode SyncManager.address}.
   *
   * @default {["127.0.0.1", 0]}
   */
  address?: ManagerAddress;
  /**
   * The shared secret every connection must prove it knows.
   *
   * @default {32 random bytes}
   */
  authkey?: string | Uint8Array;
  /**
   * The largest message a client may send, in bytes. A client that sends
   * a larger one is disconnected; a proxy refuses to send one.
   *
   * @default {67108864 (64 MiB)}
   */
  maxFrameSize?: number;
  /**
   * Memory limits of the server's process, in MiB (only
   * `maxOldGenerationSizeMb` applies). A server that runs out of memory
   * ends alone, not the program: every proxy call then rejects with an
   * `EOFError` saying the manager died and why.
   *
   * @default {V8's default heap limit}
   */
  resourceLimits?: ResourceLimits;
}

/** Options of {@linkcode serveManager}. */
export interface ServeManagerOptions extends ManagerOptions {
  /**
   * The shared secret: give the same to {@linkcode connectManager}.
   * Anyone who knows it can use every object of the manager.
   */
  authkey: string | Uint8Array;
}

/** Options of {@linkcode connectManager}. */
export interface ConnectManagerOptions {
  /** The server's address, as given to (or read from) `serveManager`. */
  address: ManagerAddress;
  /** The server's authkey. */
  authkey: string | Uint8Array;
}

function maxFrameOption(n: number | undefined): number {
  if (n === undefined) return DEFAULT_MAX_FRAME;
  if (!Number.isInteger(n) || n < 1024 || n > 0xffff_ffff) {
    throw new RangeError(
      `Cannot start the manager: maxFrameSize must be an integer from 1024 to 4294967295, got '${n}'`,
    );
  }
  return n;
}

/**
 * Checks an address option.
 *
 * @param a The option.
 * @param action What is being done, for the error message.
 * @returns The address (a copy), `["127.0.0.1", 0]` by default.
 * @throws {TypeError} When it is not `[hostname, port]`.
 */
export function addressOption(
  a: ManagerAddress | undefined,
  action: string,
): ManagerAddress {
  if (a === undefined) return ["127.0.0.1", 0];
  if (
    !Array.isArray(a) || a.length !== 2 || typeof a[0] !== "string" ||
    !Number.isInteger(a[1]) || a[1] < 0 || a[1] > 65535
  ) {
    throw new TypeError(
      `Cannot ${action}: the address must be [hostname, port], got '${
        String(a)
      }'`,
    );
  }
  return [a[0], a[1]];
}

/** The shortest authkey accepted when serving beyond loopback, in bytes. */
const MIN_REMOTE_KEY = 16;

/** Whether `hostname` only reaches this machine. */
function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** A server this program started, and its id. */
export interface Started {
  /** The server's id. */
  server: ServerId;
  /** The server's thread or process. */
  thread: ServerThread | ServerProcess;
}

/**
 * Starts a server as the options say and connects to it.
 *
 * @param options The manager's options.
 * @returns The server.
 * @throws {RangeError} When the authkey is too short beyond loopback, or
 * `maxFrameSize` is out of range.
 */
export async function startServer(options: ManagerOptions): Promise<Started> {
  const [hostname, port] = addressOption(options.address, "start the manager");
  const authkey = options.authkey === undefined
    ? crypto.getRandomValues(new Uint8Array(32))
    : authkeyBytes(options.authkey);
  if (authkey.length < MIN_REMOTE_KEY && !isLoopback(hostname)) {
    throw new RangeError(
      `Cannot serve the manager on '${hostname}': its authkey is ${authkey.length} bytes, and beyond loopback it must be at least ${MIN_REMOTE_KEY}; use random bytes, e.g. crypto.getRandomValues(new Uint8Array(32))`,
    );
  }
  checkResourceLimits(options.resourceLimits, "start the manager");
  const serverOptions = {
    hostname,
    port,
    authkey,
    maxFrameSize: maxFrameOption(options.maxFrameSize),
  };
  // Ready before the server is: the first handshake needs it.
  hmacKey(authkey).catch(() => {});
  // A process of its own, as in Python, so that running out of memory
  // ends only the server; a thread where this program may not run deno.
  const thread = canStartServerProcess()
    ? await ServerProcess.start(serverOptions, options.resourceLimits)
    : await ServerThread.start(serverOptions);
  const server = ServerId.of(thread.address, authkey);
  if (thread instanceof ServerProcess) {
    // Its calls in flight, and later ones, fail saying why.
    watchServer(server, thread.died);
  }
  try {
    await ensureConnected(server);
  } catch (err) {
    await thread.stop();
    throw err;
  }
  return { server, thread };
}
