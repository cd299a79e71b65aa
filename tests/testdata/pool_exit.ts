// A program that uses a pool and never closes it: it must still exit
// (idle pool workers do not keep the program alive).
import { Pool } from "../../mod.ts";
import { square } from "./tasks.ts";
import { useTestStartMethod } from "./start_method_env.ts";

if (import.meta.main) {
  useTestStartMethod();
  const pool = new Pool(2);
  console.log(JSON.stringify(await pool.map(square, [1, 2, 3])));
}
