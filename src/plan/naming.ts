import { branchKindOf, matchesBranch } from "../config/branches.js";
import type { Project } from "../config/normalize.js";
import {
  fillPattern,
  INPUT_PLACEHOLDERS,
  meaningsOf,
  placeholderKeys,
  type BuiltIn,
  type Lookup,
  type ParsedPattern,
} from "../config/patterns.js";
import type { KeyPath } from "../config/yaml-source.js";
import { absentAxes, matches, valuesLabel, type Variant } from "../matrix/expand.js";
import type { ResolvedValues } from "../resolve/resolve.js";
import { checkRegistry, checkRepository, checkTag, platformsPart, sanitizeTagPart } from "../values.js";

/** Values from flags or the environment that tags, labels and cache refs may use. */
export interface BuildInputs {
  version?: string;
  sha?: string;
  branch?: string;
  /** Overrides publish.registry and cache.registry (e.g. a local registry in tests). */
  registry?: string;
}

const SHORT_SHA = 7;

/** A tag or reference that cannot be built: `path` is the context.yaml key, `flag` a command-line option. */
export interface NamingProblem {
  message: string;
  path?: KeyPath;
  flag?: string;
}

type NamingProject = Pick<Project, "axes" | "branchKinds">;

/**
 * What each placeholder stands for in one target: values sanitised as docker/metadata-action
 * sanitises a branch (name tokens are bake-safe already); the pattern text around them is
 * validated, not rewritten. `scope` replaces {branch} / {branch_kind} for a cache ref of another branch.
 */
function lookupFor(
  project: NamingProject,
  variant: Variant,
  values: Pick<ResolvedValues, "platforms" | "vars">,
  inputs: BuildInputs,
  scope?: { branch?: string; branchKind?: string },
): Lookup {
  const part = (s: string | undefined) => (s === undefined ? undefined : sanitizeTagPart(s));
  const builtIn = (name: BuiltIn): string | undefined => {
    switch (name) {
      case "name":
        return variant.name;
      case "version":
        return part(inputs.version);
      case "sha":
        return part(inputs.sha);
      case "sha_short":
        return part(inputs.sha?.slice(0, SHORT_SHA));
      case "branch":
        return part(scope ? scope.branch : inputs.branch);
      case "branch_kind":
        return scope ? scope.branchKind : branchKindOf(project.branchKinds, inputs.branch);
      case "platforms":
        return values.platforms && platformsPart(values.platforms.value);
    }
  };
  return (m) => {
    switch (m.kind) {
      case "built-in":
        return builtIn(m.name);
      case "axis":
        return part(variant.values[m.axis]);
      case "token": {
        const value = variant.values[m.axis];
        return project.axes.find((a) => a.name === m.axis)?.values.find((v) => v.value === value)?.token;
      }
      case "var":
        return part(values.vars.get(m.name)?.value);
    }
  };
}

function registryProblems(registry: string, fromFlag: boolean, path: KeyPath): NamingProblem[] {
  if (!registry) return [];
  return checkRegistry(registry).map((message) => (fromFlag ? { message, flag: "--registry" } : { message, path }));
}

function imageName(registry: string, repository: string): string {
  return registry ? `${registry}/${repository}` : repository;
}

function emptyValueMessage(
  project: Pick<Project, "axes">,
  pattern: ParsedPattern,
  key: string,
  variant: Variant,
): string {
  const absent = absentAxes(project, variant.values).map((a) => a.name);
  const [meaning] = meaningsOf(
    key,
    project.axes.map((a) => a.name),
  );
  const why =
    meaning && (meaning.kind === "axis" || meaning.kind === "token") && absent.includes(meaning.axis)
      ? `; ${meaning.axis} does not apply to it (axes.${meaning.axis}.when)`
      : "";
  return `The pattern "${pattern.source}" has no value for {${key}} on ${variant.name} (${valuesLabel(variant.values)}${why}): put that part in brackets to drop it when empty ("[-{${key}}]"), or limit the tag with \`when\``;
}

export function imageTags(
  project: Pick<Project, "publish" | "axes" | "branchKinds">,
  variant: Variant,
  values: Pick<ResolvedValues, "platforms" | "vars">,
  inputs: BuildInputs,
): { tags: string[]; origins: Map<string, KeyPath>; problems: NamingProblem[] } {
  const { publish } = project;
  const registry = inputs.registry ?? publish.registry;
  const problems: NamingProblem[] = [
    ...registryProblems(registry, inputs.registry !== undefined, ["publish", "registry"]),
    ...checkRepository(publish.repository).map((message) => ({ message, path: ["publish", "repository"] })),
  ];
  const axes = project.axes.map((a) => a.name);
  const lookup = lookupFor(project, variant, values, inputs);
  const tags: string[] = [];
  const origins = new Map<string, KeyPath>();
  for (const rule of publish.tags) {
    if (rule.match && !matches(rule.match, variant.values)) continue;
    if (rule.branches && (inputs.branch === undefined || !matchesBranch(rule.branches, inputs.branch))) continue;
    const filled = fillPattern(rule.pattern, axes, lookup);
    if (filled.kind === "absent") continue;
    if (filled.kind === "empty") {
      problems.push({ message: emptyValueMessage(project, rule.pattern, filled.key, variant), path: rule.patternPath });
      continue;
    }
    for (const m of checkTag(filled.tag))
      problems.push({
        message: `${m} (built from the pattern "${rule.pattern.source}" for ${variant.name})`,
        path: rule.patternPath,
      });
    const ref = `${imageName(registry, publish.repository)}:${filled.tag}`;
    if (!origins.has(ref)) {
      tags.push(ref);
      origins.set(ref, rule.patternPath);
    }
  }
  return { tags, origins, problems };
}

export interface CacheRefs {
  from: string[];
  to: string[];
}

/** Which branch placeholder a cache tag is keyed by: one ref per branch, per branch kind, or one for all. */
export function cacheScope(project: Pick<Project, "axes">, tag: ParsedPattern): "branch" | "branch_kind" | "none" {
  const axes = project.axes.map((a) => a.name);
  const uses = (name: string) =>
    placeholderKeys(tag).some((k) => meaningsOf(k, axes).some((m) => m.kind === "built-in" && m.name === name));
  return uses("branch_kind") ? "branch_kind" : uses("branch") ? "branch" : "none";
}

/**
 * Cache refs of one target. Read: the current branch's ref (or its kind's), then the fallbacks in
 * order; a fallback that names the current one puts it at that place instead. Write: the current
 * one, on a branch `cache.write_on` matches (or always, with `forceWrite`).
 */
export function cacheRefs(
  project: Pick<Project, "publish" | "cache" | "axes" | "branchKinds">,
  variant: Variant,
  values: Pick<ResolvedValues, "platforms" | "vars">,
  inputs: BuildInputs,
  opts: { forceWrite?: boolean } = {},
): CacheRefs & { problems: NamingProblem[] } {
  const { publish, cache } = project;
  if (!cache) return { from: [], to: [], problems: [] };
  const registry = inputs.registry ?? cache.registry ?? publish.registry;
  const problems: NamingProblem[] = [
    ...registryProblems(
      registry,
      inputs.registry !== undefined,
      cache.registry !== undefined ? ["cache", "registry"] : ["publish", "registry"],
    ),
    ...checkRepository(cache.repository).map((message) => ({ message, path: ["cache", "repository"] })),
  ];
  const axes = project.axes.map((a) => a.name);
  const mode = cacheScope(project, cache.tag);
  const scopeOf = (s: string) => (mode === "branch_kind" ? { branchKind: s } : { branch: s });
  const ref = (scope: string) => {
    const filled = fillPattern(cache.tag, axes, lookupFor(project, variant, values, inputs, scopeOf(scope)));
    if (filled.kind === "absent") {
      problems.push({
        message: `The cache tag pattern "${cache.tag.source}" uses {${filled.key}}, which has no value (pass ${filled.key === "version" ? "--image-version" : `--${filled.key.replace("sha_short", "sha")}`}, or drop it from cache.tag)`,
        path: ["cache", "tag"],
      });
      return undefined;
    }
    if (filled.kind === "empty") {
      problems.push({ message: emptyValueMessage(project, cache.tag, filled.key, variant), path: ["cache", "tag"] });
      return undefined;
    }
    for (const m of checkTag(filled.tag))
      problems.push({
        message: `${m} (built from the pattern "${cache.tag.source}" for ${variant.name})`,
        path: ["cache", "tag"],
      });
    return `${imageName(registry, cache.repository)}:${filled.tag}`;
  };
  // A branch that sanitises to nothing (`--branch ""`) has no ref of its own, like no --branch.
  const current =
    mode === "branch_kind"
      ? branchKindOf(project.branchKinds, inputs.branch)
      : mode === "branch"
        ? inputs.branch !== undefined && sanitizeTagPart(inputs.branch) !== ""
          ? inputs.branch
          : undefined
        : "";
  const scopes =
    mode === "none"
      ? [""]
      : [...(current !== undefined && !cache.fallback.includes(current) ? [current] : []), ...cache.fallback];
  const from: string[] = [];
  for (const scope of scopes) {
    const r = ref(scope);
    if (r !== undefined && !from.includes(`type=registry,ref=${r}`)) from.push(`type=registry,ref=${r}`);
  }
  const writes = inputs.branch !== undefined && (opts.forceWrite || matchesBranch(cache.writeOn, inputs.branch));
  const to: string[] = [];
  if (writes && current === undefined)
    problems.push({
      message:
        mode === "branch_kind"
          ? `Branch "${inputs.branch}" ${opts.forceWrite ? "is where --cache-warm writes" : "matches cache.write_on"}, but no branch_kinds pattern matches it, and the cache tag "${cache.tag.source}" needs its {branch_kind}. Add a pattern for it to branch_kinds, or narrow cache.write_on`
          : `Branch ${JSON.stringify(inputs.branch)} ${opts.forceWrite ? "is where --cache-warm writes" : "matches cache.write_on"}, but has no character a tag can hold, so it has no cache ref`,
      path: opts.forceWrite ? ["cache", "tag"] : ["cache", "write_on"],
    });
  else if (writes) {
    const r = ref(current!);
    if (r !== undefined)
      to.push(`type=registry,ref=${r},mode=${cache.mode},image-manifest=true,oci-mediatypes=true,ignore-error=true`);
  }
  return { from, to, problems };
}

/**
 * What a target's cache ref is made of apart from the branch and the other command-line inputs:
 * two targets with the same identity write one ref on every branch.
 */
export function cacheIdentity(
  project: Pick<Project, "cache" | "axes" | "branchKinds">,
  variant: Variant,
  values: Pick<ResolvedValues, "platforms" | "vars">,
): string | undefined {
  if (!project.cache) return undefined;
  const lookup = lookupFor(project, variant, values, {});
  const filled = fillPattern(
    project.cache.tag,
    project.axes.map((a) => a.name),
    (m) => (m.kind === "built-in" && INPUT_PLACEHOLDERS.has(m.name) ? `\0${m.name}` : lookup(m)),
  );
  return filled.kind === "tag" ? filled.tag : undefined;
}

export function ociLabels(
  { meta, axes }: Pick<Project, "meta" | "axes">,
  variant: Variant,
  inputs: BuildInputs,
): Record<string, string> {
  const labels: Record<string, string> = {
    "org.opencontainers.image.title": `${meta.title ?? meta.name} ${titleName(axes, variant)}`,
  };
  if (meta.source) labels["org.opencontainers.image.source"] = meta.source;
  if (inputs.version !== undefined) labels["org.opencontainers.image.version"] = inputs.version;
  if (inputs.sha !== undefined) labels["org.opencontainers.image.revision"] = inputs.sha;
  return labels;
}

/**
 * The target name as a title: the name tokens in axis order, but the value itself where the
 * token was derived from it (`3.14-alpine3.23`, not the bake-safe `3_14-alpine3_23`); a token
 * written as `name:` stays (`vllm-cuda12`).
 */
function titleName(axes: Project["axes"], variant: Variant): string {
  const parts: string[] = [];
  for (const axis of axes) {
    const value = variant.values[axis.name];
    const v = value === undefined ? undefined : axis.values.find((x) => x.value === value);
    if (v === undefined || v.token === "") continue;
    parts.push(v.tokenGiven ? v.token : v.value);
  }
  return parts.join("-");
}
