/**
 * Benchmarks of shared values and arrays: the cost of an atomic element
 * access through `Value`, `RawArray` and the index proxy of `Array`,
 * against a plain typed array.
 *
 *     deno bench --allow-all bench/shared_value_bench.ts
 *
 * @module
 */

import * as mp from "../mod.ts";

const vi = new mp.Value("i", 0);
const vd = new mp.Value("d", 0);
const vq = new mp.Value("q", 0n);
let sink = 0;

Deno.bench("Value('i').value read", { group: "value" }, () => {
  sink += vi.value;
});
Deno.bench("Value('i').value write", { group: "value" }, () => {
  vi.value = 1;
});
Deno.bench("Value('d').value read (atomic via BigInt64)", {
  group: "value",
}, () => {
  sink += vd.value;
});
Deno.bench("Value('q').value read", { group: "value" }, () => {
  sink += Number(vq.value);
});
const i32 = new Int32Array(new SharedArrayBuffer(4));
Deno.bench("Atomics.load(i32, 0)", { group: "value", baseline: true }, () => {
  sink += Atomics.load(i32, 0);
});

const N = 1024;
const arr = new mp.Array("i", N);
const rawArr = new mp.RawArray("i", N);
const plain = new Int32Array(new SharedArrayBuffer(N * 4));
Deno.bench("Array('i') a[i] via proxy, 1024 reads", { group: "array" }, () => {
  for (let i = 0; i < N; i++) sink += arr[i];
});
Deno.bench("Array('i') a.get(i), 1024 reads", { group: "array" }, () => {
  for (let i = 0; i < N; i++) sink += arr.get(i);
});
Deno.bench("RawArray('i') a.get(i), 1024 reads", { group: "array" }, () => {
  for (let i = 0; i < N; i++) sink += rawArr.get(i);
});
Deno.bench("Array('i') toArray(), 1024 elements", { group: "array" }, () => {
  sink += arr.toArray().length;
});
Deno.bench("Int32Array Atomics.load, 1024 reads", {
  group: "array",
  baseline: true,
}, () => {
  for (let i = 0; i < N; i++) sink += Atomics.load(plain, i);
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink); // keeps the reads from being dropped
});
