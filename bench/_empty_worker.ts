/**
 * An empty `node:worker_threads` worker: it posts one message as soon as it
 * runs. `bench/pool_bench.ts` times its start as the platform's floor.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

parentPort!.postMessage("up");
