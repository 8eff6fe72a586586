import * as z from "zod";
import { ContextSchema } from "./schema.js";

/** JSON Schema of context.yaml as a user writes it (defaults optional), for editors. */
export function contextJsonSchema(): string {
  const schema = z.toJSONSchema(ContextSchema, { io: "input", target: "draft-2020-12" });
  return `${JSON.stringify({ ...schema, title: "bakeplan context.yaml" }, null, 2)}\n`;
}
