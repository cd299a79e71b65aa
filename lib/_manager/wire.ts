/**
 * What a manager's server and its clients say to each other over TCP, in
 * one place: frames, the authkey handshake, the value encoding and the
 * request/response shapes.
 *
 * This file holds the shapes and limits both sides use; the pieces are in
 * `frames.ts` (reading and writing frames), `handshake.ts` and `values.ts`
 * (the value encoding, and base64).
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

import { frame } from "./frames.ts";

/** A server's TCP address: `[hostname, port]`. */
export type Address = [hostname: string, port: number];

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

/** The keys a managed dict takes (compared by value, as in a `Map`). */
export type DictKey = string | number | bigint | boolean | null;

/** {@linkcode TYPEIDS} as a set. */
export const TYPEID_SET: ReadonlySet<string> = new Set(TYPEIDS);

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

// --- Messages -----------------------------------------------------------

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
