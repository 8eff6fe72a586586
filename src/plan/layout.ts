import { posix } from "node:path";
import type { Variant } from "../matrix/expand.js";
import { compareStrings } from "../text.js";
import type { Content } from "./contents.js";
import type { Rendering } from "./render-variants.js";

/**
 * The path of each distinct content's Dockerfile, in `outDir`: one file per content, named after
 * its variants' non-stage axes. Variants that differ only in the stage axis normally share one; if
 * a value of the stage axis changed the content, each content gets its own target's name.
 * Of several candidate names, the smallest wins.
 */
export function layOutFiles(
  outDir: string,
  variants: readonly Variant[],
  renderingOf: ReadonlyMap<Variant, Rendering>,
): Map<Content, string> {
  const contentsByBase = new Map<string, Set<Content>>();
  for (const v of variants) {
    let set = contentsByBase.get(v.dockerfileName);
    if (!set) contentsByBase.set(v.dockerfileName, (set = new Set()));
    set.add(renderingOf.get(v)!.content);
  }
  const baseNameOf = new Map<Content, string>();
  for (const v of [...variants].sort((a, b) => compareStrings(a.name, b.name))) {
    const content = renderingOf.get(v)!.content;
    const candidate = contentsByBase.get(v.dockerfileName)!.size > 1 ? v.name : v.dockerfileName;
    const prev = baseNameOf.get(content);
    if (prev === undefined || compareStrings(candidate, prev) < 0) baseNameOf.set(content, candidate);
  }
  return new Map([...baseNameOf].map(([content, base]) => [content, posix.join(outDir, `${base}.Dockerfile`)]));
}
