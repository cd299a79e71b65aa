// The module imported the way users import it: from a URL. A `jsr:`
// import resolves to `https://jsr.io/…`, so inside the library
// `import.meta.url` is remote. Here the checkout is served over loopback
// HTTP and imported by user programs (tests/testdata/remote/) copied into
// a folder of their own, with their own deno.json (not ours), run with
// the flags a user gives, with a private DENO_DIR so caching is real.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  libraryHost,
  threadEntry,
  withLibraryImport,
} from "../lib/_launch/entry.ts";
import { configOf } from "../lib/_launch/child_flags.ts";
import { type DenoRun, runDenoArgs } from "./testdata/helpers.ts";

const ROOT = new URL("../", import.meta.url);
const TESTDATA = new URL("./testdata/remote/", import.meta.url);

const TYPES: Record<string, string> = {
  ts: "application/typescript; charset=utf-8",
  json: "application/json",
};

/** A static server over the checkout, on a free loopback port. */
function serveCheckout(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.split("/").includes("..")) {
        return new Response("bad path", { status: 400 });
      }
      try {
        const body = await Deno.readFile(new URL(`.${path}`, ROOT));
        const type = TYPES[path.slice(path.lastIndexOf(".") + 1)] ??
          "text/plain";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
}

type Output = DenoRun;

/**
 * Runs `deno <args>` in `cwd`, with a private DENO_DIR when given one.
 * A hung program fails the test rather than the whole run.
 */
function deno(
  cwd: string,
  denoDir: string | undefined,
  args: string[],
): Promise<Output> {
  const env: Record<string, string> = {
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  if (denoDir !== undefined) env.DENO_DIR = denoDir;
  return runDenoArgs(args, { cwd, env, timeoutSeconds: 120 });
}

/** A user's project folder: the programs and a deno.json mapping `mp`. */
async function project(target: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mp-user-" });
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({ imports: { "@seed/multiprocessing": target } }),
  );
  for (const name of ["main.ts", "perm.ts"]) {
    await Deno.copyFile(new URL(name, TESTDATA), `${dir}/${name}`);
  }
  return dir;
}

/** What a full run of main.ts prints (in order). */
const EXPECTED = [
  ...["worker", "subprocess"].flatMap((m) => [
    `${m} pool: ["1 from main.ts","4 from main.ts","9 from main.ts"]`,
    ...(m === "subprocess" ? [`${m} sandboxed pool: ["16 from main.ts"]`] : []),
    `${m} queue: hello ${m} from main.ts`,
    `${m} value: 12`,
    `${m} terminate: -15`,
  ]),
  `manager: {"worker":"from main.ts","subprocess":"from main.ts"}`,
  "served manager: 1",
  "run: 0 true",
];

function lines(out: Output): string[] {
  return out.stdout.trim().split("\n");
}

function explain(out: Output): string {
  return `exit ${out.code}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}`;
}

Deno.test("remote: a program importing the module from a URL uses every feature, then runs again offline", async (t) => {
  const server = serveCheckout();
  const port = server.addr.port;
  const host = `127.0.0.1:${port}`;
  const dir = await project(`http://${host}/mod.ts`);
  const denoDir = await Deno.makeTempDir({ prefix: "mp-deno-dir-" });
  const cacheOnly = await Deno.makeTempDir({ prefix: "mp-deno-dir-" });
  // The flags the README lists for a program using both start methods.
  const flags = [
    `--allow-import=${host}`,
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-run",
  ];
  let serving = true;
  try {
    await t.step("first run: every feature, children included", async () => {
      const out = await deno(dir, denoDir, ["run", ...flags, "main.ts"]);
      assertEquals(out.code, 0, explain(out));
      assertEquals(lines(out), EXPECTED, explain(out));
      // It really came over HTTP.
      assertStringIncludes(out.stderr, `Download http://${host}/lib/`);
    });

    await t.step("too few permissions: named at the call", async () => {
      const out = await deno(dir, denoDir, [
        "run",
        `--allow-import=${host}`,
        "perm.ts",
      ]);
      assertEquals(out.code, 0, explain(out));
      const said = Object.fromEntries(
        lines(out).map((l) => [l.slice(0, l.indexOf(":")), l]),
      );
      // A thread needs no permission to load the library from its URL;
      // a function from a module it may not read fails, saying why.
      assertStringIncludes(
        said["worker pool"],
        `importing file://${dir}/perm.ts failed: Requires read access`,
      );
      for (const what of ["subprocess pool", "subprocess process"]) {
        assertStringIncludes(
          said[what],
          `NotCapable: Cannot start ${
            what === "subprocess pool" ? "pool worker 'PoolWorker-" : "process"
          }`,
        );
        assertStringIncludes(
          said[what],
          `the "subprocess" start method needs --allow-run --allow-read --allow-write --allow-net`,
        );
      }
      assertStringIncludes(
        said["manager"],
        "NotCapable: Cannot start the manager at '127.0.0.1:0': the manager needs --allow-net=127.0.0.1",
      );
      assertStringIncludes(
        said["served manager"],
        "NotCapable: Cannot start the manager at '127.0.0.1:45999': the manager needs --allow-net=127.0.0.1:45999",
      );
    });

    await t.step(
      "deno cache fetches what threads and children load",
      async () => {
        const out = await deno(dir, cacheOnly, [
          "cache",
          ...flags.slice(0, 1),
          "main.ts",
        ]);
        assertEquals(out.code, 0, explain(out));
      },
    );

    await server.shutdown();
    serving = false;

    await t.step(
      "offline, --cached-only: runs again, children included",
      async () => {
        const out = await deno(dir, denoDir, [
          "run",
          "--cached-only",
          ...flags,
          "main.ts",
        ]);
        assertEquals(out.code, 0, explain(out));
        assertEquals(lines(out), EXPECTED, explain(out));
        assert(!out.stderr.includes("Download"), explain(out));
      },
    );

    await t.step("offline, --cached-only after only `deno cache`", async () => {
      const out = await deno(dir, cacheOnly, [
        "run",
        "--cached-only",
        // With --allow-all the children see the program's command line,
        // so they get --cached-only themselves.
        "--allow-all",
        "main.ts",
        "quick",
      ]);
      assertEquals(out.code, 0, explain(out));
      assertEquals(
        lines(out),
        [
          EXPECTED[0],
          EXPECTED[4],
          "child flags: --cached-only --config=",
          EXPECTED.at(-3),
        ],
        explain(out),
      );
    });
  } finally {
    if (serving) await server.shutdown();
    for (const d of [dir, denoDir, cacheOnly]) {
      await Deno.remove(d, { recursive: true });
    }
  }
});

Deno.test("remote: too few permissions for a library loaded from files are named at the call", async () => {
  const dir = await project(new URL("mod.ts", ROOT).href);
  try {
    const out = await deno(dir, undefined, ["run", "perm.ts"]);
    assertEquals(out.code, 0, explain(out));
    const lib = decodeURIComponent(new URL("lib/", ROOT).pathname);
    const said = lines(out);
    assertStringIncludes(
      said[0],
      `worker pool: NotCapable: Cannot start pool worker 'PoolWorker-1': the "worker" start method needs --allow-read=${lib}`,
    );
    assertStringIncludes(
      said[1],
      `worker process: NotCapable: Cannot start process 'Process-`,
    );
    assertStringIncludes(said[1], `needs --allow-read=${lib}`);
    assertStringIncludes(
      said[4],
      "manager: NotCapable: Cannot start the manager",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("remote: a thread's entry is a data: module importing a remote library", async () => {
  const file = new URL("../lib/_launch/worker_entry.ts", import.meta.url);
  assertEquals(threadEntry(file), file);
  const remote = new URL(
    "https://jsr.io/@seed/multiprocessing/0.1.0/lib/_launch/worker_entry.ts",
  );
  const entry = threadEntry(remote);
  assertEquals(entry.protocol, "data:");
  const source = await (await fetch(entry)).text();
  assertEquals(source, `import ${JSON.stringify(remote.href)};`);
});

Deno.test("remote: a child may import from the library's host, and keeps Deno's defaults", () => {
  assertEquals(
    libraryHost("https://jsr.io/@seed/m/0.1.0/lib/a.ts"),
    "jsr.io:443",
  );
  assertEquals(libraryHost("http://127.0.0.1:8080/lib/a.ts"), "127.0.0.1:8080");
  assertEquals(libraryHost("file:///x/lib/a.ts"), undefined);
  const host = "127.0.0.1:8080";
  // Loaded from files: nothing to add.
  assertEquals(withLibraryImport(null, undefined), null);
  assertEquals(withLibraryImport(false, undefined), false);
  assertEquals(withLibraryImport(true, host), true);
  assertEquals(withLibraryImport(["esm.sh:443"], host), ["esm.sh:443", host]);
  assertEquals(withLibraryImport([host], host), [host]);
  // `permissions: "none"`: the library's host only.
  assertEquals(withLibraryImport(false, host), [host]);
  // Deno's default list covers JSR; a flag would replace that list.
  assertEquals(withLibraryImport(null, "jsr.io:443"), null);
  // Another host: listed, with the default hosts this program may use
  // (all of them, under --allow-all).
  const grant = withLibraryImport(null, host) as string[];
  assertEquals(grant.at(-1), host);
  assert(grant.includes("jsr.io:443") && grant.includes("deno.land:443"));
});

Deno.test("remote: a child never gets Deno's default import hosts its program lacks", async () => {
  const script = new URL("import_hosts.ts", TESTDATA);
  const out = await deno(decodeURIComponent(ROOT.pathname), undefined, [
    "run",
    `--allow-read=${decodeURIComponent(ROOT.pathname)}`,
    "--allow-import=jsr.io:443,esm.sh:443",
    decodeURIComponent(script.pathname),
  ]);
  assertEquals(out.code, 0, explain(out));
  assertEquals(JSON.parse(out.stdout), [
    ["jsr.io:443", "esm.sh:443"],
    ["jsr.io:443", "esm.sh:443", "127.0.0.1:8080"],
  ]);
});

Deno.test("remote: a child gets the config Deno found for the program", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mp-config-" });
  try {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.writeTextFile(`${dir}/deno.jsonc`, "{}");
    const main = new URL(`file://${dir}/a/b/main.ts`).href;
    assertEquals(configOf(main), `${dir}/deno.jsonc`);
    await Deno.writeTextFile(`${dir}/a/deno.json`, "{}");
    assertEquals(configOf(main), `${dir}/a/deno.json`);
    assertEquals(configOf("https://example.com/main.ts"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
