import { dirname, join, resolve } from "node:path";

/** The bake file a command writes or compares: `--out`, else docker-bake.json next to the context file. */
export function bakeFilePath(configPath: string, out: string | undefined): string {
  return out !== undefined ? resolve(out) : join(dirname(resolve(configPath)), "docker-bake.json");
}
