import type { Context } from "../config/schema.js";
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

function placeholders(variant: Variant, inputs: BuildInputs): Record<string, string | undefined> {
  return {
    ...variant.values,
    name: variant.name,
    version: inputs.version,
    sha: inputs.sha,
    sha_short: inputs.sha?.slice(0, SHORT_SHA),
    branch: inputs.branch === undefined ? undefined : sanitizeTagPart(inputs.branch),
  };
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

export function imageTags(context: Context, variant: Variant, inputs: BuildInputs): { tags: string[]; problems: string[] } {
  const registry = inputs.registry ?? context.publish.registry;
  const problems = [...(registry ? checkRegistry(registry) : []), ...checkRepository(context.publish.repository)];
  const values = placeholders(variant, inputs);
  const tags: string[] = [];
  for (const pattern of context.publish.tags) {
    const raw = fillPattern(pattern, values);
    if (raw === undefined) continue;
    const tag = sanitizeTagPart(raw);
    problems.push(...checkTag(tag));
    const ref = `${imageName(registry, context.publish.repository)}:${tag}`;
    if (!tags.includes(ref)) tags.push(ref);
  }
  return { tags, problems };
}

export interface CacheRefs {
  from: string[];
  to: string[];
}

/** One cache ref per target and branch in a separate repository; read this branch, then the fallbacks. */
export function cacheRefs(context: Context, variant: Variant, inputs: BuildInputs, opts: { forceWrite?: boolean } = {}): CacheRefs & { problems: string[] } {
  const cache = context.cache;
  if (!cache) return { from: [], to: [], problems: [] };
  const registry = inputs.registry ?? cache.registry ?? context.publish.registry;
  const problems = [...(registry ? checkRegistry(registry) : []), ...checkRepository(cache.repository)];
  const base = placeholders(variant, inputs);
  const ref = (branch: string) => {
    const tag = sanitizeTagPart(fillPattern(cache.tag, { ...base, branch: sanitizeTagPart(branch) }) ?? "");
    problems.push(...checkTag(tag));
    return `${imageName(registry, cache.repository)}:${tag}`;
  };
  const branches = [...(inputs.branch !== undefined ? [inputs.branch] : []), ...cache.fallback];
  const from: string[] = [];
  for (const b of branches) {
    const r = `type=registry,ref=${ref(b)}`;
    if (!from.includes(r)) from.push(r);
  }
  const writes = inputs.branch !== undefined && (opts.forceWrite || cache.write_on.includes(inputs.branch));
  const to = writes ? [`type=registry,ref=${ref(inputs.branch!)},mode=${cache.mode},image-manifest=true,oci-mediatypes=true,ignore-error=true`] : [];
  return { from, to, problems };
}

export function ociLabels(context: Context, variant: Variant, inputs: BuildInputs): Record<string, string> {
  const labels: Record<string, string> = {
    "org.opencontainers.image.title": `${context.project.title ?? context.project.name} ${variant.name}`,
  };
  if (context.project.source) labels["org.opencontainers.image.source"] = context.project.source;
  if (inputs.version !== undefined) labels["org.opencontainers.image.version"] = inputs.version;
  if (inputs.sha !== undefined) labels["org.opencontainers.image.revision"] = inputs.sha;
  return labels;
}
