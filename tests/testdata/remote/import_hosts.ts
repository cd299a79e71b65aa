// Run by tests/remote_test.ts with a narrowed --allow-import: prints the
// --allow-import list a child gets for a library from JSR and from
// another host.
import { withLibraryImport } from "../../../lib/_launch/entry.ts";

console.log(JSON.stringify([
  withLibraryImport(null, "jsr.io:443"),
  withLibraryImport(null, "127.0.0.1:8080"),
]));
