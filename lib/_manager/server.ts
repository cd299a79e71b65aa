/**
 * A manager's server: a TCP listener that holds managed objects and runs
 * the calls clients make on them.
 *
 * ```
 * client ──frame──▶ accept ─▶ handshake (HMAC, both ways) ─▶ session
 *                                 │ wrong key: 0x00, close
 * session: frames ─▶ parse JSON ─▶ decode values ─▶ allow-list lookup
 *          ─▶ method (sync: answered at once; waiting: answered later)
 *          ─▶ response frame (batched per connection)
 * ```
 *
 * A connection that sends anything malformed (not JSON, not a request, an
 * unknown value tag, a frame over the limit) is closed; nothing it sent
 * reaches an object, and the other connections go on. A method that
 * throws answers with the error. The server never evaluates wire data:
 * method names select entries of a fixed table ({@linkcode METHODS}).
 *
 * Objects live until the server closes (there is no reference counting,
 * unlike Python's manager).
 *
 * @module
 */

import {
  type Address,
  HANDSHAKE_MAX_FRAME,
  isRequest,
  MAX_UNAUTHENTICATED,
  messageFrame,
  parseMessage,
  Ref,
  type RefData,
  SERVER_HANDSHAKE_MS,
  SERVER_OBJECT,
  type TypeId,
  TYPEIDS,
  type WireError,
} from "./wire.ts";
import { decodeValue, encodeValue } from "./values.ts";
import { FrameReader, FrameWriter } from "./frames.ts";
import { serverHandshake } from "./handshake.ts";
import {
  type CallContext,
  createObject,
  type Held,
  METHODS,
  type Session,
} from "./objects.ts";
import { GuessThrottle } from "./throttle.ts";

/**
 * Keeps a server alive through its own bugs: an uncaught error or an
 * unhandled rejection in the server's thread or process is logged, and
 * the server goes on serving (uncaught, it would end the whole program
 * when the server is a worker thread).
 */
export function logUncaughtErrors(): void {
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    console.error("Manager server error:", e.error ?? e.message);
  });
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    console.error("Manager server error:", e.reason);
  });
}

/** How to start a {@linkcode ManagerServer}. */
export interface ServerOptions {
  /** The interface to listen on. */
  hostname: string;
  /** The port (`0`: any free port). */
  port: number;
  /** The shared secret clients must prove they know. */
  authkey: Uint8Array;
  /** The largest frame a client may send, in bytes. */
  maxFrameSize: number;
}

interface Entry {
  typeid: TypeId;
  obj: object;
}

class ServerSession implements Session {
  readonly id: number;
  readonly conn: Deno.Conn;
  readonly writer: FrameWriter;
  readonly held: Set<Held> = new Set();
  readonly #abort = new AbortController();

  constructor(id: number, conn: Deno.Conn) {
    this.id = id;
    this.conn = conn;
    this.writer = new FrameWriter(conn, () => this.end());
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  end(): void {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

const TYPEID_SET: ReadonlySet<string> = new Set(TYPEIDS);

/** A manager's server. */
export class ManagerServer {
  #listener: Deno.TcpListener;
  #authkey: Uint8Array;
  #maxFrame: number;
  #objects = new Map<number, Entry>();
  #names = new Map<string, Ref>();
  #nextObject = 1;
  #nextSession = 1;
  #conns = new Set<Deno.Conn>();
  #sessions = new Set<ServerSession>();
  #handlers = new Set<Promise<void>>();
  /** Connections still in the handshake (at most `MAX_UNAUTHENTICATED`). */
  #strangers = 0;
  #throttle = new GuessThrottle();
  #closed = false;
  #accepting: Promise<void>;

  /**
   * Starts listening.
   *
   * @param options Where to listen, the key and the frame limit.
   * @throws {Deno.errors.AddrInUse} When the address is taken.
   */
  constructor(options: ServerOptions) {
    this.#authkey = options.authkey;
    this.#maxFrame = options.maxFrameSize;
    this.#listener = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
    });
    this.#accepting = this.#acceptLoop();
  }

  /** The address the server listens on. */
  get address(): Address {
    const a = this.#listener.addr;
    return [a.hostname, a.port];
  }

  /** Stops listening, ends every connection and waits for them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const s of this.#sessions) s.end();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // Already closed by its session.
      }
    }
    await this.#accepting;
    await Promise.allSettled([...this.#handlers]);
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        if (this.#closed) return;
        // Out of descriptors or similar: wait a little and go on.
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      if (this.#strangers >= MAX_UNAUTHENTICATED) {
        // A flood of strangers: refuse at once, unread, so it costs
        // neither memory nor the places of the clients already waiting.
        conn.close();
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // Not fatal.
      }
      const h = this.#handle(conn);
      this.#handlers.add(h);
      h.finally(() => this.#handlers.delete(h));
    }
  }

  async #handle(conn: Deno.Conn): Promise<void> {
    this.#conns.add(conn);
    this.#strangers++;
    let stranger = true;
    const reader = new FrameReader(conn, HANDSHAKE_MAX_FRAME);
    let session: ServerSession | undefined;
    // A peer that does not finish the handshake soon is dropped. Timed by
    // AbortSignal.timeout, not setTimeout: in Deno 2.9 a process's first
    // setTimeout loads Node's timers (10 ms, measured), and in a server
    // process this is the first timer, on the way of the first connection.
    let shaking = true;
    AbortSignal.timeout(SERVER_HANDSHAKE_MS).onabort = () => {
      if (!shaking) return;
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    };
    const host = (conn.remoteAddr as Deno.NetAddr).hostname;
    try {
      const verdict = await serverHandshake(
        conn,
        reader,
        this.#authkey,
        this.#maxFrame,
        (check) => this.#throttle.check(host, check),
      );
      shaking = false;
      this.#strangers--;
      stranger = false;
      if (verdict !== "ok" || this.#closed) return;
      reader.max = this.#maxFrame;
      session = new ServerSession(this.#nextSession++, conn);
      this.#sessions.add(session);
      for (;;) {
        const frames = await reader.next();
        if (frames === null) break;
        for (const f of frames) this.#dispatch(session, f);
      }
    } catch {
      // A broken or hostile client: drop it, keep serving the others.
    } finally {
      shaking = false;
      if (stranger) this.#strangers--;
      this.#conns.delete(conn);
      if (session !== undefined) {
        this.#sessions.delete(session);
        session.end();
        for (const h of [...session.held]) h.releaseAll(session);
      } else {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
    }
  }

  /** Runs one request. Throws (dropping the client) on malformed input. */
  #dispatch(session: ServerSession, payload: Uint8Array): void {
    const msg = parseMessage(payload);
    if (!isRequest(msg)) {
      throw new TypeError("Cannot serve the client: it sent a non-request");
    }
    const args = decodeValue(msg.a, this.#decodeHooks) as unknown[];
    const ctx: CallContext = {
      session,
      lookup: (id) => this.#objects.get(id)?.obj,
    };
    let result: unknown;
    try {
      result = this.#call(msg.o, msg.m, args, ctx);
    } catch (err) {
      this.#reply(session, msg.i, undefined, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (v) => this.#reply(session, msg.i, v),
        (err) => this.#reply(session, msg.i, undefined, err),
      );
    } else {
      this.#reply(session, msg.i, result);
    }
  }

  #call(o: number, m: string, args: unknown[], ctx: CallContext): unknown {
    if (o === SERVER_OBJECT) return this.#serverCall(m, args, ctx);
    const entry = this.#objects.get(o);
    if (entry === undefined) {
      throw new ReferenceError(
        `Cannot call '${m}': the manager holds no object with id ${o}`,
      );
    }
    const handler = METHODS[entry.typeid].get(m);
    if (handler === undefined) {
      throw new TypeError(
        `Cannot call '${m}' on a managed ${entry.typeid}: it has no such method`,
      );
    }
    return handler(entry.obj, args, ctx);
  }

  #serverCall(m: string, args: unknown[], ctx: CallContext): unknown {
    switch (m) {
      case "create": {
        const typeid = args[0];
        if (typeof typeid !== "string" || !TYPEID_SET.has(typeid)) {
          throw new TypeError(
            `Cannot make a '${String(typeid)}': the manager has no such type`,
          );
        }
        const obj = createObject(typeid as TypeId, args.slice(1), ctx);
        const id = this.#nextObject++;
        this.#objects.set(id, { typeid: typeid as TypeId, obj });
        return new Ref({ id, typeid: typeid as TypeId });
      }
      case "register": {
        const [name, ref] = args;
        checkName(name, "register an object");
        if (!(ref instanceof Ref)) {
          throw new TypeError(
            `Cannot register '${name}': only manager proxies can be registered`,
          );
        }
        this.#names.set(name, ref);
        return undefined;
      }
      case "lookup": {
        const [name] = args;
        checkName(name, "get an object");
        const ref = this.#names.get(name);
        if (ref === undefined) {
          throw new RangeError(
            `Cannot get '${name}': nothing is registered under that name`,
          );
        }
        return ref;
      }
      case "unregister": {
        const [name] = args;
        checkName(name, "unregister an object");
        return this.#names.delete(name);
      }
      case "names":
        return [...this.#names.keys()];
      case "ping":
        return true;
    }
    throw new TypeError(`Cannot call '${m}' on the manager: no such operation`);
  }

  #reply(
    session: ServerSession,
    i: number,
    value: unknown,
    err?: unknown,
  ): void {
    if (session.signal.aborted) return;
    let frame: Uint8Array;
    if (err === undefined) {
      try {
        frame = messageFrame({ i, v: encodeValue(value, encodeHooks) });
      } catch (e) {
        frame = messageFrame({ i, e: toWireError(e) });
      }
    } else {
      frame = messageFrame({ i, e: toWireError(err) });
    }
    session.writer.send(frame);
  }

  #decodeHooks = { ref: (data: RefData): Ref => new Ref(data) };
}

const encodeHooks = {
  ref: (o: object): RefData | undefined =>
    o instanceof Ref ? o.data : undefined,
};

function checkName(name: unknown, action: string): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > 256) {
    throw new TypeError(
      `Cannot ${action}: the name must be a string of 1 to 256 characters`,
    );
  }
}

function toWireError(err: unknown): WireError {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}
