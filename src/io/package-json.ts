import { readFileSync } from "node:fs";

/** bakeplan's version, from its package.json (src/io/ and dist/io/ both sit two levels below it). */
export function bakeplanVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}
