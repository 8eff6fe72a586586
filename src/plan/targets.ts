import { posix, sep } from "node:path";
import type { Project } from "../config/normalize.js";
import type { SecretSource } from "../config/schema.js";
import type { KeyPath } from "../config/yaml-source.js";
import type { Issue } from "../errors.js";
import type { Variant } from "../matrix/expand.js";
import type { DockerfileShape } from "../render/dockerfile.js";
import { COMMAND_LINE, type ResolvedValues } from "../resolve/resolve.js";
import { compareStrings, record, sortRecord } from "../text.js";
import type { Analysis, Declarations } from "./analyze.js";
import { ENV_REFERENCE, EnvTemplate, type BakeTarget } from "./bake-file.js";
import type { Content } from "./contents.js";
import { cacheRefs, imageTags, ociLabels, type BuildInputs } from "./naming.js";
import type { Rendering } from "./render-variants.js";

export interface PlannedTarget {
  variant: Variant;
  values: ResolvedValues;
  /** Path of its Dockerfile, relative to the project directory. */
  dockerfile: string;
  declarations: Declarations;
  bake: BakeTarget;
  /** The publish.tags entry each tag came from (its pattern's key path). */
  tagOrigins: ReadonlyMap<string, KeyPath>;
}

/** What the earlier stages found for each variant. */
export interface TargetInputs {
  valuesOf: ReadonlyMap<Variant, ResolvedValues>;
  renderingOf: ReadonlyMap<Variant, Rendering>;
  pathOf: ReadonlyMap<Content, string>;
  analysis: Analysis;
  inputs: BuildInputs;
  /** Absolute directory of context.yaml (PlanOptions.projectDir). */
  projectDir?: string;
}

/**
 * One bake target per variant, and every problem in variant order: its Dockerfile's (reported
 * with the first target that uses it), a missing stage, then its tags, cache refs, labels and
 * secrets. A problem every target shares (a bad registry, a label) is reported once.
 */
export function planTargets(
  project: Project,
  variants: readonly Variant[],
  from: TargetInputs,
): { targets: PlannedTarget[]; issues: Issue[] } {
  const { build } = project;
  const issues: Issue[] = [];
  const addOnce = (issue: Issue) => {
    if (!issues.some((i) => i.message === issue.message)) issues.push(issue);
  };
  const reported = new Set<Content>();
  const targets = variants.map((variant): PlannedTarget => {
    const rendering = from.renderingOf.get(variant)!;
    const path = from.pathOf.get(rendering.content)!;
    const shape = from.analysis.shapeOf.get(rendering.content)!;
    if (!reported.has(rendering.content)) {
      reported.add(rendering.content);
      for (const p of shape.problems) issues.push({ message: p, location: { file: path } });
    }
    const values = from.valuesOf.get(variant)!;
    const stage = values.stage;
    if (stage && !shape.stages.includes(stage.value))
      issues.push({
        message: `Stage "${stage.value}" (bake target of ${variant.name}, from ${stage.layer}) is not defined in ${path} (rendered from ${build.templates}/${build.template}). Stages: ${shape.stages.join(", ") || "(none)"}`,
        location: stage.source,
      });

    const refs = imageRefs(project, variant, values, from.inputs);
    refs.problems.forEach(addOnce);
    const labels = labelsOf(project, variant, values, from.inputs);
    const secrets = secretEntries(values);
    issues.push(...secrets.problems);
    return {
      variant,
      values,
      dockerfile: path,
      declarations: from.analysis.declarationsOf.get(rendering)!,
      tagOrigins: refs.tagOrigins,
      bake: {
        description: describeVariant(project, variant),
        context: build.context,
        dockerfile: dockerfileInContext(build.context, path, from.projectDir),
        target: stage?.value,
        args: nonEmptyRecord(declaredArgs(shape, values)),
        platforms: values.platforms && [...values.platforms.value],
        tags: nonEmpty(refs.tags),
        labels: labels.labels,
        "cache-from": nonEmpty(refs.cacheFrom),
        "cache-to": nonEmpty(refs.cacheTo),
        secret: nonEmpty(secrets.entries),
        network: build.network,
      },
    };
  });
  return { targets, issues };
}

/**
 * A Dockerfile's path as bake reads it: relative to the build context (buildx joins the two).
 * Both are relative to the project directory, so the result depends on it only when one leads
 * outside it (`context: ".."` gives `container/bake/x.Dockerfile`); never on the cwd.
 */
export function dockerfileInContext(context: string, path: string, projectDir: string | undefined): string {
  const outside = (p: string) => posix.isAbsolute(p) || posix.normalize(p).split("/")[0] === "..";
  const escapes = outside(context) || outside(path);
  if (escapes && projectDir === undefined)
    throw new Error(`dockerfileInContext: ${context} or ${path} leads outside the project; projectDir is needed`);
  // A root of its own when the context stays inside: the relative path is the same for any root.
  const root = escapes ? projectDir!.split(sep).join("/") : "/project";
  return posix.relative(posix.resolve(root, context), posix.resolve(root, path)) || path;
}

/**
 * What `docker buildx bake --list targets` shows: each axis value's `description`, or `axis value`
 * where it has none, in axis order, e.g. `framework vllm, cuda 12.9, os ubuntu24.04, slim serving image`.
 */
export function describeVariant(project: Pick<Project, "axes">, variant: Variant): string {
  return project.axes
    .flatMap((axis) => {
      const value = variant.values[axis.name];
      if (value === undefined) return [];
      return [axis.values.find((v) => v.value === value)?.description ?? `${axis.name} ${value}`];
    })
    .join(", ");
}

/**
 * Build args: the values of the ARGs its Dockerfile declares, by name. A derived default is left
 * to BuildKit: as a build arg it would replace the expansion with its literal text.
 */
export function declaredArgs(shape: DockerfileShape, values: ResolvedValues): Record<string, string> {
  const args = record<string>();
  for (const name of shape.args.keys()) {
    const v = values.args.get(name);
    if (v !== undefined && !v.derived) args[name] = v.value;
  }
  return sortRecord(args);
}

/** Image tags and cache refs, with their problems located in context.yaml or on the command line. */
function imageRefs(project: Project, variant: Variant, values: ResolvedValues, inputs: BuildInputs) {
  const tags = imageTags(project, variant, values, inputs);
  const cache = cacheRefs(project, variant, values, inputs);
  const problems = [...tags.problems, ...cache.problems].map((p): Issue => ({
    message: p.message,
    location:
      p.flag !== undefined ? { file: COMMAND_LINE, path: p.flag } : project.source.locate(p.path ?? ["publish"]),
  }));
  return { tags: tags.tags, tagOrigins: tags.origins, cacheFrom: cache.from, cacheTo: cache.to, problems };
}

/**
 * OCI labels, overridden by labels from context.yaml. Their text is checked once, not per target:
 * context.yaml's strings by the rule everyStringIsPlainText, the tag inputs by inputIssues, and
 * the bake file that holds them by the output checkpoint.
 */
export function labelsOf(project: Project, variant: Variant, values: ResolvedValues, inputs: BuildInputs) {
  const labels = Object.assign(record<string>(), ociLabels(project, variant, inputs));
  for (const [k, v] of values.labels) labels[k] = v.value;
  return { labels: sortRecord(labels) };
}

/**
 * Bake secret entries (`id=X,env=Y` or `id=X,src=FILE`), by id: those whose `when.args` the
 * target's resolved ARGs match. A `${NAME}` in a src is left for bake to read from the environment.
 */
export function secretEntries(values: ResolvedValues): { entries: (string | EnvTemplate)[]; problems: Issue[] } {
  const problems: Issue[] = [];
  const entries = [...values.secrets]
    .sort(([a], [b]) => compareStrings(a, b))
    .filter(([, s]) => secretApplies(s.value, values))
    .map(([id, s]) => {
      const ref = s.value.env !== undefined ? `env=${s.value.env}` : `src=${s.value.src}`;
      if (/[,"\n\r]/.test(ref))
        problems.push({
          message: `Secret ${id}: a comma, quote or line break cannot appear in a bake secret entry`,
          location: s.source,
        });
      const entry = `id=${id},${ref}`;
      return s.value.src !== undefined && new RegExp(ENV_REFERENCE.source).test(s.value.src)
        ? new EnvTemplate(entry)
        : entry;
    });
  return { entries, problems };
}

/** Whether a secret's `when.args` match the target's resolved ARGs (an ARG with no value matches nothing). */
export function secretApplies(secret: SecretSource, values: ResolvedValues): boolean {
  for (const [name, allowed] of Object.entries(secret.when?.args ?? {})) {
    const v = values.args.get(name)?.value;
    if (v === undefined || !(Array.isArray(allowed) ? allowed : [allowed]).includes(v)) return false;
  }
  return true;
}

/** A map attribute is left out when empty too: bake drops `"args": {}` (buildx 0.29.1 `--print`). */
function nonEmptyRecord<T>(record: Record<string, T>): Record<string, T> | undefined {
  return Object.keys(record).length > 0 ? record : undefined;
}

/** Bake attributes that are lists are left out when empty. */
function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined;
}
