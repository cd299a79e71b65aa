/**
 * Starting a `deno` OS child for a `Process` or a pool worker (the
 * `"subprocess"` start method), and the channel both sides talk over.
 *
 * ```text
 *   parent                                  child (deno run child_entry.ts)
 *   ------                                  -----
 *   listen on a socket, spawn  ──stdin──►  {"path":…,"token":…}\n
 *                                 ◄──sock─  { token }          (handshake)
 *   init (ProcessInit | PoolInit) ──sock─►  runChild(init, port)
 *   RunMessage frames             ──sock─►  run each task in order
 *                                 ◄──sock─  DoneMessage frames
 *   parent ends: stdin EOF ──────────────►  child exits (no orphans)
 * ```
 *
 * The child's stdout and stderr are the parent's (inherited); its stdin is
 * a pipe the parent holds open, so the child sees EOF when the parent
 * dies, however it dies. A child busy in synchronous code never reads
 * that EOF, so on Linux the child also gets a parent-death signal: it is
 * started through util-linux's `setpriv --pdeathsig KILL` (present on
 * Debian and most distributions), which sets `PR_SET_PDEATHSIG` and then
 * execs `deno` (same pid). The kernel kills the child the moment the
 * thread that spawned it ends: the program's main thread, or the worker
 * thread that started it (which waits for its non-daemon children
 * first). Where `setpriv` is missing or `--allow-run` does not cover it,
 * the child is started directly and relies on EOF alone. The socket (Unix domain; loopback TCP on
 * Windows) carries frames: a u32
 * little-endian length, then an item encoded by `_shm/codec.ts` (a fast
 * tagged encoding for plain data, `node:v8` serialization for the rest),
 * so messages keep structured-clone semantics (Map, Date, BigInt, typed
 * arrays, errors). The token (sent over the private stdin pipe, never in
 * argv or the environment) keeps other local programs from taking the
 * child's place on the port.
 *
 * {@linkcode ChildThread} gives the parent the subset of a
 * `node:worker_threads` Worker that `process.ts` and `_pool/engine.ts` use
 * (`ProcessThread`), so `_launch/launch.ts` can hand out either.
 *
 * @module
 */

import { EventEmitter } from "node:events";
import type { PoolInit, ProcessInit, RunMessage } from "./protocol.ts";
import { decodeItem, encodeItem } from "../_shm/codec.ts";
import { checkNoSharedMemory } from "../_common/transfer.ts";
import { toRemoteError } from "./protocol.ts";
import { isServedRequest, ServedPeer } from "../_served/host.ts";
import type {
  ServedReply,
  ServedRequest,
  SyncAddress,
} from "../_served/spec.ts";
import type { ResourceLimits } from "./worker_spawn.ts";
import { concat } from "../_common/bytes.ts";
import { parentFlags, withV8Flags } from "./child_flags.ts";
import { ChildExitWatch } from "./child_wait.ts";
import { checkCanStart, libraryHost, withLibraryImport } from "./entry.ts";
import { settlesWithin } from "../_common/timer.ts";
import type { ProcessThread } from "./launch.ts";

const ENTRY = new URL("./child_entry.ts", import.meta.url);

// The engine still names the interface here until it calls launch().
export type { ProcessThread } from "./launch.ts";

// --- frames -------------------------------------------------------------

/**
 * Encodes one message as a frame: a u32 little-endian length, then the
 * item's bytes.
 *
 * @param message Any structured-cloneable value.
 * @returns The frame (a fresh buffer).
 * @throws {DOMException} `DataCloneError` when the value cannot be cloned.
 */
export function encodeFrame(message: unknown): Uint8Array {
  const body = encodeItem(message);
  const frame = new Uint8Array(body.length + 4);
  new DataView(frame.buffer).setUint32(0, body.length, true);
  frame.set(body, 4);
  return frame;
}

/** Frames in both directions over one connection. */
export class FrameChannel {
  #conn: Deno.Conn;
  #pending: Uint8Array[] = [];
  #writing = false;
  #closed = false;
  /** Settles when the peer closed the connection (or it broke). */
  readonly done: Promise<void>;

  /**
   * Starts reading frames from `conn`.
   *
   * @param conn The connection.
   * @param onMessage Called with each decoded message, in order.
   */
  constructor(conn: Deno.Conn, onMessage: (message: unknown) => void) {
    this.#conn = conn;
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // Not a TCP connection: nothing to tune.
    }
    this.done = this.#read(onMessage);
  }

  /**
   * Queues a frame; frames are written in order, several per write when
   * they pile up.
   *
   * @param frame A frame from {@linkcode encodeFrame}.
   */
  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#pending.push(frame);
    if (!this.#writing) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        const chunks = this.#pending;
        this.#pending = [];
        const data = concat(chunks);
        let off = 0;
        while (off < data.length) {
          off += await this.#conn.write(data.subarray(off));
        }
      }
    } catch {
      // The peer is gone; its exit is reported by whoever watches it.
      this.#pending = [];
    } finally {
      this.#writing = false;
    }
  }

  async #read(onMessage: (message: unknown) => void): Promise<void> {
    let buf = new Uint8Array(64 * 1024);
    let view = new DataView(buf.buffer);
    let start = 0;
    let end = 0;
    let need = 4;
    try {
      while (true) {
        if (buf.length - start < need) {
          // Too little room after `start` for the frame being read: move
          // it to the front, into a bigger buffer when it cannot fit.
          if (need > buf.length) {
            const grown = new Uint8Array(Math.max(need, buf.length * 2));
            grown.set(buf.subarray(start, end));
            buf = grown;
            view = new DataView(buf.buffer);
          } else {
            buf.copyWithin(0, start, end);
          }
          end -= start;
          start = 0;
        }
        const n = await this.#conn.read(buf.subarray(end));
        if (n === null) return;
        end += n;
        while (end - start >= 4) {
          const len = view.getUint32(start, true);
          if (end - start - 4 < len) break;
          const message = decodeItem(buf.subarray(start + 4, start + 4 + len));
          start += 4 + len;
          try {
            onMessage(message);
          } catch (err) {
            // A listener's bug must not end the channel; report it as
            // an uncaught error, as a Worker's message listener would.
            queueMicrotask(() => {
              throw err;
            });
          }
        }
        if (start === end) start = end = 0;
        need = end - start >= 4 ? view.getUint32(start, true) + 4 : 4;
      }
    } catch {
      // A reset or closed connection ends the channel like EOF.
    } finally {
      this.close();
    }
  }

  /** Lets the connection keep the event loop alive. */
  ref(): void {
    this.#conn.ref();
  }

  /** Stops the connection from keeping the event loop alive. */
  unref(): void {
    this.#conn.unref();
  }

  /** Closes the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

// --- permissions --------------------------------------------------------

const KINDS = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "ffi",
  "sys",
  "import",
] as const;

type Kind = typeof KINDS[number];

/** A permission as resolved for the child's flags. */
type Grant = true | false | string[];

function entryOf(
  permissions: Deno.PermissionOptions | undefined,
  kind: Kind,
): "inherit" | boolean | Array<string | URL> {
  if (permissions === undefined || permissions === "inherit") return "inherit";
  if (permissions === "none") return false;
  return permissions[kind] ?? false;
}

function descriptor(kind: Kind, item?: string): Deno.PermissionDescriptor {
  if (item === undefined) return { name: kind } as Deno.PermissionDescriptor;
  switch (kind) {
    case "read":
    case "write":
    case "ffi":
      return { name: kind, path: item };
    case "net":
    case "import":
      return { name: kind, host: item };
    case "env":
      return { name: "env", variable: item };
    case "run":
      return { name: "run", command: item };
    case "sys":
      return {
        name: "sys",
        kind: item as Deno.SysPermissionDescriptor["kind"],
      };
  }
}

function granted(kind: Kind, item?: string): boolean {
  try {
    return Deno.permissions.querySync(descriptor(kind, item)).state ===
      "granted";
  } catch {
    return false;
  }
}

function itemText(item: string | URL): string {
  return item instanceof URL
    ? (item.protocol === "file:"
      ? decodeURIComponent(item.pathname)
      : item.href)
    : item;
}

/**
 * Checks a `permissions` option: its shape, that the start method can
 * honour it, and that it asks for no more than this program has (a child
 * cannot get more permissions than its parent, as with Deno's workers).
 *
 * @param permissions The option (`undefined`: inherit).
 * @param startMethod The start method it is for.
 * @param action What is being done, for error messages.
 * @throws {TypeError} When the option is malformed, used with the
 *   `"worker"` method, or asks for a permission this program lacks.
 */
export function checkPermissions(
  permissions: unknown,
  startMethod: string,
  action: string,
): void {
  if (permissions === undefined || permissions === "inherit") return;
  if (startMethod !== "subprocess") {
    throw new TypeError(
      `Cannot ${action}: 'permissions' needs startMethod "subprocess"; worker threads share the program's permissions`,
    );
  }
  if (permissions === "none") return;
  if (permissions === null || typeof permissions !== "object") {
    throw new TypeError(
      `Cannot ${action}: 'permissions' must be "inherit", "none" or an object, got ${
        String(permissions)
      }`,
    );
  }
  for (const key of Object.keys(permissions)) {
    if (!(KINDS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Cannot ${action}: unknown permission '${key}'; use ${
          KINDS.map((k) => `'${k}'`).join(", ")
        }`,
      );
    }
  }
  for (const kind of KINDS) {
    const v = entryOf(permissions as Deno.PermissionOptions, kind);
    if (v === "inherit" || v === false) continue;
    if (v === true) {
      if (!granted(kind)) {
        throw new TypeError(
          `Cannot ${action}: permission '${kind}' is not granted to this program, and a child cannot have more permissions than its parent`,
        );
      }
      continue;
    }
    if (!Array.isArray(v)) {
      throw new TypeError(
        `Cannot ${action}: permission '${kind}' must be "inherit", a boolean or an array, got ${typeof v}`,
      );
    }
    for (const raw of v) {
      if (typeof raw !== "string" && !(raw instanceof URL)) {
        throw new TypeError(
          `Cannot ${action}: permission '${kind}' lists ${typeof raw}; use strings`,
        );
      }
      const item = itemText(raw);
      if (!granted(kind, item)) {
        throw new TypeError(
          `Cannot ${action}: permission '${kind}' for '${item}' is not granted to this program, and a child cannot have more permissions than its parent`,
        );
      }
    }
  }
}

function resolveGrants(
  permissions: Deno.PermissionOptions | undefined,
): Record<Kind, Grant | null> {
  const out = {} as Record<Kind, Grant | null>;
  for (const kind of KINDS) {
    const v = entryOf(permissions, kind);
    if (v === "inherit") {
      // Only a permission granted in full can be passed on: Deno cannot
      // list the paths or hosts of a partial grant. `import` left alone
      // keeps Deno's default (jsr.io, deno.land, esm.sh …).
      out[kind] = granted(kind) ? true : kind === "import" ? null : false;
    } else if (typeof v === "boolean") {
      out[kind] = v;
    } else {
      out[kind] = v.length === 0 ? false : v.map(itemText);
    }
  }
  return out;
}

/** Options of {@linkcode spawnChild}. */
export interface ChildOptions {
  /** The child's Deno permissions; `undefined` inherits the parent's. */
  permissions?: Deno.PermissionOptions;
  /** Memory limits, passed as V8 flags. */
  resourceLimits?: ResourceLimits;
  /**
   * Module URLs the child may import functions from. When the child may
   * not read files freely, they are listed in its entry so that Deno
   * loads them with the program (which needs no read permission).
   */
  modules?: string[];
}

/** Whether a child may not reach any socket path it likes. */
function sandboxed(grants: Record<Kind, Grant | null>): boolean {
  return grants.read !== true || grants.write !== true || grants.net !== true;
}

function childArgs(
  address: ChannelAddress,
  options: ChildOptions,
  grants: Record<Kind, Grant | null>,
  syncPath: string | undefined,
): string[] {
  const args = ["run", "--no-prompt"];
  const paths = "path" in address
    ? [address.path, ...(syncPath === undefined ? [] : [syncPath])]
    : [];
  for (const kind of KINDS) {
    let g = kind === "import"
      ? withLibraryImport(grants.import, libraryHost())
      : grants[kind];
    // The channels to the parent, and nothing else, when a kind is
    // limited. (Deno checks read, write and net access to a Unix socket.)
    const channel = "path" in address
      ? (kind === "read" || kind === "write"
        ? paths
        : kind === "net"
        ? paths.map((p) => `unix:${p}`)
        : null)
      : (kind === "net" ? [`127.0.0.1:${address.port}`] : null);
    if (channel !== null && g !== true) g = [...(g || []), ...channel];
    if (g === true) args.push(`--allow-${kind}`);
    else if (Array.isArray(g)) args.push(`--allow-${kind}=${g.join(",")}`);
  }
  const limits = options.resourceLimits;
  const v8: string[] = [];
  if (limits !== undefined) {
    if (limits.maxOldGenerationSizeMb) {
      v8.push(`--max-old-space-size=${limits.maxOldGenerationSizeMb}`);
    }
    if (limits.maxYoungGenerationSizeMb) {
      // V8's young generation is about three semi-spaces.
      v8.push(
        `--max-semi-space-size=${
          Math.max(1, Math.ceil(limits.maxYoungGenerationSizeMb / 3))
        }`,
      );
    }
    if (limits.stackSizeMb) {
      v8.push(`--stack-size=${Math.floor(limits.stackSizeMb * 1024)}`);
    }
  }
  // The program's own runtime flags (V8, unstable features, module
  // resolution), as Python's spawn passes the interpreter's flags on.
  args.push(...withV8Flags(parentFlags(), v8));
  const modules = (options.modules ?? []).filter((m) => m.startsWith("file:"));
  if (grants.read !== true && modules.length > 0) {
    args.push(entryListing(modules));
  } else {
    args.push(ENTRY.href);
  }
  return args;
}

/**
 * A `data:` entry that runs `_launch/child_entry.ts` and names `modules` in
 * dynamic imports with literal specifiers: Deno loads those with the
 * program's module graph, without a read permission check, and the later
 * `import(url)` of one of them (when a function is looked up) finds it
 * loaded. They are not evaluated before that import.
 */
function entryListing(modules: string[]): string {
  const lines = [
    `import ${JSON.stringify(ENTRY.href)};`,
    "if (false) {",
    ...modules.map((m) => `  await import(${JSON.stringify(m)});`),
    "}",
  ];
  const bytes = new TextEncoder().encode(lines.join("\n"));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `data:application/typescript;base64,${btoa(bin)}`;
}

// --- the child, seen from the parent --------------------------------------

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** Where `setpriv` may be (util-linux). */
const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];

/** `undefined` until looked for; then the path, or `null` for none. */
let setprivPath: string | null | undefined;

/**
 * The `setpriv` that starts a child with a parent-death signal (see the
 * module doc), or `null` where there is none this program may run.
 */
function deathSignalWrapper(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (Deno.build.os !== "linux") return null;
  for (const path of SETPRIV_PATHS) {
    try {
      const run = Deno.permissions.querySync({ name: "run", command: path });
      if (run.state !== "granted") continue;
      if (!Deno.statSync(path).isFile) continue;
      setprivPath = path;
      break;
    } catch {
      // Not there, or not readable here: try the next, or go without.
    }
  }
  return setprivPath;
}

/** Seconds after `terminate()` before a child that ignores SIGTERM is killed. */
const TERMINATE_GRACE_MS = 3000;

const live = new Set<ChildThread>();
let hooked = false;
let sigtermListening = false;

function killAll(): void {
  for (const c of live) c.kill("SIGTERM");
}

function onSigterm(): void {
  killAll();
  Deno.exit(128 + 15);
}

/**
 * Ends the children when this program ends: on a normal end or
 * `Deno.exit` ("unload"), on an uncaught error, and on SIGTERM (while
 * children live). A parent killed outright (SIGKILL) cannot do this; its
 * children then see their stdin close and exit on their own.
 */
function track(child: ChildThread): void {
  live.add(child);
  if (!hooked) {
    hooked = true;
    globalThis.addEventListener("unload", () => {
      killAll();
      removeSocketDir();
    });
    globalThis.addEventListener("error", (e) => {
      if (!e.defaultPrevented) {
        killAll();
        removeSocketDir();
      }
    });
    globalThis.addEventListener("unhandledrejection", (e) => {
      if (!e.defaultPrevented) {
        killAll();
        removeSocketDir();
      }
    });
  }
  if (!sigtermListening) {
    try {
      Deno.addSignalListener("SIGTERM", onSigterm);
      sigtermListening = true;
    } catch {
      // No SIGTERM listeners on this platform (Windows).
    }
  }
}

function untrack(child: ChildThread): void {
  live.delete(child);
  if (live.size === 0 && sigtermListening) {
    sigtermListening = false;
    Deno.removeSignalListener("SIGTERM", onSigterm);
  }
}

/**
 * A `deno` child process, with the part of a `node:worker_threads`
 * Worker's interface the parent uses: `postMessage`, the "message",
 * "error" and "exit" events, `terminate()`, `ref()`/`unref()`, plus
 * `kill(signal)` and `pid`.
 */
/** Where a child finds its parent: a Unix socket, or a loopback port. */
export type ChannelAddress = { path: string } | { port: number };

let socketDir: string | undefined;
let socketCount = 0;
/** Sockets not yet connected; the directory goes when none is left. */
let socketsPending = 0;

/**
 * Listens where one child will connect: a Unix domain socket in a private
 * temporary directory (about half the round-trip time of loopback TCP),
 * or 127.0.0.1 on Windows or when the socket path would be too long.
 */
function listenLocal(): { listener: Deno.Listener; address: ChannelAddress } {
  if (Deno.build.os !== "windows") {
    socketDir ??= Deno.makeTempDirSync({ prefix: "mp-" });
    const path = `${socketDir}/${Deno.pid}-${++socketCount}.sock`;
    if (path.length < 100) {
      socketsPending++;
      return {
        listener: Deno.listen({ transport: "unix", path }),
        address: { path },
      };
    }
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return {
    listener,
    address: { port: (listener.addr as Deno.NetAddr).port },
  };
}

/**
 * Names a second socket next to `path` for a sandboxed child's blocking
 * calls, granted to it at spawn and listened on only if the parent ever
 * serves it a primitive; the directory stays until it is released.
 */
function reserveSyncPath(path: string): string | undefined {
  const sync = path.replace(/\.sock$/, ".sync.sock");
  if (sync.length >= 100) return undefined;
  socketsPending++;
  return sync;
}

/** Closes a listener from {@linkcode listenLocal} and removes its socket. */
function closeLocal(listener: Deno.Listener, address: ChannelAddress): void {
  try {
    listener.close();
  } catch {
    // Already closed.
  }
  if ("path" in address) releasePath(address.path);
}

/**
 * Removes a socket file; with no handshake left, the directory goes too,
 * so even a parent killed outright leaves nothing behind.
 */
function releasePath(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already removed, or never made.
  }
  if (--socketsPending === 0) removeSocketDir();
}

/**
 * Accepts connections until one proves `token` in its first frame, and
 * returns its channel (`null` when the listener closed first). Later
 * frames go to `onMessage`.
 */
async function acceptAuthed(
  listener: Deno.Listener,
  token: string,
  refed: () => boolean,
  onMessage: (message: unknown, channel: FrameChannel) => void,
): Promise<FrameChannel | null> {
  try {
    while (true) {
      const conn = await listener.accept();
      if (!refed()) conn.unref();
      const authed = Promise.withResolvers<boolean>();
      let first = true;
      const channel: FrameChannel = new FrameChannel(conn, (m) => {
        if (first) {
          first = false;
          authed.resolve((m as { token?: unknown })?.token === token);
          return;
        }
        onMessage(m, channel);
      });
      channel.done.then(() => authed.resolve(false));
      if (await authed.promise) return channel;
      channel.close();
    }
  } catch {
    // The listener closed: the child exited before it connected.
    return null;
  }
}

/** Runs a child's served call and sends the reply back on `channel`. */
async function answerServed(
  peer: ServedPeer,
  request: ServedRequest,
  channel: FrameChannel,
): Promise<void> {
  const reply = await peer.handle(request);
  if (reply === null) return;
  let frame: Uint8Array;
  try {
    frame = encodeFrame(reply);
  } catch (err) {
    const e = toRemoteError(err);
    const failed: ServedReply = {
      t: "srv-r",
      q: request.q,
      ok: false,
      e: { name: e.name, message: e.message, stack: e.stack },
    };
    frame = encodeFrame(failed);
  }
  channel.send(frame);
}

/**
 * The socket a child's helper thread connects to for its blocking calls
 * on served primitives (see `_served/spec.ts`): opened when the parent
 * first serves the child a primitive, closed once the helper connected.
 */
class SyncEndpoint {
  #token = crypto.randomUUID();
  #reserved: string | undefined;
  #listener: Deno.Listener | null = null;
  #address: ChannelAddress | undefined;
  #channel: FrameChannel | null = null;
  #peer: ServedPeer | undefined;
  #refed = true;
  #closed = false;

  /** @param reserved A socket path granted to a sandboxed child. */
  constructor(reserved: string | undefined) {
    this.#reserved = reserved;
  }

  /**
   * Where the helper connects; listens there on the first call.
   *
   * @param peer Who answers the calls.
   * @returns The address and token to give the child.
   */
  address(peer: ServedPeer): SyncAddress {
    this.#peer = peer;
    if (this.#address === undefined && !this.#closed) {
      let opened: { listener: Deno.Listener; address: ChannelAddress };
      if (this.#reserved !== undefined) {
        const path = this.#reserved;
        this.#reserved = undefined;
        opened = {
          listener: Deno.listen({ transport: "unix", path }),
          address: { path },
        };
      } else {
        opened = listenLocal();
      }
      this.#listener = opened.listener;
      this.#address = opened.address;
      if (!this.#refed) opened.listener.unref();
      void this.#accept(opened.listener, opened.address);
    }
    return { ...(this.#address ?? { path: "" }), token: this.#token };
  }

  async #accept(
    listener: Deno.Listener,
    address: ChannelAddress,
  ): Promise<void> {
    const channel = await acceptAuthed(
      listener,
      this.#token,
      () => this.#refed,
      (m, ch) => {
        if (isServedRequest(m)) void answerServed(this.#peer!, m, ch);
      },
    );
    if (this.#listener !== null) {
      this.#listener = null;
      closeLocal(listener, address);
    }
    if (channel !== null && this.#closed) channel.close();
    else this.#channel = channel;
  }

  /** Lets it keep the program alive. */
  ref(): void {
    this.#refed = true;
    this.#listener?.ref();
    this.#channel?.ref();
  }

  /** Stops it from keeping the program alive. */
  unref(): void {
    this.#refed = false;
    this.#listener?.unref();
    this.#channel?.unref();
  }

  /** Closes it (the child exited). */
  close(): void {
    this.#closed = true;
    if (this.#reserved !== undefined) {
      releasePath(this.#reserved);
      this.#reserved = undefined;
    }
    const l = this.#listener;
    if (l !== null) {
      this.#listener = null;
      closeLocal(l, this.#address!);
    }
    this.#channel?.close();
  }
}

function removeSocketDir(): void {
  if (socketDir === undefined) return;
  try {
    Deno.removeSync(socketDir, { recursive: true });
  } catch {
    // Already gone, or not ours to remove any more.
  }
  socketDir = undefined;
}

export class ChildThread extends EventEmitter implements ProcessThread {
  /** The child's OS pid. */
  readonly pid: number;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #listener: Deno.Listener | null;
  #address: ChannelAddress;
  #channel: FrameChannel | null = null;
  #queued: Uint8Array[] = [];
  #refed = true;
  #exited = false;
  #exit: Promise<number>;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #peer: ServedPeer;
  #sync: SyncEndpoint;

  /**
   * Wraps a spawned child (use {@linkcode spawnChild}).
   *
   * @param child The child process.
   * @param listener Where the child connects.
   * @param address The listener's address, as the child is told it.
   * @param initFrame The first frame to send it.
   * @param peer What the parent serves the child.
   * @param sync The socket for the child's blocking served calls.
   */
  constructor(
    child: Deno.ChildProcess,
    listener: Deno.Listener,
    address: ChannelAddress,
    initFrame: Uint8Array,
    peer: ServedPeer,
    sync: SyncEndpoint,
  ) {
    super();
    this.#peer = peer;
    this.#sync = sync;
    this.pid = child.pid;
    this.#child = child;
    this.#listener = listener;
    const token = crypto.randomUUID();
    this.#stdin = child.stdin.getWriter();
    this.#address = address;
    this.#stdin.write(
      new TextEncoder().encode(`${JSON.stringify({ ...address, token })}\n`),
    ).catch(() => {
      // The child died at once; its status reports it.
    });
    void this.#accept(listener, token, initFrame);
    track(this);
    this.#exit = child.status.then((status) => this.#onStatus(status));
  }

  /** The child's pid (as `threadId`, for code written for workers). */
  get threadId(): number {
    return this.pid;
  }

  async #accept(
    listener: Deno.Listener,
    token: string,
    initFrame: Uint8Array,
  ): Promise<void> {
    const channel = await acceptAuthed(
      listener,
      token,
      () => this.#refed,
      (m, ch) => {
        if (isServedRequest(m)) void answerServed(this.#peer, m, ch);
        else this.emit("message", m);
      },
    );
    // The connection outlives its socket file.
    this.#closeListener();
    if (channel === null) return;
    this.#channel = channel;
    channel.send(initFrame);
    for (const f of this.#queued) channel.send(f);
    this.#queued = [];
  }

  #closeListener(): void {
    const l = this.#listener;
    if (l === null) return;
    this.#listener = null;
    closeLocal(l, this.#address);
  }

  async #onStatus(status: Deno.CommandStatus): Promise<number> {
    this.#exited = true;
    clearTimeout(this.#killTimer);
    untrack(this);
    this.#closeListener();
    this.#sync.close();
    this.#peer.end();
    const channel = this.#channel;
    if (channel !== null) {
      // Deliver what the child sent before it died (its last results):
      // its end of the socket is closed, so the read ends at once.
      await settlesWithin(channel.done, 1000).catch(() => {});
      channel.close();
    }
    // What the child sent last has been read: its handles can go.
    this.#peer.release();
    this.#stdin.close().catch(() => {
      // The pipe's reader is gone with the child.
    });
    const code = status.signal !== null
      ? -(SIGNALS[status.signal] ?? 128)
      : status.code;
    this.emit("exit", code);
    return code;
  }

  /**
   * Sends a message. ArrayBuffers in `transfer` are copied (no memory is
   * shared between processes) and then detached here, as a transfer would.
   *
   * @param message The message.
   * @param transfer ArrayBuffers to move.
   * @throws {TypeError} When it holds shared memory or a transfer other
   *   than an ArrayBuffer.
   * @throws {DOMException} `DataCloneError` when it cannot be cloned.
   */
  // deno-lint-ignore no-explicit-any
  postMessage(message: any, transfer?: any[]): void {
    let msg = message as RunMessage;
    if (msg?.t === "run") {
      if (msg.tasks.some((t) => t.shared)) {
        // Primitives in the arguments become stand-ins served from here;
        // the message itself is left alone (a task may be sent again, to
        // a worker thread, after this child dies).
        msg = {
          ...msg,
          tasks: msg.tasks.map((t) =>
            t.shared
              ? {
                ...t,
                args: this.#peer.serve(t.args) as unknown[],
                kwargs: this.#peer.serve(t.kwargs) as typeof t.kwargs,
              }
              : t
          ),
        };
        message = msg;
      }
      // What is left of shared memory (a bare SharedArrayBuffer) would
      // arrive as a copy: refuse it.
      for (const t of msg.tasks) {
        checkNoSharedMemory(t.args, "send the task");
        checkNoSharedMemory(t.kwargs, "send the task");
      }
    }
    if (transfer !== undefined && transfer.length > 0) {
      for (const t of transfer) {
        if (!(t instanceof ArrayBuffer)) {
          throw new TypeError(
            `Cannot send the task: only ArrayBuffers can be transferred to a "subprocess" process, got ${
              t?.constructor?.name ?? typeof t
            }`,
          );
        }
      }
    }
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message);
    } catch (err) {
      checkNoSharedMemory(message, "send the task");
      throw err;
    }
    if (transfer !== undefined && transfer.length > 0) {
      structuredClone(null, { transfer });
    }
    if (this.#exited) return;
    if (this.#channel !== null) this.#channel.send(frame);
    else this.#queued.push(frame);
  }

  /**
   * Sends SIGTERM; a child still alive after a grace period gets SIGKILL.
   * The child keeps the program alive until its exit is reported.
   *
   * @returns The exit code.
   */
  terminate(): Promise<number> {
    // Whoever terminates a child waits for its exit (as a Worker's
    // terminate() does): keep the program alive until it is reported.
    if (!this.#exited) this.ref();
    this.kill("SIGTERM");
    if (!this.#exited && this.#killTimer === undefined) {
      this.#killTimer = setTimeout(
        () => this.kill("SIGKILL"),
        TERMINATE_GRACE_MS,
      );
      if (!this.#refed) Deno.unrefTimer(this.#killTimer);
    }
    return this.#exit;
  }

  /**
   * Sends a signal to the child (nothing once it exited).
   *
   * @param signal The signal.
   */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // It has just exited.
    }
  }

  /**
   * Watches for the child's end in a way a thread that blocks its event
   * loop can see (`Process.joinSync`). Call it right after spawning: the
   * watch then also holds the code once the event loop collected the
   * child, before the "exit" event.
   *
   * @returns The watch.
   */
  watchExit(): ChildExitWatch {
    return new ChildExitWatch(
      this.pid,
      this.#child.status,
      SIGNALS,
      () =>
        this.#channel === null
          ? "the child is still starting: it gets its target over a connection this program's event loop serves, which joinSync would block for good (give joinSync a timeout to wait anyway)"
          : this.#peer.serving
          ? "the child was sent primitives this program serves (a Lock, Queue, Value …): each of its operations on them is answered by this program's event loop, which joinSync would block for good (give joinSync a timeout to wait anyway)"
          : null,
    );
  }

  /** Lets the child keep the program alive. */
  ref(): void {
    this.#refed = true;
    this.#setRef(true);
  }

  /** Stops the child from keeping the program alive. */
  unref(): void {
    this.#refed = false;
    this.#setRef(false);
  }

  #setRef(on: boolean): void {
    // Once Deno has collected the child, its handles are closing or
    // closed, and `ref()` on one throws `BadResource` (a daemon's
    // `join()` refs it in the moment before its exit is reported). The
    // exit report holds its own timer, so the program stays alive for it.
    if (this.#exited) return;
    const handles: Array<{ ref(): void; unref(): void } | null> = [
      this.#child,
      this.#channel,
      this.#listener,
      this.#sync,
    ];
    for (const h of handles) {
      try {
        if (on) h?.ref();
        else h?.unref();
      } catch (err) {
        // Closed under us (the child ended this very moment): nothing to
        // keep alive.
        if (!(err instanceof Deno.errors.BadResource)) throw err;
      }
    }
    if (this.#killTimer === undefined) return;
    if (on) Deno.refTimer(this.#killTimer);
    else Deno.unrefTimer(this.#killTimer);
  }
}

/**
 * What crosses to the child: the init without its SharedArrayBuffers (an
 * OS process shares no memory). The child makes local ones.
 */
function wireInit(init: ProcessInit | PoolInit): unknown {
  return {
    ...init,
    runtime: { mainModule: init.runtime.mainModule },
    // The parent's key names a slot in a table the child cannot see.
    parent: { ...init.parent, key: 0 },
    state: undefined,
  };
}

/**
 * Starts a `deno` child running `_launch/child_entry.ts` with `init`.
 *
 * @param init What the child runs.
 * @param options Permissions, memory limits and the modules it imports.
 * @returns The child.
 * @throws {TypeError} When an argument holds shared memory.
 * @throws {DOMException} `DataCloneError` when an argument cannot be cloned.
 * @throws {Deno.errors.NotCapable} Without `--allow-run`, or without
 *   `--allow-read` and `--allow-write` for the temporary directory (the
 *   Unix socket; `--allow-net` for 127.0.0.1 on Windows).
 */
export function spawnChild(
  init: ProcessInit | PoolInit,
  options: ChildOptions = {},
): ChildThread {
  const action = `start ${
    init.kind === "pool" ? "pool worker" : "process"
  } '${init.name}'`;
  checkCanStart("subprocess", action);
  const grants = resolveGrants(options.permissions);
  const { listener, address } = listenLocal();
  // A sandboxed child may reach only the paths granted at spawn.
  const syncPath = "path" in address && sandboxed(grants)
    ? reserveSyncPath(address.path)
    : undefined;
  const sync = new SyncEndpoint(syncPath);
  const peer: ServedPeer = new ServedPeer(
    init.runtime.key,
    (): SyncAddress => sync.address(peer),
  );
  let initFrame: Uint8Array;
  let child: Deno.ChildProcess;
  try {
    // Primitives in the arguments become stand-ins the parent serves.
    if (init.kind === "process") {
      init = {
        ...init,
        args: peer.serve(init.args) as unknown[],
        kwargs: peer.serve(init.kwargs) as typeof init.kwargs,
        fields: peer.serve(init.fields) as typeof init.fields,
      };
      checkNoSharedMemory(init.args, action);
      checkNoSharedMemory(init.kwargs, action);
      checkNoSharedMemory(init.fields, action);
    } else {
      init = { ...init, initargs: peer.serve(init.initargs) as unknown[] };
      checkNoSharedMemory(init.initargs, action);
    }
    initFrame = encodeFrame(wireInit(init));
    const args = childArgs(address, options, grants, syncPath);
    const setpriv = deathSignalWrapper();
    child = new Deno.Command(setpriv ?? Deno.execPath(), {
      args: setpriv === null
        ? args
        : ["--pdeathsig", "KILL", "--", Deno.execPath(), ...args],
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (err) {
    closeLocal(listener, address);
    sync.close();
    throw err;
  }
  return new ChildThread(child, listener, address, initFrame, peer, sync);
}
