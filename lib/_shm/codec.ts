/**
 * How an item becomes bytes in a queue or pipe, and back.
 *
 * Two formats, chosen per item by the first payload byte:
 *
 * - `FORMAT_FAST`: a compact tagged encoding of the values that make up
 *   nearly all messages (`undefined`, `null`, booleans, numbers, bigints,
 *   strings, `Date`, `Uint8Array`, dense arrays and plain objects), written
 *   with `DataView` and `TextEncoder.encodeInto`. About 10× cheaper than
 *   `node:v8` serialization for small items (see bench/RESULTS.md).
 * - `FORMAT_V8`: V8's own structured-clone wire format (`node:v8`'s base
 *   `Serializer`), for everything else (`Map`, `Set`, other typed arrays,
 *   `RegExp`, errors, shared or cyclic references, sparse arrays …), so
 *   no type is lost. Not `v8.serialize()`: its `DefaultSerializer` writes
 *   typed arrays as Node "host objects" that `v8.deserialize()` rebuilds
 *   as views into its input or into an 8 KiB pool buffer holding other
 *   bytes; the base classes keep each view's own `ArrayBuffer`, offset
 *   and sharing, as `structuredClone` does.
 * - `FORMAT_BYTES`: raw bytes, for `Connection.sendBytes()`.
 *
 * The fast encoder gives up (and the item goes through v8) as soon as it
 * meets anything it cannot reproduce exactly, so both formats decode to
 * what `structuredClone(item)` would give.
 *
 * @module
 */

import { Deserializer, Serializer } from "node:v8";
import { refuseShareables } from "../_common/transfer.ts";

/** The payload holds the fast tagged encoding. */
export const FORMAT_FAST = 0;
/** The payload holds `node:v8` serialized bytes. */
export const FORMAT_V8 = 1;
/** The payload holds raw bytes (`sendBytes`). */
export const FORMAT_BYTES = 2;

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT32 = 4;
const T_FLOAT64 = 5;
const T_STRING = 6;
const T_ARRAY = 7;
const T_OBJECT = 8;
const T_BIGINT = 9;
const T_DATE = 10;
const T_BYTES = 11;

/** The values of the one-byte tags, by tag. */
const CONSTANTS = [undefined, null, false, true];

/** Deeper than this, an item goes through v8 (which handles any depth). */
const MAX_DEPTH = 64;
/** Strings up to this many UTF-16 units are tried as ASCII by hand. */
const SHORT_STRING = 64;

/** Thrown inside the fast encoder to fall back to v8; never escapes. */
const GIVE_UP = Symbol("give up");

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * A reusable, growable output buffer. One per thread is enough: encoding
 * is synchronous, so two encodes never overlap.
 */
export class Writer {
  /** The bytes written so far are `buf.subarray(0, pos)`. */
  buf: Uint8Array = new Uint8Array(1 << 12);
  /** A view over `buf` for numbers. */
  view: DataView = new DataView(this.buf.buffer);
  /** The write position. */
  pos = 0;
  /** Objects on the current path and already written (identity check). */
  seen: object[] = [];

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

const shared = new Writer();

/**
 * Encodes `item` (format byte first) into the thread's shared writer.
 * The result is valid until the next call.
 *
 * @param item Any structured-cloneable value.
 * @returns A view of the encoded bytes.
 * @throws {DOMException} `DataCloneError` when `item` cannot be cloned.
 */
export function encodeItem(item: unknown): Uint8Array {
  const w = shared;
  w.pos = 0;
  w.seen.length = 0;
  w.ensure(1);
  w.buf[w.pos++] = FORMAT_FAST;
  try {
    writeValue(w, item, 0);
    return w.buf.subarray(0, w.pos);
  } catch (e) {
    if (e !== GIVE_UP) throw e;
  }
  w.seen.length = 0;
  // The fast format gives up on any other class, so a primitive of this
  // module is found here: v8 would write it as an empty object.
  refuseShareables(item);
  let bytes: Uint8Array;
  try {
    const s = new Serializer();
    s.writeHeader();
    s.writeValue(item);
    bytes = s.releaseBuffer();
  } catch (e) {
    // Report it the way structuredClone would, whatever node:v8 threw.
    throw new DOMException(
      `Cannot send the item: it cannot be cloned (${
        (e as Error)?.message ?? e
      })`,
      "DataCloneError",
    );
  }
  return framed(FORMAT_V8, bytes);
}

/**
 * Encodes raw bytes (format byte first) into the thread's shared writer.
 *
 * @param bytes The bytes to send.
 * @returns A view of the encoded bytes, valid until the next encode.
 */
export function encodeBytes(bytes: Uint8Array): Uint8Array {
  return framed(FORMAT_BYTES, bytes);
}

/** Writes `format` then `bytes` into the thread's shared writer. */
function framed(format: number, bytes: Uint8Array): Uint8Array {
  const w = shared;
  w.pos = 0;
  w.ensure(bytes.length + 1);
  w.buf[0] = format;
  w.buf.set(bytes, 1);
  w.pos = bytes.length + 1;
  return w.buf.subarray(0, w.pos);
}

function remember(w: Writer, obj: object): void {
  // Structured clone keeps shared and cyclic references; the fast format
  // does not, so any object met twice sends the whole item through v8.
  // Items hold few objects, so a linear scan beats a Set here.
  const seen = w.seen;
  if (seen.length > 256) throw GIVE_UP;
  for (let i = 0; i < seen.length; i++) if (seen[i] === obj) throw GIVE_UP;
  seen.push(obj);
}

function writeString(w: Writer, s: string): void {
  const n = s.length;
  if (n <= SHORT_STRING) {
    w.ensure(5 + n);
    const buf = w.buf;
    const start = w.pos + 5;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      buf[start + i] = c;
    }
    if (i === n) {
      buf[w.pos] = T_STRING;
      w.view.setUint32(w.pos + 1, n, true);
      w.pos = start + n;
      return;
    }
  }
  // A lone surrogate has no UTF-8 form (it would arrive as U+FFFD);
  // structuredClone keeps it, and so does v8's format.
  if (!s.isWellFormed()) throw GIVE_UP;
  // Not short ASCII: UTF-8 takes at most 3 bytes per UTF-16 unit.
  w.ensure(5 + n * 3);
  const { written } = textEncoder.encodeInto(
    s,
    w.buf.subarray(w.pos + 5),
  );
  w.buf[w.pos] = T_STRING;
  w.view.setUint32(w.pos + 1, written, true);
  w.pos += 5 + written;
}

function writeValue(w: Writer, v: unknown, depth: number): void {
  switch (typeof v) {
    case "number":
      writeNumber(w, v);
      return;
    case "string":
      writeString(w, v);
      return;
    case "boolean":
      writeTag(w, v ? T_TRUE : T_FALSE);
      return;
    case "undefined":
      writeTag(w, T_UNDEFINED);
      return;
    case "bigint":
      writeTag(w, T_BIGINT);
      writeString(w, v.toString(16));
      return;
    case "object":
      if (v === null) writeTag(w, T_NULL);
      else writeObject(w, v, depth);
      return;
    default:
      // Functions and symbols: v8 reports them as it should.
      throw GIVE_UP;
  }
}

function writeTag(w: Writer, tag: number): void {
  w.ensure(1);
  w.buf[w.pos++] = tag;
}

/** Writes a tag and a u32 count or length after it. */
function writeHead(w: Writer, tag: number, n: number): void {
  w.ensure(5);
  w.buf[w.pos] = tag;
  w.view.setUint32(w.pos + 1, n, true);
  w.pos += 5;
}

/** Writes a tag and a float64 after it. */
function writeFloat(w: Writer, tag: number, v: number): void {
  w.ensure(9);
  w.buf[w.pos] = tag;
  w.view.setFloat64(w.pos + 1, v, true);
  w.pos += 9;
}

function writeNumber(w: Writer, v: number): void {
  if ((v | 0) !== v || (v === 0 && 1 / v < 0)) {
    writeFloat(w, T_FLOAT64, v); // Also -0, which an int32 would lose.
    return;
  }
  w.ensure(5);
  w.buf[w.pos] = T_INT32;
  w.view.setInt32(w.pos + 1, v, true);
  w.pos += 5;
}

function writeObject(w: Writer, v: object, depth: number): void {
  if (depth >= MAX_DEPTH) throw GIVE_UP;
  if (Array.isArray(v)) {
    writeArray(w, v, depth);
    return;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    remember(w, v);
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec);
    writeHead(w, T_OBJECT, keys.length);
    for (let i = 0; i < keys.length; i++) {
      writeString(w, keys[i]);
      writeValue(w, rec[keys[i]], depth + 1);
    }
    return;
  }
  if (proto === Date.prototype) {
    remember(w, v);
    writeFloat(w, T_DATE, (v as Date).getTime());
    return;
  }
  if (proto === Uint8Array.prototype) {
    writeBytes(w, v as Uint8Array);
    return;
  }
  throw GIVE_UP;
}

function writeArray(w: Writer, v: unknown[], depth: number): void {
  if (Object.getPrototypeOf(v) !== Array.prototype) throw GIVE_UP;
  remember(w, v);
  const n = v.length;
  writeHead(w, T_ARRAY, n);
  for (let i = 0; i < n; i++) {
    const e = v[i];
    // A hole must stay a hole; only v8 keeps that.
    if (e === undefined && !(i in v)) throw GIVE_UP;
    writeValue(w, e, depth + 1);
  }
}

function writeBytes(w: Writer, u8: Uint8Array): void {
  // A view of part of a buffer, or of a shared or resizable one, clones
  // with its whole buffer: leave that to v8.
  const buffer = u8.buffer as ArrayBuffer;
  if (
    u8.byteOffset !== 0 || u8.byteLength !== buffer.byteLength ||
    !(buffer instanceof ArrayBuffer) || buffer.resizable
  ) {
    throw GIVE_UP;
  }
  remember(w, u8);
  writeHead(w, T_BYTES, u8.length);
  w.ensure(u8.length);
  w.buf.set(u8, w.pos);
  w.pos += u8.length;
}

/**
 * Decodes what {@linkcode encodeItem} or {@linkcode encodeBytes} wrote.
 *
 * @param bytes The payload, format byte first. Not kept: the result
 * shares no memory with it.
 * @returns The item.
 */
export function decodeItem(bytes: Uint8Array): unknown {
  switch (bytes[0]) {
    case FORMAT_FAST: {
      const r: Reader = {
        buf: bytes,
        view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        pos: 1,
      };
      return readValue(r);
    }
    case FORMAT_V8: {
      // V8 copies every ArrayBuffer out of `bytes` into a fresh one.
      const d = new Deserializer(bytes.subarray(1));
      d.readHeader();
      return d.readValue();
    }
    case FORMAT_BYTES:
      return bytes.slice(1);
    default:
      throw new TypeError(
        `Cannot decode the item: unknown format '${bytes[0]}'`,
      );
  }
}

/** An own data property, as `structuredClone` gives every key. */
function own(value: unknown): PropertyDescriptor {
  return { value, writable: true, enumerable: true, configurable: true };
}

interface Reader {
  buf: Uint8Array;
  view: DataView;
  pos: number;
}

function readString(r: Reader): string {
  const n = r.view.getUint32(r.pos + 1, true);
  const start = r.pos + 5;
  r.pos = start + n;
  if (n <= 16) {
    // Short strings: a loop beats TextDecoder's call overhead when ASCII.
    let s = "";
    const buf = r.buf;
    for (let i = start; i < start + n; i++) {
      const c = buf[i];
      if (c > 0x7f) return textDecoder.decode(buf.subarray(start, start + n));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return textDecoder.decode(r.buf.subarray(start, start + n));
}

function readValue(r: Reader): unknown {
  const tag = r.buf[r.pos];
  switch (tag) {
    case T_INT32: {
      const v = r.view.getInt32(r.pos + 1, true);
      r.pos += 5;
      return v;
    }
    case T_FLOAT64: {
      const v = r.view.getFloat64(r.pos + 1, true);
      r.pos += 9;
      return v;
    }
    case T_STRING:
      return readString(r);
    case T_UNDEFINED:
    case T_NULL:
    case T_FALSE:
    case T_TRUE:
      r.pos++;
      return CONSTANTS[tag];
    case T_BIGINT: {
      r.pos++;
      const hex = readString(r);
      return hex[0] === "-" ? -BigInt("0x" + hex.slice(1)) : BigInt("0x" + hex);
    }
    case T_ARRAY: {
      const n = r.view.getUint32(r.pos + 1, true);
      r.pos += 5;
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(r);
      return out;
    }
    case T_OBJECT: {
      const n = r.view.getUint32(r.pos + 1, true);
      r.pos += 5;
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const key = readString(r);
        const value = readValue(r);
        // Plain assignment of "__proto__" would set the prototype instead.
        if (key === "__proto__") Object.defineProperty(out, key, own(value));
        else out[key] = value;
      }
      return out;
    }
    case T_DATE: {
      const t = r.view.getFloat64(r.pos + 1, true);
      r.pos += 9;
      return new Date(t);
    }
    case T_BYTES: {
      const n = r.view.getUint32(r.pos + 1, true);
      const start = r.pos + 5;
      r.pos = start + n;
      return r.buf.slice(start, start + n);
    }
    default:
      throw new TypeError(`Cannot decode the item: unknown tag '${tag}'`);
  }
}
