/**
 * What a manager's server and its clients say to each other over TCP, in
 * one place: frames, the authkey handshake, the value encoding and the
 * request/response shapes.
 *
 * Frames: a 4-byte big-endian length, then that many bytes. Before the
 * handshake succeeds a frame may hold at most {@linkcode HANDSHAKE_MAX_FRAME}
 * bytes, so a stranger cannot make the server allocate anything large;
 * after it, at most the server's `maxFrameSize`. A longer frame ends the
 * connection.
 *
 * Handshake (both sides prove they know the authkey, each with a fresh
 * random nonce, so a recorded exchange cannot be replayed):
 *
 * ```
 * server → client   "MPM1" + nonceS (32 random bytes)
 * client → server   HMAC-SHA256(key, "client" + nonceS) + nonceC (32 bytes)
 * server → client   0x00 (refused; the server closes)  or
 *                   0x01 + HMAC-SHA256(key, "server" + nonceC)
 *                        + the server's frame limit (uint32, big-endian)
 * ```
 *
 * Messages after the handshake are UTF-8 JSON (one per frame). Values
 * inside them use a tagged encoding ({@linkcode encodeValue}): plain JSON
 * for what JSON carries, and `{ "$": tag, "v": … }` objects for
 * `undefined`, non-finite numbers and `-0`, `bigint`, `Date`, `Map`,
 * `Set`, typed arrays, `ArrayBuffer`, errors and manager proxies. Decoding
 * builds only plain data and {@linkcode Ref}s: nothing from the wire is
 * ever run as code, and method names are checked against an allow-list
 * on the server.
 *
 * @module
 */

import { setOwn } from "../_common/walk.ts";

/** A server's TCP address: `[hostname, port]`. */
export type Address = [hostname: string, port: number];

/** The first bytes a server sends; also a protocol version. */
const MAGIC = new TextEncoder().encode("MPM1");
/** Nonce and MAC length, in bytes. */
const NONCE = 32;
/** The largest frame accepted before the handshake succeeds. */
export const HANDSHAKE_MAX_FRAME = 256;
/** How long a client waits for the server's handshake, in milliseconds. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * How long the server gives a peer to finish the handshake, in
 * milliseconds: a real client needs a few; a stranger that stalls must
 * not hold a place long.
 */
export const SERVER_HANDSHAKE_MS = 3_000;
/**
 * How many connections may be in the handshake at once; the server
 * closes any more at once, unread.
 */
export const MAX_UNAUTHENTICATED = 64;
/** The default largest frame (one message), in bytes: 64 MiB. */
export const DEFAULT_MAX_FRAME: number = 64 * 1024 * 1024;
/** How deep a value may nest. */
const MAX_DEPTH = 512;

/** The type names of managed objects, and so of proxies. */
export const TYPEIDS = [
  "dict",
  "list",
  "Namespace",
  "Value",
  "Array",
  "Lock",
  "RLock",
  "Semaphore",
  "BoundedSemaphore",
  "Event",
  "Condition",
  "Queue",
  "JoinableQueue",
] as const;

/** The type name of a managed object. */
export type TypeId = typeof TYPEIDS[number];

const TYPEID_SET: ReadonlySet<string> = new Set(TYPEIDS);

/**
 * A reference to a managed object as it crosses: its id on its server and
 * its type; `address` and `authkey` (base64) only when the object lives
 * on a different server than the one the message goes to or comes from.
 */
export interface RefData {
  id: number;
  typeid: TypeId;
  address?: Address;
  authkey?: string;
}

/** A decoded reference, as the server stores it (it never revives one). */
export class Ref {
  /** The reference's data. */
  readonly data: RefData;
  /** @param data The reference's data. */
  constructor(data: RefData) {
    this.data = data;
  }
}

// --- Requests and responses ---------------------------------------------

/** Object id of the server itself (create, register, lookup …). */
export const SERVER_OBJECT = 0;

/** A call: request id, object id, method name, arguments. */
export interface Request {
  i: number;
  o: number;
  m: string;
  a: unknown[];
}

/** An error as it crosses. */
export interface WireError {
  name: string;
  message: string;
}

/** A result (`v`) or an error (`e`) for request `i`. */
export type Response = { i: number; v: unknown } | {
  i: number;
  e: WireError;
};

/**
 * Checks that a decoded message is a well-formed request.
 *
 * @param msg The decoded message.
 * @returns Whether it is a {@linkcode Request}.
 */
export function isRequest(msg: unknown): msg is Request {
  if (msg === null || typeof msg !== "object") return false;
  const r = msg as Partial<Request>;
  return Number.isSafeInteger(r.i) && Number.isSafeInteger(r.o) &&
    typeof r.m === "string" && r.m.length < 64 && Array.isArray(r.a);
}

/**
 * Checks that a decoded message is a well-formed response.
 *
 * @param msg The decoded message.
 * @returns Whether it is a {@linkcode Response}.
 */
export function isResponse(msg: unknown): msg is Response {
  if (msg === null || typeof msg !== "object") return false;
  const r = msg as Record<string, unknown>;
  if (!Number.isSafeInteger(r.i)) return false;
  if ("e" in r) {
    const e = r.e as Partial<WireError> | null;
    return e !== null && typeof e === "object" &&
      typeof e.name === "string" && typeof e.message === "string";
  }
  return "v" in r;
}

// --- Value encoding -----------------------------------------------------

/** How the encoder treats objects that are not plain data. */
export interface EncodeHooks {
  /** Returns the reference for a proxy (or a stored `Ref`), else undefined. */
  ref(value: object): RefData | undefined;
}

/** How the decoder turns references into values. */
export interface DecodeHooks {
  /** Makes the value a reference decodes to. */
  ref(data: RefData): unknown;
}

const TYPED = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedName = keyof typeof TYPED;

/**
 * Turns a value into JSON-ready data with tags for what JSON lacks.
 *
 * @param value The value.
 * @param hooks How to encode proxies.
 * @returns JSON-ready data.
 * @throws {TypeError} For values that cannot cross (functions, symbols,
 * class instances other than the supported ones, too deep nesting).
 */
export function encodeValue(value: unknown, hooks: EncodeHooks): unknown {
  return enc(value, hooks, 0);
}

function enc(v: unknown, hooks: EncodeHooks, depth: number): unknown {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (Number.isFinite(v) && !Object.is(v, -0)) return v;
      return { $: "n", v: String(Object.is(v, -0) ? "-0" : v) };
    case "undefined":
      return { $: "u" };
    case "bigint":
      return { $: "bi", v: v.toString() };
    case "function":
    case "symbol":
      throw new TypeError(
        `Cannot send a ${typeof v} to the manager: only data and manager proxies can cross`,
      );
  }
  if (v === null) return null;
  if (depth > MAX_DEPTH) {
    throw new TypeError(
      `Cannot send the value to the manager: it nests deeper than ${MAX_DEPTH} levels`,
    );
  }
  const d = depth + 1;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = enc(v[i], hooks, d);
    return out;
  }
  const obj = v as object;
  const proto = Object.getPrototypeOf(obj);
  if (proto === Object.prototype || proto === null) {
    const rec = obj as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    let tagged = false;
    for (const k of Object.keys(rec)) {
      if (k === "$") tagged = true;
      setOwn(out, k, enc(rec[k], hooks, d));
    }
    // A plain object with a "$" key is wrapped, so it is never read as a tag.
    return tagged ? { $: "o", v: out } : out;
  }
  const ref = hooks.ref(obj);
  if (ref !== undefined) return { $: "r", v: ref };
  if (obj instanceof Date) return { $: "d", v: obj.getTime() };
  if (obj instanceof Map) {
    const out: unknown[] = [];
    for (const [k, x] of obj) out.push([enc(k, hooks, d), enc(x, hooks, d)]);
    return { $: "map", v: out };
  }
  if (obj instanceof Set) {
    const out: unknown[] = [];
    for (const x of obj) out.push(enc(x, hooks, d));
    return { $: "set", v: out };
  }
  if (obj instanceof ArrayBuffer) {
    return { $: "ab", v: toBase64(new Uint8Array(obj)) };
  }
  if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
    const name = obj.constructor.name;
    if (name in TYPED) {
      const bytes = new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength);
      return { $: "ta", t: name, v: toBase64(bytes) };
    }
  }
  if (obj instanceof Error) {
    return { $: "e", v: { name: obj.name, message: obj.message } };
  }
  const cls = (proto?.constructor as { name?: string } | undefined)?.name ??
    "object";
  throw new TypeError(
    `Cannot send a '${cls}' to the manager: only plain data (objects, arrays, Map, Set, Date, typed arrays …) and manager proxies can cross; make shared objects with the manager (m.Lock(), m.Queue() …)`,
  );
}

/**
 * Rebuilds a value from data made by {@linkcode encodeValue}. Builds plain
 * data and whatever `hooks.ref` makes of references; nothing else.
 *
 * @param data Parsed JSON.
 * @param hooks How to decode references.
 * @returns The value.
 * @throws {TypeError} For data no encoder makes (an unknown tag …).
 */
export function decodeValue(data: unknown, hooks: DecodeHooks): unknown {
  return dec(data, hooks, 0);
}

function dec(x: unknown, hooks: DecodeHooks, depth: number): unknown {
  if (x === null || typeof x !== "object") return x;
  if (depth > MAX_DEPTH + 2) throw new TypeError("Value nests too deep");
  const d = depth + 1;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) x[i] = dec(x[i], hooks, d);
    return x;
  }
  const rec = x as Record<string, unknown>;
  const tag = rec.$;
  if (tag === undefined) {
    for (const k of Object.keys(rec)) setOwn(rec, k, dec(rec[k], hooks, d));
    return rec;
  }
  const v = rec.v;
  switch (tag) {
    case "u":
      return undefined;
    case "n":
      if (v === "-0") return -0;
      if (v === "NaN" || v === "Infinity" || v === "-Infinity") {
        return Number(v);
      }
      break;
    case "bi":
      if (typeof v === "string" && /^-?\d{1,100000}$/.test(v)) return BigInt(v);
      break;
    case "d":
      if (typeof v === "number") return new Date(v);
      break;
    case "o":
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        for (const k of Object.keys(o)) setOwn(o, k, dec(o[k], hooks, d));
        return o;
      }
      break;
    case "map":
      if (Array.isArray(v)) {
        const m = new Map();
        for (const e of v) {
          if (!Array.isArray(e) || e.length !== 2) break;
          m.set(dec(e[0], hooks, d), dec(e[1], hooks, d));
        }
        if (m.size <= v.length) return m;
      }
      break;
    case "set":
      if (Array.isArray(v)) return new Set(v.map((e) => dec(e, hooks, d)));
      break;
    case "ab":
      if (typeof v === "string") return fromBase64(v).buffer;
      break;
    case "ta":
      if (typeof v === "string" && typeof rec.t === "string") {
        const name = rec.t as TypedName;
        if (Object.hasOwn(TYPED, name)) {
          const bytes = fromBase64(v);
          const C = TYPED[name];
          if (bytes.length % C.BYTES_PER_ELEMENT === 0) {
            return new C(bytes.buffer, 0, bytes.length / C.BYTES_PER_ELEMENT);
          }
        }
      }
      break;
    case "e":
      if (v !== null && typeof v === "object") {
        const e = v as Partial<WireError>;
        if (typeof e.name === "string" && typeof e.message === "string") {
          const err = new Error(e.message);
          err.name = e.name;
          return err;
        }
      }
      break;
    case "r":
      if (isRefData(v)) return hooks.ref(v);
      break;
  }
  throw new TypeError(`Cannot decode a value tagged '${String(tag)}'`);
}

function isRefData(v: unknown): v is RefData {
  if (v === null || typeof v !== "object") return false;
  const r = v as Partial<RefData>;
  if (!Number.isSafeInteger(r.id) || (r.id as number) <= 0) return false;
  if (typeof r.typeid !== "string" || !TYPEID_SET.has(r.typeid)) return false;
  if (r.address !== undefined) {
    const a = r.address as unknown[];
    if (
      !Array.isArray(a) || a.length !== 2 || typeof a[0] !== "string" ||
      !Number.isInteger(a[1])
    ) return false;
    if (typeof r.authkey !== "string") return false;
  }
  return true;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes a message as one frame (header and JSON payload).
 *
 * @param msg The message (its values already encoded).
 * @returns The frame's bytes.
 */
export function messageFrame(msg: unknown): Uint8Array {
  return frame(encoder.encode(JSON.stringify(msg)));
}

/**
 * Parses a frame's payload as a JSON message.
 *
 * @param payload The frame's bytes.
 * @returns The parsed (not yet value-decoded) message.
 * @throws {TypeError|SyntaxError} When it is not UTF-8 JSON.
 */
export function parseMessage(payload: Uint8Array): unknown {
  return JSON.parse(decoder.decode(payload));
}

// --- Base64 -------------------------------------------------------------

type B64 = {
  toBase64?: (this: Uint8Array) => string;
};
type B64Static = { fromBase64?: (s: string) => Uint8Array };

/**
 * Encodes bytes as base64.
 *
 * @param bytes The bytes.
 * @returns The base64 text.
 */
export function toBase64(bytes: Uint8Array): string {
  const native = (Uint8Array.prototype as B64).toBase64;
  if (native) return native.call(bytes);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/**
 * Decodes base64 into fresh bytes.
 *
 * @param text The base64 text.
 * @returns The bytes.
 * @throws {SyntaxError|TypeError} When `text` is not base64.
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const native = (Uint8Array as unknown as B64Static).fromBase64;
  if (native) return native(text) as Uint8Array<ArrayBuffer>;
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// --- Frames -------------------------------------------------------------

/**
 * Prefixes a payload with its length.
 *
 * @param payload The bytes.
 * @returns The frame.
 */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** A frame longer than the limit arrived. */
export class FrameTooLarge extends Error {
  /** @param size The announced size. @param max The limit. */
  constructor(size: number, max: number) {
    super(`Cannot read a frame of ${size} bytes: the limit is ${max} bytes`);
    this.name = "FrameTooLarge";
  }
}

/** The read buffer of an authenticated connection, in bytes. */
const READ_BUFFER = 64 * 1024;

/** Reads length-prefixed frames from a connection. */
export class FrameReader {
  #conn: Deno.Conn;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #max: number;

  /**
   * @param conn The connection to read.
   * @param max The largest frame accepted, in bytes.
   */
  constructor(conn: Deno.Conn, max: number) {
    this.#conn = conn;
    this.#max = max;
    // A connection still in the handshake gets a buffer of its size, so
    // thousands of strangers cost little memory.
    this.#buf = new Uint8Array(Math.min(READ_BUFFER, max + 4));
  }

  /** The largest frame accepted now, in bytes. */
  get max(): number {
    return this.#max;
  }

  set max(n: number) {
    this.#max = n;
    if (this.#buf.length < READ_BUFFER && n + 4 > this.#buf.length) {
      this.#reserve(Math.min(READ_BUFFER, n + 4));
    }
  }

  /**
   * Returns the frames that are complete in the buffer, reading once more
   * from the connection when none is.
   *
   * @returns The frames (at least one), or `null` at the end of the stream.
   * @throws {FrameTooLarge} When a frame announces more than `max` bytes.
   */
  async next(): Promise<Uint8Array[] | null> {
    for (;;) {
      const frames = this.#take();
      if (frames.length > 0) return frames;
      if (!await this.#fill()) return null;
    }
  }

  #take(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (;;) {
      const avail = this.#end - this.#start;
      if (avail < 4) break;
      const b = this.#buf;
      const s = this.#start;
      const len = ((b[s] << 24) >>> 0) + (b[s + 1] << 16) + (b[s + 2] << 8) +
        b[s + 3];
      if (len > this.max) throw new FrameTooLarge(len, this.max);
      if (avail < 4 + len) {
        this.#reserve(4 + len);
        break;
      }
      out.push(b.slice(s + 4, s + 4 + len));
      this.#start += 4 + len;
      // Stop at the limit after a size change (the handshake raises it).
      if (out.length > 0 && this.max <= HANDSHAKE_MAX_FRAME) break;
    }
    return out;
  }

  /** Makes room for a frame of `need` bytes from `#start`. */
  #reserve(need: number): void {
    if (this.#buf.length - this.#start >= need) return;
    const used = this.#end - this.#start;
    const next = need > this.#buf.length
      ? new Uint8Array(Math.max(need, this.#buf.length * 2))
      : this.#buf;
    next.set(this.#buf.subarray(this.#start, this.#end), 0);
    this.#buf = next;
    this.#start = 0;
    this.#end = used;
  }

  async #fill(): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      this.#reserve(this.#end - this.#start + 1);
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }
}

/**
 * Writes all of `bytes` to `conn`.
 *
 * @param conn The connection.
 * @param bytes The bytes.
 */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Queues frames and writes them in batches, one write at a time. */
export class FrameWriter {
  #conn: Deno.Conn;
  #queue: Uint8Array[] = [];
  #size = 0;
  #busy = false;
  #onError: (err: unknown) => void;

  /**
   * @param conn The connection to write to.
   * @param onError Called once when a write fails.
   */
  constructor(conn: Deno.Conn, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /**
   * Queues a frame; it is written after the frames queued before it.
   *
   * @param bytes A whole frame.
   */
  send(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#size += bytes.length;
    if (!this.#busy) this.#flush();
  }

  async #flush(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        let chunk: Uint8Array;
        if (this.#queue.length === 1) {
          chunk = this.#queue[0];
        } else {
          chunk = new Uint8Array(this.#size);
          let off = 0;
          for (const q of this.#queue) {
            chunk.set(q, off);
            off += q.length;
          }
        }
        this.#queue = [];
        this.#size = 0;
        await writeAll(this.#conn, chunk);
      }
    } catch (err) {
      this.#queue = [];
      this.#size = 0;
      this.#onError(err);
    } finally {
      this.#busy = false;
    }
  }
}

// --- Handshake ----------------------------------------------------------

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(authkey: Uint8Array): Promise<CryptoKey> {
  const id = toBase64(authkey);
  let k = keys.get(id);
  if (k === undefined) {
    k = crypto.subtle.importKey(
      "raw",
      authkey as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keys.set(id, k);
  }
  return k;
}

function labelled(label: string, nonce: Uint8Array): Uint8Array<ArrayBuffer> {
  const l = encoder.encode(label);
  const out = new Uint8Array(l.length + nonce.length);
  out.set(l);
  out.set(nonce, l.length);
  return out;
}

async function mac(
  authkey: Uint8Array,
  label: string,
  nonce: Uint8Array,
): Promise<Uint8Array> {
  const sig = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(authkey),
    labelled(label, nonce),
  );
  return new Uint8Array(sig);
}

async function verify(
  authkey: Uint8Array,
  label: string,
  nonce: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  // crypto.subtle.verify compares in constant time.
  return await crypto.subtle.verify(
    "HMAC",
    await hmacKey(authkey),
    sig as Uint8Array<ArrayBuffer>,
    labelled(label, nonce),
  );
}

async function readOne(reader: FrameReader): Promise<Uint8Array | null> {
  const frames = await reader.next();
  return frames === null ? null : frames[0];
}

/** Why a handshake failed. */
export type HandshakeResult = "ok" | "refused" | "protocol";

/**
 * The server's side of the handshake. On `"refused"` it has told the
 * client so; the caller closes the connection either way.
 *
 * @param conn The new connection.
 * @param reader Its frame reader (at the handshake limit).
 * @param authkey The server's key.
 * @param maxFrame The largest frame the server accepts, told to the client.
 * @param gate Runs the key check (the server's throttle of guesses).
 * @returns How it went.
 */
export async function serverHandshake(
  conn: Deno.Conn,
  reader: FrameReader,
  authkey: Uint8Array,
  maxFrame: number,
  gate: (check: () => Promise<boolean>) => Promise<boolean> = (c) => c(),
): Promise<HandshakeResult> {
  const nonceS = crypto.getRandomValues(new Uint8Array(NONCE));
  const hello = new Uint8Array(MAGIC.length + NONCE);
  hello.set(MAGIC);
  hello.set(nonceS, MAGIC.length);
  await writeAll(conn, frame(hello));
  const answer = await readOne(reader);
  if (answer === null || answer.length !== 2 * NONCE) return "protocol";
  const sig = answer.subarray(0, NONCE);
  const nonceC = answer.slice(NONCE);
  if (!await gate(() => verify(authkey, "client", nonceS, sig))) {
    await writeAll(conn, frame(new Uint8Array([0])));
    return "refused";
  }
  const proof = await mac(authkey, "server", nonceC);
  const ok = new Uint8Array(1 + NONCE + 4);
  ok[0] = 1;
  ok.set(proof, 1);
  new DataView(ok.buffer).setUint32(1 + NONCE, maxFrame);
  await writeAll(conn, frame(ok));
  return "ok";
}

/**
 * The client's side of the handshake.
 *
 * @param conn The connection.
 * @param reader Its frame reader (at the handshake limit).
 * @param authkey The key to prove.
 * @returns `"refused"` (the server rejected our key, or could not prove
 * it knows it), `"protocol"` (not a manager), or the server's frame limit.
 */
export async function clientHandshake(
  conn: Deno.Conn,
  reader: FrameReader,
  authkey: Uint8Array,
): Promise<Exclude<HandshakeResult, "ok"> | number> {
  const hello = await readOne(reader);
  if (
    hello === null || hello.length !== MAGIC.length + NONCE ||
    !MAGIC.every((b, i) => hello[i] === b)
  ) return "protocol";
  const nonceS = hello.subarray(MAGIC.length);
  const nonceC = crypto.getRandomValues(new Uint8Array(NONCE));
  const answer = new Uint8Array(2 * NONCE);
  answer.set(await mac(authkey, "client", nonceS));
  answer.set(nonceC, NONCE);
  await writeAll(conn, frame(answer));
  const verdict = await readOne(reader);
  if (verdict === null) return "refused";
  if (verdict.length === 1 && verdict[0] === 0) return "refused";
  if (verdict.length !== 1 + NONCE + 4 || verdict[0] !== 1) return "protocol";
  const proof = verdict.subarray(1, 1 + NONCE);
  if (!await verify(authkey, "server", nonceC, proof)) return "refused";
  return new DataView(verdict.buffer, verdict.byteOffset).getUint32(1 + NONCE);
}

/**
 * Turns an authkey option into bytes.
 *
 * @param key A string (UTF-8) or bytes.
 * @returns The key's bytes (a copy).
 * @throws {TypeError} When it is neither, or empty.
 */
export function authkeyBytes(key: string | Uint8Array): Uint8Array {
  const bytes = typeof key === "string"
    ? encoder.encode(key)
    : key instanceof Uint8Array
    ? key.slice()
    : undefined;
  if (bytes === undefined || bytes.length === 0) {
    throw new TypeError(
      "Cannot use the authkey: it must be a non-empty string or Uint8Array",
    );
  }
  return bytes;
}
