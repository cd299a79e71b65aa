// The Pool tests with the default "worker" start method (the suite is
// shared with tests/pool_subprocess_test.ts).
import { poolSuite } from "./testdata/pool_suite.ts";

poolSuite("worker");
