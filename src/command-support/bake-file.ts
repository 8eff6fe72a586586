import { dirname, join, resolve } from "node:path";

/**
 * The bake file a command writes or compares: `--out`, else docker-bake.json next to the context
 * file; `--out dir/` (a trailing slash) names a directory, and the bake file is docker-bake.json in it.
 */
export function bakeFilePath(configPath: string, out: string | undefined): string {
  if (out === undefined) return join(dirname(resolve(configPath)), "docker-bake.json");
  return /[\\/]$/.test(out) ? join(resolve(out), "docker-bake.json") : resolve(out);
}
