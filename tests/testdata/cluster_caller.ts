/**
 * A caller that dies: uses two broker pools, then waits to be SIGKILLed.
 * Args: broker URL, marker path.
 */
import * as mp from "../../lib/cluster.ts";

const [broker, marker] = Deno.args;
const tasks = new URL("./cluster_tasks.ts", import.meta.url);
const own = new mp.Pool(1, { broker, name: "exp", expire: 1 });
console.log(await own.apply({ module: tasks, name: "add" }, [1, 2]));
const client = new mp.Pool(0, { broker, name: "exp2", expire: 1 });
client.applyAsync({ module: tasks, name: "touch" }, [marker]);
await new Promise((r) => setTimeout(r, 300));
console.log("ready");
await new Promise(() => setInterval(() => {}, 1000));
