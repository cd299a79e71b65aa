/**
 * The manager's handshake: both sides prove they know the authkey
 * (HMAC-SHA256 over a fresh random nonce each), before any message. See
 * `wire.ts` for the exchange.
 *
 * @module
 */

import { frame, type FrameReader, writeAll } from "./frames.ts";
import { toBase64 } from "./values.ts";

/** The first bytes a server sends; also a protocol version. */
const MAGIC = new TextEncoder().encode("MPM1");
/** Nonce and MAC length, in bytes. */
const NONCE = 32;

const encoder = new TextEncoder();

// --- Handshake ----------------------------------------------------------

const keys = new Map<string, Promise<CryptoKey>>();

/**
 * The authkey as an HMAC key, imported once per key, and signed with
 * once: WebCrypto's first import and first signature in a process cost
 * 2-6 ms (measured). Calling it early (while the other side starts or
 * connects) takes that cost off the way of the first handshake.
 *
 * @param authkey The key.
 * @returns The imported key.
 */
export function hmacKey(authkey: Uint8Array): Promise<CryptoKey> {
  const id = toBase64(authkey);
  let k = keys.get(id);
  if (k === undefined) {
    k = crypto.subtle.importKey(
      "raw",
      authkey as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    ).then(async (key) => {
      await crypto.subtle.sign("HMAC", key, new Uint8Array(0));
      return key;
    });
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
