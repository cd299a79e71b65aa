import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import * as mp from "../mod.ts";
import { encodeShared, kShare } from "../lib/_common/transfer.ts";
import { shareables } from "../lib/_launch/shareables.ts";

const BARE = new URL("./testdata/bare_tasks.ts", import.meta.url).href;

/** Every class exported from mod.ts whose instances have `[kShare]`. */
function exportedShareables(): [string, { name: string }][] {
  return Object.entries(mp).filter(([, v]) =>
    typeof v === "function" &&
    typeof (v as { prototype?: Record<symbol, unknown> }).prototype
        ?.[kShare] === "function"
  ) as [string, { name: string }][];
}

Deno.test("shareables: every shareable class exported from mod.ts is in the registry", () => {
  const listed = new Set<unknown>();
  for (const e of shareables()) {
    listed.add(e.cls);
    for (const sub of e.subclasses ?? []) listed.add(sub);
  }
  const found = exportedShareables();
  // The walk sees the classes it must (it is not vacuous).
  assert(found.length >= 20, `found only ${found.length}`);
  // Abstract bases have no instances of their own: their listed
  // subclasses cross (`SemLock` under Lock, RLock and Semaphore).
  const abstractBases = new Set<unknown>([mp.SemLock]);
  const missing = found
    .filter(([, cls]) => !listed.has(cls) && !abstractBases.has(cls))
    .map(([name, cls]) => `${name} (class ${cls.name})`);
  assertEquals(
    missing,
    [],
    `not in lib/_launch/shareables.ts: ${missing.join(", ")}`,
  );
});

Deno.test("shareables: each tag is registered once", () => {
  const tags = shareables().map((e) => e.tag);
  assertEquals(tags.length, new Set(tags).size);
});

/** A primitive of a class that is not in the registry. */
class Unlisted {
  [kShare]() {
    return { tag: "test.Unlisted", id: "1", data: {} };
  }
}

Deno.test("shareables: sending a primitive whose class is not registered throws, naming it", () => {
  assertThrows(
    () => encodeShared({ nested: [new Unlisted()] }),
    TypeError,
    "Cannot send a 'Unlisted': its class is not in the registry of shareable classes; add it to lib/_launch/shareables.ts",
  );
});

Deno.test("shareables: Process.start() with an unregistered primitive throws, and no child starts", () => {
  const p = new mp.Process({
    target: { module: BARE, name: "fill" },
    args: [new Unlisted()],
  });
  assertThrows(() => p.start(), TypeError, "'Unlisted'");
  assertEquals(p.pid, null);
  assert(!p.isAlive());
});

Deno.test("shareables: a pool task with an unregistered primitive rejects, naming it", async () => {
  await using pool = new mp.Pool(1);
  await assertRejects(
    () => pool.apply({ module: BARE, name: "fill" }, [new Unlisted()]),
    TypeError,
    "'Unlisted'",
  );
});

for (const startMethod of ["worker", "subprocess"] as const) {
  Deno.test(`shareables: a target that imports nothing still gets working primitives (${startMethod})`, async () => {
    const v = new mp.Value("i", 0);
    const a = new mp.Array("i", 4);
    const ps = [
      new mp.Process({
        target: { module: BARE, name: "bump" },
        args: [v, 50],
        startMethod,
      }),
      new mp.Process({
        target: { module: BARE, name: "bump" },
        args: [v, 50],
        startMethod,
      }),
      new mp.Process({
        target: { module: BARE, name: "fill" },
        args: [a],
        startMethod,
      }),
    ];
    for (const p of ps) p.start();
    for (const p of ps) await p.join();
    assertEquals(ps.map((p) => p.exitCode), [0, 0, 0]);
    assertEquals(v.value, 100);
    assertEquals(a.toArray(), [0, 1, 2, 3]);
  });
}
