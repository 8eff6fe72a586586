import { collectImages, type ImageList, type ImageNeed } from "../images/collect.js";
import { unpinned, type Lock } from "../images/lock.js";
import { checkImages, failed, failureLines, preflightTable, type Check, type Lookup } from "../images/preflight.js";
import { findPlatform } from "../images/reference.js";
import { builderDriver, engineAnswers, localImages, type BuilderProbe } from "../io/buildx.js";
import { CredentialStore } from "../io/credentials.js";
import type { ProjectFiles } from "../io/project-files.js";
import { mapConcurrent, RegistryClient } from "../io/registry.js";
import { selectBakeTargets } from "../matrix/select.js";
import type { Assignment } from "../plan/builders.js";
import type { Plan } from "../plan/plan.js";
import { UserError } from "../errors.js";
import { plural } from "../text.js";
import { afterProbes, targetsByBuilder } from "./bake-pool.js";
import { hostPlatform } from "./plan-project.js";
import type { Output } from "./types.js";

/** The targets named (targets, groups, --only); every target when nothing is named. */
export function imageTargets(
  files: ProjectFiles,
  plan: Plan,
  names: readonly string[],
  only: readonly string[],
): string[] {
  if (names.length === 0 && only.length === 0) return plan.targets.map((t) => t.variant.name);
  return selectBakeTargets(
    { variants: plan.targets.map((t) => t.variant), groups: plan.groups, axes: files.project.axes },
    names,
    only,
  ).targets;
}

/** The images of these targets, with references a lock pinned given back as the lock names them. */
export function imagesOf(files: ProjectFiles, plan: Plan, targets: readonly string[], lock?: Lock): ImageList {
  const list = collectImages(plan, files.project, files.templates, targets, hostPlatform());
  if (!lock) return list;
  const byRef = new Map<string, (typeof list.images)[number]>();
  for (const n of list.images) {
    const ref = unpinned(n.ref, lock) ?? n.ref;
    const prev = byRef.get(ref);
    if (!prev) byRef.set(ref, { ...n, ref });
    else {
      for (const [t, ps] of n.byTarget) prev.byTarget.set(t, [...new Set([...(prev.byTarget.get(t) ?? []), ...ps])]);
      prev.targets = [...new Set([...prev.targets, ...n.targets])].sort();
      prev.platforms = [...new Set([...prev.platforms, ...n.platforms])].sort();
    }
  }
  return { ...list, images: [...byRef.values()].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0)) };
}

export interface ResolveOptions {
  timeoutMs: number;
  concurrency: number;
  /** Count images of the engine's store (a `docker`-driver builder builds FROM them without a pull). */
  builder?: string;
  useLocalImages: boolean;
}

/** Resolves each image: the local image store first for a docker-driver builder, then its registry. */
export async function resolveImages(list: ImageList, opts: ResolveOptions): Promise<Map<string, Lookup>> {
  const lookups = new Map<string, Lookup>();
  let remote = list.images;
  if (opts.useLocalImages && (await builderDriver(opts.builder)) === "docker") {
    const local = await localImages(list.images.map((n) => n.ref));
    remote = [];
    for (const n of list.images) {
      const platform = local.get(n.ref);
      const entries = platform ? [{ platform, digest: "" }] : [];
      if (platform && n.platforms.every((p) => findPlatform(entries, p)))
        lookups.set(n.ref, { digest: "(local)", mediaType: "", platforms: entries, via: "local image store" });
      else remote.push(n);
    }
  }
  const client = new RegistryClient({ credentials: new CredentialStore(), timeoutMs: opts.timeoutMs });
  const results = await mapConcurrent(remote, opts.concurrency, (n) => client.resolve(n.ref));
  remote.forEach((n, i) => lookups.set(n.ref, results[i]!));
  return lookups;
}

/** What the pool preflight asks of docker and the registries: the real ones, or data in tests. */
export interface PoolPreflightDeps {
  /** A builder's driver (`docker buildx inspect`, not bootstrapped); undefined when it does not answer. */
  driver(builder: string): Promise<string | undefined>;
  /** Whether the engine of a `docker`-driver builder (its Docker context) answers. */
  engineAnswers(context: string): Promise<boolean>;
  /** Which of `refs` that engine's image store holds, with the platform of each. */
  localImages(refs: readonly string[], context: string): Promise<Map<string, string>>;
  /** Looks each image up in its registry. */
  resolve(images: readonly ImageNeed[]): Promise<Lookup[]>;
}

export function poolPreflightDeps(opts: Omit<ResolveOptions, "builder" | "useLocalImages">): PoolPreflightDeps {
  const client = new RegistryClient({ credentials: new CredentialStore(), timeoutMs: opts.timeoutMs });
  return {
    driver: builderDriver,
    engineAnswers,
    localImages,
    resolve: (images) => mapConcurrent(images, opts.concurrency, (n) => client.resolve(n.ref)),
  };
}

/**
 * The preflight of a builder pool, before any builder is bootstrapped or given work: every image
 * once, for all selected targets. Each builder is asked whether it answers; one that does not is
 * left out as the probe before the bake leaves it out (`afterProbes`), so its targets count on the
 * builders they move to. An image is there without a registry when each builder that then builds a
 * target needing it is a `docker`-driver builder (its Docker context has its name) whose engine's
 * store holds it for every platform.
 */
export async function resolvePoolImages(
  list: ImageList,
  assignment: Assignment,
  selected: readonly string[],
  deps: PoolPreflightDeps,
): Promise<Map<string, Lookup>> {
  const probes = new Map<string, BuilderProbe>(
    await Promise.all(
      assignment.builders.map(async ({ name }) => {
        const driver = await deps.driver(name);
        const ok = driver === "docker" ? await deps.engineAnswers(name) : driver !== undefined;
        const probe: BuilderProbe = { builder: name, ok, driver, platforms: [], argv: [] };
        return [name, probe] as const;
      }),
    ),
  );
  const byBuilder = targetsByBuilder(afterProbes(assignment, probes).assignment, selected);
  const refs = list.images.map((n) => n.ref);
  const stores = new Map<string, Map<string, string>>();
  await Promise.all(
    [...byBuilder.keys()]
      .filter((b) => probes.get(b)?.driver === "docker")
      .map(async (b) => stores.set(b, await deps.localImages(refs, b))),
  );
  const lookups = new Map<string, Lookup>();
  const remote: ImageList["images"] = [];
  for (const n of list.images) {
    const users = [...byBuilder].filter(([, targets]) => targets.some((t) => n.byTarget.has(t))).map(([b]) => b);
    const platform = users.length > 0 ? stores.get(users[0]!)?.get(n.ref) : undefined;
    const everywhere = users.every((b) => {
      const p = stores.get(b)?.get(n.ref);
      return p !== undefined && n.platforms.every((x) => findPlatform([{ platform: p, digest: "" }], x));
    });
    if (platform && everywhere)
      lookups.set(n.ref, {
        digest: "(local)",
        mediaType: "",
        platforms: [{ platform, digest: "" }],
        via: `local image store (${users.join(", ")})`,
      });
    else remote.push(n);
  }
  const results = await deps.resolve(remote);
  remote.forEach((n, i) => lookups.set(n.ref, results[i]!));
  return lookups;
}

/** Prints the table; throws with every missing or unreachable image and who needs it. */
export function reportPreflight(
  list: ImageList,
  lookups: Map<string, Lookup>,
  output: Output,
  opts: { tableOnFailureOnly?: boolean } = {},
): Check[] {
  const checks = checkImages(list.images, lookups);
  const lines = [...list.problems, ...failureLines(checks)];
  if (!opts.tableOnFailureOnly) output.out(preflightTable(checks));
  else if (lines.length > 0) output.err(preflightTable(checks));
  if (lines.length > 0)
    throw new UserError(
      `preflight: ${plural(checks.filter(failed).length + list.problems.length, "image")} missing or unreachable; nothing was built:\n${lines.map((l) => `  ${l}`).join("\n")}`,
    );
  output.err(`bakeplan: preflight: ${plural(checks.length, "image")} found, every platform present\n`);
  return checks;
}
