import type { Project } from "../config/normalize.js";
import type { Issue } from "../errors.js";
import { cacheIdentity } from "./naming.js";
import type { PlannedTarget } from "./targets.js";

/**
 * What targets claim in the registry, checked across the bake: an image tag two targets push
 * (the later push would silently replace the other image), a cache ref that is an image tag, and
 * a cache ref two targets write (in one bake the last to finish replaces the other's records,
 * docs.docker.com "cache storage backends": no location can be written twice without overwriting).
 */
export function claimIssues(project: Project, targets: readonly PlannedTarget[]): Issue[] {
  return [
    ...duplicateTags(project, targets),
    ...cacheOverImages(project, targets),
    ...sharedCacheWrites(project, targets),
  ];
}

function duplicateTags(project: Project, targets: readonly PlannedTarget[]): Issue[] {
  const owner = new Map<string, PlannedTarget>();
  const issues: Issue[] = [];
  const reported = new Set<string>();
  for (const t of targets)
    for (const tag of t.bake.tags ?? []) {
      const first = owner.get(tag);
      if (!first) {
        owner.set(tag, t);
        continue;
      }
      if (reported.has(tag)) continue;
      reported.add(tag);
      issues.push({
        message: `Targets ${first.variant.name} and ${t.variant.name} both get the tag ${tag}: the later push would replace the other image. Make the pattern tell them apart, or limit it to one target with \`when\``,
        location: project.source.locate(t.tagOrigins.get(tag) ?? ["publish", "tags"]),
      });
    }
  return issues;
}

/** Refs of `type=registry,ref=R,...` entries. */
function refsOf(entries: readonly string[] | undefined): string[] {
  return (entries ?? []).map((e) => /(?:^|,)ref=([^,]*)/.exec(e)?.[1] ?? "").filter((r) => r !== "");
}

function cacheOverImages(project: Project, targets: readonly PlannedTarget[]): Issue[] {
  const images = new Map<string, PlannedTarget>();
  for (const t of targets) for (const tag of t.bake.tags ?? []) images.set(tag, t);
  const issues: Issue[] = [];
  for (const t of targets)
    for (const ref of new Set([...refsOf(t.bake["cache-from"]), ...refsOf(t.bake["cache-to"])])) {
      const image = images.get(ref);
      if (image)
        issues.push({
          message: `The cache ref ${ref} of ${t.variant.name} is also an image tag of ${image.variant.name}: a cache push would overwrite the image. Give the cache tag a part no image tag has`,
          location: project.source.locate(["cache", "tag"]),
        });
    }
  return issues;
}

function sharedCacheWrites(project: Project, targets: readonly PlannedTarget[]): Issue[] {
  if (!project.cache || project.cache.allowSharedWrites) return [];
  const writers = new Map<string, PlannedTarget[]>();
  for (const t of targets) {
    const id = cacheIdentity(project, t.variant, t.values);
    if (id === undefined) continue;
    const list = writers.get(id);
    if (list) list.push(t);
    else writers.set(id, [t]);
  }
  const issues: Issue[] = [];
  for (const [id, list] of writers) {
    if (list.length < 2) continue;
    const [a, b] = list as [PlannedTarget, PlannedTarget];
    const more = list.length > 2 ? ` (and ${list.length - 2} more)` : "";
    issues.push({
      message: `Targets ${a.variant.name} and ${b.variant.name}${more} write the same cache ref ${id.replace(/\0([a-z_]+)/g, "{$1}")}: in one bake the last to finish replaces the other's cache. Make cache.tag tell them apart (e.g. add {name}), or set cache.allow_shared_writes: true if that is intended (builds run one at a time, or one target's cache contains the other's)`,
      location: project.source.locate(["cache", "tag"]),
    });
  }
  return issues;
}
