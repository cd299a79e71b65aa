/**
 * The manager's value encoding: JSON with tags for what JSON lacks
 * (`undefined`, non-finite numbers and `-0`, `bigint`, `Date`, `Map`,
 * `Set`, typed arrays, `ArrayBuffer`, errors and references to managed
 * objects), and base64 for bytes. See `wire.ts` for the protocol.
 *
 * @module
 */

import { setOwn } from "../_common/walk.ts";
import { type RefData, TYPEID_SET, type WireError } from "./wire.ts";

/** How deep a value may nest. */
const MAX_DEPTH = 512;

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
  return decTagged(rec, tag, hooks, d);
}

/** Decodes a `{ $: tag, v: … }` object; `d` is the depth of its contents. */
function decTagged(
  rec: Record<string, unknown>,
  tag: unknown,
  hooks: DecodeHooks,
  d: number,
): unknown {
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
