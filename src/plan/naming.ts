import type { Project } from "../config/normalize.js";
import type { KeyPath } from "../config/yaml-source.js";
import type { Variant } from "../matrix/expand.js";
import { checkRegistry, checkRepository, checkTag, sanitizeTagPart } from "../values.js";

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

/** Placeholder values, each sanitised as docker/metadata-action sanitises a branch; the pattern text around them is validated, not rewritten. */
function placeholders(variant: Variant, inputs: BuildInputs): Record<string, string | undefined> {
  const part = (s: string | undefined) => (s === undefined ? undefined : sanitizeTagPart(s));
  const values: Record<string, string | undefined> = {};
  for (const [axis, value] of Object.entries(variant.values)) values[axis] = part(value);
  return {
    ...values,
    name: variant.name,
    version: part(inputs.version),
    sha: part(inputs.sha),
    sha_short: part(inputs.sha?.slice(0, SHORT_SHA)),
    branch: part(inputs.branch),
  };
}

function registryProblems(registry: string, fromFlag: boolean, path: KeyPath): NamingProblem[] {
  if (!registry) return [];
  return checkRegistry(registry).map((message) => (fromFlag ? { message, flag: "--registry" } : { message, path }));
}

/** Fills `{name}`-style placeholders; undefined when an input it needs is absent. */
export function fillPattern(pattern: string, values: Record<string, string | undefined>): string | undefined {
  let missing = false;
  const out = pattern.replace(/\{([^{}]*)\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) missing = true;
    return v ?? "";
  });
  return missing ? undefined : out;
}

function imageName(registry: string, repository: string): string {
  return registry ? `${registry}/${repository}` : repository;
}

export function imageTags(
  { publish }: Pick<Project, "publish">,
  variant: Variant,
  inputs: BuildInputs,
): { tags: string[]; problems: NamingProblem[] } {
  const registry = inputs.registry ?? publish.registry;
  const problems: NamingProblem[] = [
    ...registryProblems(registry, inputs.registry !== undefined, ["publish", "registry"]),
    ...checkRepository(publish.repository).map((message) => ({ message, path: ["publish", "repository"] })),
  ];
  const values = placeholders(variant, inputs);
  const tags: string[] = [];
  for (const [i, pattern] of publish.tags.entries()) {
    const tag = fillPattern(pattern, values);
    if (tag === undefined) continue;
    for (const m of checkTag(tag))
      problems.push({
        message: `${m} (built from the pattern "${pattern}" for ${variant.name})`,
        path: ["publish", "tags", i],
      });
    const ref = `${imageName(registry, publish.repository)}:${tag}`;
    if (!tags.includes(ref)) tags.push(ref);
  }
  return { tags, problems };
}

export interface CacheRefs {
  from: string[];
  to: string[];
}

/** One cache ref per target and branch in a separate repository; read this branch, then the fallbacks. */
export function cacheRefs(
  { publish, cache }: Pick<Project, "publish" | "cache">,
  variant: Variant,
  inputs: BuildInputs,
  opts: { forceWrite?: boolean } = {},
): CacheRefs & { problems: NamingProblem[] } {
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
  const base = placeholders(variant, inputs);
  const ref = (branch: string) => {
    const tag = fillPattern(cache.tag, { ...base, branch: sanitizeTagPart(branch) });
    if (tag === undefined)
      problems.push({
        message: `The cache tag pattern "${cache.tag}" uses a placeholder with no value (pass --version / --sha, or drop it from cache.tag)`,
        path: ["cache", "tag"],
      });
    else
      for (const m of checkTag(tag))
        problems.push({
          message: `${m} (built from the pattern "${cache.tag}" for ${variant.name})`,
          path: ["cache", "tag"],
        });
    return `${imageName(registry, cache.repository)}:${tag}`;
  };
  const branches = [...(inputs.branch !== undefined ? [inputs.branch] : []), ...cache.fallback];
  const from: string[] = [];
  for (const b of branches) {
    const r = `type=registry,ref=${ref(b)}`;
    if (!from.includes(r)) from.push(r);
  }
  const writes = inputs.branch !== undefined && (opts.forceWrite || cache.writeOn.includes(inputs.branch));
  const to = writes
    ? [
        `type=registry,ref=${ref(inputs.branch!)},mode=${cache.mode},image-manifest=true,oci-mediatypes=true,ignore-error=true`,
      ]
    : [];
  return { from, to, problems };
}

export function ociLabels(
  { meta }: Pick<Project, "meta">,
  variant: Variant,
  inputs: BuildInputs,
): Record<string, string> {
  const labels: Record<string, string> = {
    "org.opencontainers.image.title": `${meta.title ?? meta.name} ${variant.name}`,
  };
  if (meta.source) labels["org.opencontainers.image.source"] = meta.source;
  if (inputs.version !== undefined) labels["org.opencontainers.image.version"] = inputs.version;
  if (inputs.sha !== undefined) labels["org.opencontainers.image.revision"] = inputs.sha;
  return labels;
}
