// Every image the selected targets pull, with where each comes from: the list `images` prints,
// `preflight` resolves and `lock` pins.

import type { Project } from "../config/normalize.js";
import { formatLocation } from "../errors.js";
import type { Plan } from "../plan/plan.js";
import { targetBuild, type ImageUse } from "../plan/stage-graph.js";
import type { PlannedTarget } from "../plan/targets.js";
import { parseInstructions, type DockerfileInstructions } from "../render/instructions.js";
import { templateLineOf } from "../render/source-map.js";
import type { TemplateFiles } from "../render/templates.js";
import { compareStrings } from "../text.js";

export interface ImageNeed {
  /** As the build names it, ARGs substituted. */
  ref: string;
  /** Platforms some target pulls it for; empty: only the builder's own (the `# syntax=` frontend). */
  platforms: string[];
  targets: string[];
  /** Per target, the platforms it needs. */
  byTarget: Map<string, string[]>;
  /** Where the reference comes from: a context.yaml key, or a Dockerfile line and its template line. */
  sources: string[];
  /** The `images:` ARGs whose value it is, e.g. BASE_IMAGE. */
  args: string[];
}

export interface ImageList {
  images: ImageNeed[];
  /** References that cannot be pulled as written (empty after ARG substitution). */
  problems: string[];
}

const KIND: Record<ImageUse["kind"], string> = { from: "FROM", copy: "COPY --from", mount: "RUN --mount from=" };

export function collectImages(
  plan: Plan,
  project: Project,
  templates: TemplateFiles,
  targets: readonly string[],
  buildPlatform: string,
): ImageList {
  const byRef = new Map<string, ImageNeed>();
  const problems: string[] = [];
  const parsed = new Map<string, DockerfileInstructions>();
  const content = new Map(plan.files.map((f) => [f.path, f] as const));
  const need = (ref: string) => {
    let n = byRef.get(ref);
    if (!n) byRef.set(ref, (n = { ref, platforms: [], targets: [], byTarget: new Map(), sources: [], args: [] }));
    return n;
  };
  const add = (n: ImageNeed, target: string, platform: string | undefined, source: string, arg?: string) => {
    let list = n.byTarget.get(target);
    if (!list) n.byTarget.set(target, (list = []));
    if (platform !== undefined && !list.includes(platform)) list.push(platform);
    if (!n.sources.includes(source)) n.sources.push(source);
    if (arg !== undefined && !n.args.includes(arg)) n.args.push(arg);
  };
  const wanted = new Set(targets);
  for (const t of plan.targets) {
    if (!wanted.has(t.variant.name)) continue;
    const file = content.get(t.dockerfile);
    let df = parsed.get(t.dockerfile);
    if (!df) parsed.set(t.dockerfile, (df = parseInstructions(file?.content ?? "")));
    const build = targetBuild(df, {
      target: t.bake.target,
      platforms: t.bake.platforms ?? [],
      args: t.bake.args ?? {},
      buildPlatform,
      contexts: new Set(Object.keys(t.bake.contexts ?? {})),
    });
    for (const use of build.images) {
      if (use.ref === "" || use.ref.includes("$")) {
        const p = `${t.dockerfile}:${use.line}: ${KIND[use.kind]} names no image after ARG substitution${use.arg ? ` (ARG ${use.arg} has no value)` : ""}`;
        if (!problems.includes(p)) problems.push(p);
        continue;
      }
      add(
        need(use.ref),
        t.variant.name,
        use.platform,
        sourceOf(t, use, file?.content ?? "", project, templates),
        imageArg(t, use),
      );
    }
  }
  if (project.build.syntax !== undefined) {
    const n = need(project.build.syntax);
    const at = formatLocation(project.source.locate(["build", "syntax"]));
    for (const t of plan.targets)
      if (wanted.has(t.variant.name)) add(n, t.variant.name, undefined, `${at} (# syntax= frontend)`);
  }
  const images = [...byRef.values()].filter((n) => n.byTarget.size > 0);
  for (const n of images) {
    n.targets = [...n.byTarget.keys()].sort(compareStrings);
    n.platforms = [...new Set([...n.byTarget.values()].flat())].sort(compareStrings);
    for (const list of n.byTarget.values()) list.sort(compareStrings);
    n.sources.sort(compareStrings);
    n.args.sort(compareStrings);
  }
  return { images: images.sort((a, b) => compareStrings(a.ref, b.ref)), problems };
}

/** The `images:` ARG a FROM ${ARG} reads, when the whole reference is its value. */
function imageArg(t: PlannedTarget, use: ImageUse): string | undefined {
  return use.arg !== undefined && t.values.images.has(use.arg) ? use.arg : undefined;
}

function sourceOf(
  t: PlannedTarget,
  use: ImageUse,
  content: string,
  project: Project,
  templates: TemplateFiles,
): string {
  const arg = imageArg(t, use);
  const value = arg !== undefined ? t.values.args.get(arg) : undefined;
  if (value) return formatLocation(value.source);
  const dir = project.build.templates;
  const at = templateLineOf(content, use.line, templates, dir);
  const template = at?.line !== undefined ? `, ${dir}/${at.template}:${at.line}` : "";
  return `${t.dockerfile}:${use.line} (${KIND[use.kind]} in stage ${use.stage}${template})`;
}
