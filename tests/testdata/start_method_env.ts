// Helper programs started by the tests use the start method the test
// asks for in MP_TEST_START_METHOD ("worker" when unset).
import { setStartMethod, type StartMethod } from "../../mod.ts";

export function useTestStartMethod(): void {
  const method = Deno.env.get("MP_TEST_START_METHOD");
  if (method) setStartMethod(method as StartMethod);
}
