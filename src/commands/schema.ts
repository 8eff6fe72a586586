import type { Output } from "../command-support/types.js";
import { contextJsonSchema } from "../config/json-schema.js";

export function schema(output: Output): void {
  output.out(contextJsonSchema());
}
