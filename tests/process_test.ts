// The Process tests with the default "worker" start method (the suite is
// shared with tests/process_subprocess_test.ts).
import { processSuite } from "./testdata/process_suite.ts";

processSuite("worker");
