import { readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `stack` with each frame in a file of the bundle (dist/*.js, with its linked `.map`) shown at
 * its source position (src/...ts:line:col); other frames, and any file without a readable map (the
 * package ships none), as they are. Source maps are read only here, for an internal error:
 * Node's `--enable-source-maps` would parse them at every start.
 */
export function sourceMappedStack(stack: string): string {
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (file: string) => {
    if (!maps.has(file)) {
      let map: SourceMap | undefined;
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8")) as SourceMapPayload);
      } catch {
        map = undefined;
      }
      maps.set(file, map);
    }
    return maps.get(file);
  };
  return stack.replace(/(file:\/\/\/[^\s()]+|\/[^\s():]+\.[cm]?js):(\d+):(\d+)/g, (frame, at: string, line, column) => {
    const file = at.startsWith("file:") ? fileURLToPath(at) : at;
    const entry = mapOf(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !("originalSource" in entry)) return frame;
    const source = resolve(dirname(file), entry.originalSource);
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}
