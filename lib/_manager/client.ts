/**
 * The client side of managers: one TCP connection per server per process,
 * shared by every proxy of that server in the process and multiplexed by
 * request id.
 *
 * A connection is made on the first call (lazily: a proxy that arrives in
 * a worker as a task argument connects only when used). While no call is
 * pending its socket is unref'd, so an idle connection never keeps a
 * program or worker alive. When the connection ends (the server shut
 * down or went away), every pending call rejects with `EOFError`; the
 * next call tries to connect again, and rejects with `EOFError` if the
 * server is still gone. After this process shut the server down itself,
 * calls reject at once.
 *
 * @module
 */

import {
  AuthenticationError,
  Empty,
  EOFError,
  Full,
  TimeoutError,
  ValueError,
} from "../errors.ts";
import { settlesWithin } from "../_common/timer.ts";
import {
  type Address,
  DEFAULT_MAX_FRAME,
  HANDSHAKE_MAX_FRAME,
  HANDSHAKE_TIMEOUT_MS,
  isResponse,
  messageFrame,
  parseMessage,
  type RefData,
  type TypeId,
  type WireError,
} from "./wire.ts";
import { decodeValue, encodeValue, fromBase64, toBase64 } from "./values.ts";
import { FrameReader, FrameWriter } from "./frames.ts";
import { clientHandshake } from "./handshake.ts";

/** Which server: its address and key. One instance per server per process. */
export class ServerId {
  /** The server's address. */
  readonly address: Address;
  /** The server's key. */
  readonly authkey: Uint8Array;
  /** The key, base64. */
  readonly authkeyText: string;
  /** A string naming the server (address and key). */
  readonly key: string;

  private constructor(address: Address, authkey: Uint8Array) {
    this.address = [address[0], address[1]];
    this.authkey = authkey;
    this.authkeyText = toBase64(authkey);
    this.key = `${address[0]}:${address[1]}#${this.authkeyText}`;
  }

  /** `host:port`, for messages. */
  get where(): string {
    return `${this.address[0]}:${this.address[1]}`;
  }

  static #all = new Map<string, ServerId>();

  /**
   * The one `ServerId` of this process for a server.
   *
   * @param address The server's address.
   * @param authkey The server's key.
   * @returns The id.
   */
  static of(address: Address, authkey: Uint8Array): ServerId {
    const id = new ServerId(address, authkey);
    const known = ServerId.#all.get(id.key);
    if (known !== undefined) return known;
    ServerId.#all.set(id.key, id);
    return id;
  }
}

/** What a proxy stands for: its server, its object's id and type. */
export interface ProxyRef {
  /** The server holding the object. */
  readonly server: ServerId;
  /** The object's id on that server. */
  readonly id: number;
  /** The object's type. */
  readonly typeid: TypeId;
}

/**
 * How proxies are told apart and made. The proxies module passes it with
 * every call, so that this module needs no import of the proxy classes.
 */
export interface ProxyCodec {
  /** What a proxy stands for, or undefined for other objects. */
  refOf(value: object): ProxyRef | undefined;
  /** Makes a proxy (for a reference in a result). */
  make(server: ServerId, id: number, typeid: TypeId): unknown;
}

/** A call to make: method `m` of object `o`, with its arguments. */
export interface Call {
  /** The object id (`0`: the server itself). */
  o: number;
  /** The method. */
  m: string;
  /** The arguments. */
  args: unknown[];
  /** What the call does, for error messages ("call 'get' on …"). */
  label: string;
  /** How proxies in the arguments and the result cross. */
  codec: ProxyCodec;
}

function encodeFor(
  server: ServerId,
  value: unknown,
  codec: ProxyCodec,
): unknown {
  return encodeValue(value, {
    ref(o: object): RefData | undefined {
      const r = codec.refOf(o);
      if (r === undefined) return undefined;
      if (r.server === server) return { id: r.id, typeid: r.typeid };
      return {
        id: r.id,
        typeid: r.typeid,
        address: r.server.address,
        authkey: r.server.authkeyText,
      };
    },
  });
}

const ERRORS: Record<string, new (message: string) => Error> = {
  Empty,
  Full,
  ValueError,
  TimeoutError,
  EOFError,
  AuthenticationError,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
};

function fromWire(e: WireError): Error {
  const C = Object.hasOwn(ERRORS, e.name) ? ERRORS[e.name] : undefined;
  if (C !== undefined) return new C(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  label: string;
  codec: ProxyCodec;
}

const connections = new Map<string, Promise<Connection>>();
/**
 * Why this process no longer talks to a server: it shut the server down,
 * closed its connection, or saw the server (its own thread) die.
 */
export type Ending = "shutdown" | "closed" | { died: string };

/** Servers this process shut down, closed its connection to, or lost. */
const shutDown = new Map<string, Ending>();

/**
 * The servers this process runs, each with what settles (with why) if it
 * dies. Their connections see the end before this process sees the exit,
 * so a call cut off waits a moment to say why.
 */
const owned = new Map<string, Promise<string>>();

/** How long a call cut off from an owned server waits for its exit. */
const DEATH_NOTICE_MS = 2000;

/**
 * Watches a server this process runs: if it dies, its calls (in flight
 * and later) fail saying so, and why.
 *
 * @param server Which server.
 * @param died Settles with why, if the server dies.
 */
export function watchServer(server: ServerId, died: Promise<string>): void {
  owned.set(server.key, died);
  died.then((why) => disconnect(server, { died: why }));
}

/** One authenticated connection to a server. */
class Connection {
  readonly server: ServerId;
  readonly #conn: Deno.TcpConn;
  readonly #writer: FrameWriter;
  readonly #maxOut: number;
  #pending = new Map<number, Pending>();
  #next = 1;
  #ended = false;
  #reading: Promise<void>;

  constructor(
    server: ServerId,
    conn: Deno.TcpConn,
    reader: FrameReader,
    maxOut: number,
  ) {
    this.server = server;
    this.#conn = conn;
    this.#maxOut = maxOut;
    this.#writer = new FrameWriter(conn, () => this.#end());
    conn.unref();
    this.#reading = this.#read(reader);
  }

  get ended(): boolean {
    return this.#ended;
  }

  send({ o, m, args, label, codec }: Call): Promise<unknown> {
    let frame: Uint8Array;
    const i = this.#next++;
    try {
      const a = encodeFor(this.server, args, codec);
      frame = messageFrame({ i, o, m, a });
    } catch (err) {
      return Promise.reject(err);
    }
    if (frame.length - 4 > this.#maxOut) {
      return Promise.reject(
        new RangeError(
          `Cannot ${label}: the message is ${
            frame.length - 4
          } bytes, over the manager's limit of ${this.#maxOut} bytes`,
        ),
      );
    }
    if (this.#ended) return Promise.reject(lost(this.server, label));
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#conn.ref();
      this.#pending.set(i, { resolve, reject, label, codec });
      this.#writer.send(frame);
    });
  }

  #decode(data: unknown, codec: ProxyCodec): unknown {
    return decodeValue(data, {
      ref: (d: RefData): unknown => {
        const server = d.address === undefined
          ? this.server
          : ServerId.of(d.address, fromBase64(d.authkey!));
        return codec.make(server, d.id, d.typeid);
      },
    });
  }

  async #read(reader: FrameReader): Promise<void> {
    try {
      for (;;) {
        const frames = await reader.next();
        if (frames === null) break;
        for (const f of frames) {
          const msg = parseMessage(f);
          if (!isResponse(msg)) throw new TypeError("Not a response");
          const p = this.#pending.get(msg.i);
          if (p === undefined) continue;
          this.#pending.delete(msg.i);
          if (this.#pending.size === 0) this.#conn.unref();
          if ("e" in msg) {
            p.reject(fromWire(msg.e));
          } else {
            let v: unknown;
            try {
              v = this.#decode(msg.v, p.codec);
            } catch (err) {
              p.reject(err);
              continue;
            }
            p.resolve(v);
          }
        }
      }
    } catch {
      // The connection broke, or the server sent garbage: end it.
    }
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      // Ref the pending read first: its cancellation must still be
      // delivered, or awaiting the reader would find the loop empty.
      this.#conn.ref();
      this.#conn.close();
    } catch {
      // Already closed.
    }
    const cutOff = [...this.#pending.values()];
    this.#pending.clear();
    const fail = () => {
      for (const p of cutOff) p.reject(lost(this.server, p.label));
    };
    const died = owned.get(this.server.key);
    if (died === undefined || shutDown.has(this.server.key)) return fail();
    settlesWithin(died, DEATH_NOTICE_MS).then(() => fail());
  }

  async close(): Promise<void> {
    this.#end();
    await this.#reading;
  }
}

function lost(server: ServerId, label: string): EOFError {
  return shutDown.has(server.key) ? closedHere(server, label) : new EOFError(
    `Cannot ${label}: the connection to the manager at '${server.where}' was lost`,
  );
}

function closedHere(server: ServerId, label: string): EOFError {
  const why = shutDown.get(server.key);
  if (typeof why === "object") {
    return new EOFError(
      `Cannot ${label}: the manager died: ${why.died}; its objects are lost, start a new manager`,
    );
  }
  return why === "shutdown"
    ? new EOFError(`Cannot ${label}: the manager has shut down`)
    : new EOFError(
      `Cannot ${label}: this process closed its connection to the manager at '${server.where}' (shutdown() of connectManager); connect again to use it`,
    );
}

/**
 * Connects and authenticates.
 *
 * @param server Which server.
 * @returns The connection.
 * @throws {AuthenticationError} When the keys do not match.
 * @throws {Deno.errors.ConnectionRefused} When nothing listens there.
 * @throws {TimeoutError} When the server does not finish the handshake.
 * @throws {Deno.errors.InvalidData} When the peer is not a manager.
 */
async function open(server: ServerId): Promise<Connection> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: server.address[0],
      port: server.address[1],
    });
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionRefused) {
      throw new Deno.errors.ConnectionRefused(
        `Cannot connect to the manager at '${server.where}': connection refused; is it running?`,
      );
    }
    throw err;
  }
  conn.setNoDelay(true);
  const reader = new FrameReader(conn, HANDSHAKE_MAX_FRAME);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, HANDSHAKE_TIMEOUT_MS);
  let verdict: Awaited<ReturnType<typeof clientHandshake>>;
  try {
    verdict = await clientHandshake(conn, reader, server.authkey);
  } catch (err) {
    if (!timedOut) conn.close();
    if (timedOut) {
      throw new TimeoutError(
        `Cannot connect to the manager at '${server.where}': it did not answer within ${
          HANDSHAKE_TIMEOUT_MS / 1000
        }s`,
      );
    }
    throw new EOFError(
      `Cannot connect to the manager at '${server.where}': the connection closed during the handshake (${
        (err as Error).message
      })`,
    );
  } finally {
    clearTimeout(timer);
  }
  if (typeof verdict === "number") {
    reader.max = DEFAULT_MAX_FRAME * 4;
    return new Connection(server, conn, reader, verdict);
  }
  conn.close();
  if (verdict === "refused") {
    throw new AuthenticationError(
      `Cannot connect to the manager at '${server.where}': the authkey does not match`,
    );
  }
  throw new Deno.errors.InvalidData(
    `Cannot connect to the manager at '${server.where}': it does not speak the manager protocol`,
  );
}

/**
 * The connection of this process to `server`, made if needed.
 *
 * @param server Which server.
 * @returns The connection.
 */
export function connection(server: ServerId): Promise<Connection> {
  const known = connections.get(server.key);
  if (known !== undefined) {
    return known.then((c) => c.ended ? reconnect(server, known) : c);
  }
  const p = open(server);
  connections.set(server.key, p);
  p.catch(() => {
    if (connections.get(server.key) === p) connections.delete(server.key);
  });
  return p;
}

function reconnect(
  server: ServerId,
  stale: Promise<Connection>,
): Promise<Connection> {
  if (connections.get(server.key) === stale) connections.delete(server.key);
  return connection(server);
}

/**
 * Makes a call on `server`, connecting first if needed.
 *
 * @param server Which server.
 * @param c The call.
 * @returns The result.
 * @throws {EOFError} When the manager shut down or is gone.
 */
export async function call(server: ServerId, c: Call): Promise<unknown> {
  if (shutDown.has(server.key)) throw closedHere(server, c.label);
  let conn: Connection;
  try {
    conn = await connection(server);
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionRefused) {
      throw new EOFError(
        `Cannot ${c.label}: the manager at '${server.where}' is gone (connection refused)`,
      );
    }
    throw err;
  }
  return await conn.send(c);
}

/**
 * Makes sure this process can connect (used by `connectManager`).
 *
 * @param server Which server.
 */
export async function ensureConnected(server: ServerId): Promise<void> {
  shutDown.delete(server.key);
  await connection(server);
}

/**
 * Closes this process's connection to `server`, if any.
 *
 * @param server Which server.
 * @param why `"shutdown"`: the server was shut down; `"closed"`: only this
 * connection was closed; `{ died }`: the server died, and why. Later
 * calls in this process reject at once, saying so.
 */
export async function disconnect(
  server: ServerId,
  why: Ending,
): Promise<void> {
  shutDown.set(server.key, why);
  const p = connections.get(server.key);
  if (p === undefined) return;
  connections.delete(server.key);
  try {
    await (await p).close();
  } catch {
    // It never connected.
  }
}
