/**
 * Where the library's own entry modules are (a worker's, a manager
 * thread's, an OS child's), whether the library was loaded from files or
 * from a URL (`jsr:` resolves to `https://jsr.io/…`, so `import.meta.url`
 * is then an `https:` URL).
 *
 * @module
 */

/**
 * A `node:worker_threads` entry for one of the library's modules. Deno
 * takes only `file:` and `data:` URLs there, so a module loaded from
 * `http(s):` is started through a one-line `data:` module that imports it
 * (a `data:` module may import remote ones; the import is checked against
 * `--allow-import` as any other).
 *
 * @param url The module's URL (from `new URL(…, import.meta.url)`).
 * @returns What to pass to `new Worker()`.
 */
export function threadEntry(url: URL): URL {
  if (url.protocol === "file:" || url.protocol === "data:") return url;
  return new URL(
    `data:text/javascript,${
      encodeURIComponent(`import ${JSON.stringify(url.href)};`)
    }`,
  );
}

/**
 * The hosts Deno lets a program import from when it is given no
 * `--allow-import` (Deno 2's default list).
 */
const DEFAULT_IMPORT_HOSTS = [
  "deno.land:443",
  "jsr.io:443",
  "esm.sh:443",
  "cdn.jsdelivr.net:443",
  "raw.githubusercontent.com:443",
  "gist.githubusercontent.com:443",
];

/**
 * The host (`name:port`) a remote library was loaded from.
 *
 * @param url The library's URL (`import.meta.url`).
 * @returns The host, or `undefined` for a library loaded from files.
 */
export function libraryHost(url: string = import.meta.url): string | undefined {
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
}

/**
 * A `deno` child's `--allow-import` list, so that it can load the library
 * from where this program did. `grant` is what the child gets otherwise:
 * `true` (every host), `null` (no flag: Deno's default list), `false`
 * (the user gave it no imports) or a list.
 *
 * A flag replaces Deno's default list, so when the child would have had
 * it, it keeps those of its hosts this program may import from.
 *
 * @param grant The child's import grant without the library's host.
 * @param host The library's host (from {@linkcode libraryHost}).
 * @returns The grant to use.
 */
export function withLibraryImport(
  grant: boolean | string[] | null,
  host: string | undefined,
): boolean | string[] | null {
  if (host === undefined || grant === true) return grant;
  if (Array.isArray(grant)) {
    return grant.includes(host) ? grant : [...grant, host];
  }
  if (grant === false) return [host];
  const kept = DEFAULT_IMPORT_HOSTS.filter((h) =>
    granted({ name: "import", host: h })
  );
  // No flag gives the child the whole default list: right only when this
  // program has it too (a child never gets more than its parent).
  if (
    kept.length === DEFAULT_IMPORT_HOSTS.length &&
    DEFAULT_IMPORT_HOSTS.includes(host)
  ) {
    return null;
  }
  return kept.includes(host) ? kept : [...kept, host];
}

/**
 * Never called. Its literal imports put the entry modules in the
 * program's module graph, so that Deno fetches and caches them (and
 * records them in the lock file) with the program: a program that ran
 * once, or was `deno cache`d, then runs with `--cached-only`, even if it
 * first starts a thread or a child later.
 *
 * @returns The entry modules.
 */
export function entryModules(): Promise<unknown>[] {
  return [
    import("./worker_entry.ts"),
    import("./child_entry.ts"),
    // What a worker thread loads later, by a computed specifier.
    import("./run_process.ts"),
    import("./shareables.ts"),
    import("../_manager/worker.ts"),
    import("../_manager/child_entry.ts"),
  ];
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/** Known not granted (a descriptor Deno cannot read is not held against us). */
function denied(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state !== "granted";
  } catch {
    return false;
  }
}

/**
 * A `file:` URL's path, in the platform's form.
 *
 * @param url The URL.
 * @returns The path.
 */
export function pathOf(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  return Deno.build.os === "windows"
    ? path.replace(/^\/([a-zA-Z]:)/, "$1").replaceAll("/", "\\")
    : path;
}

/** The directory Deno makes temporary directories in, as far as it may know. */
function tempDir(): string {
  if (granted({ name: "env", variable: "TMPDIR" })) {
    const dir = Deno.env.get("TMPDIR");
    if (dir) return dir.replace(/\/+$/, "");
  }
  return "/tmp";
}

/** Start methods whose permissions were found sufficient (they rarely change). */
const sufficient = new Set<string>();

/**
 * Checks that this program has the permissions a start method needs, so
 * that a program run with too few flags hears which ones and why, at the
 * call, rather than a bare `NotCapable` from deep inside.
 *
 * - `"worker"` and `"manager"` (a thread): a library loaded from files
 *   needs read access to its entry module, which Deno checks for every
 *   `node:worker_threads` entry. (Loaded from a URL, it needs none: the
 *   thread imports it as the program did.)
 * - `"subprocess"`: `--allow-run` for `deno` itself; `--allow-read` and
 *   `--allow-write` for the channel, a Unix socket in a private temporary
 *   directory, and `--allow-net` for it (Deno checks net access to Unix
 *   sockets too; loopback TCP on Windows).
 *
 * @param method What is started.
 * @param action What is being done, for the error message.
 * @param listen For the manager, the address it listens on.
 * @throws {Deno.errors.NotCapable} When a permission is missing.
 */
export function checkCanStart(
  method: "worker" | "subprocess" | "manager",
  action: string,
  listen?: { hostname: string; port: number },
): void {
  if (listen !== undefined) {
    const name = listen.hostname.includes(":")
      ? `[${listen.hostname}]`
      : listen.hostname;
    // What Deno checks: the host with the port asked for (0: any free).
    if (denied({ name: "net", host: `${name}:${listen.port}` })) {
      const flag = listen.port === 0 ? name : `${name}:${listen.port}`;
      throw new Deno.errors.NotCapable(
        `Cannot ${action}: the manager needs --allow-net=${flag}: it listens for its proxies on TCP at '${flag}'`,
      );
    }
  }
  if (sufficient.has(method)) return;
  const missing: string[] = [];
  let why: string;
  if (method === "subprocess") {
    const deno = Deno.execPath();
    if (!granted({ name: "run", command: deno })) missing.push("--allow-run");
    if (Deno.build.os === "windows") {
      if (!granted({ name: "net", host: "127.0.0.1" })) {
        missing.push("--allow-net");
      }
      why =
        `it runs '${deno}' (--allow-run) and talks to each child over loopback TCP (--allow-net)`;
    } else {
      const dir = tempDir();
      if (!granted({ name: "read", path: dir })) missing.push("--allow-read");
      if (!granted({ name: "write", path: dir })) missing.push("--allow-write");
      if (!granted({ name: "net", host: `unix:${dir}/mp-check.sock` })) {
        missing.push("--allow-net");
      }
      why =
        `it runs '${deno}' (--allow-run) and talks to each child over a Unix socket in a private directory under '${dir}' (--allow-read, --allow-write, and --allow-net, which Deno checks for Unix sockets too)`;
    }
  } else {
    const entry = new URL(
      method === "worker" ? "./worker_entry.ts" : "../_manager/worker.ts",
      import.meta.url,
    );
    if (
      entry.protocol === "file:" &&
      !granted({ name: "read", path: pathOf(entry) })
    ) {
      const dir = pathOf(new URL(".", entry));
      missing.push(`--allow-read=${dir}`);
      why = `Deno checks read access to a worker thread's entry module, '${
        pathOf(entry)
      }'`;
    } else {
      why = "";
    }
  }
  if (missing.length === 0) {
    sufficient.add(method);
    return;
  }
  const label = method === "manager"
    ? "the manager's thread"
    : `the "${method}" start method`;
  throw new Deno.errors.NotCapable(
    `Cannot ${action}: ${label} needs ${missing.join(" ")}: ${why}`,
  );
}
