import type { YamlSource } from "../config/yaml-source.js";
import { formatLocation, UsageError, UserError } from "../errors.js";
import type { ProjectFiles } from "../io/project-files.js";
import { selectVariants } from "../matrix/expand.js";
import type { Plan, PlannedTarget } from "../plan/plan.js";
import { didYouMean } from "../text.js";

/** The planned target called `name`; an excluded combination says why it is not built. */
export function findTarget(plan: Plan, name: string, source: YamlSource): PlannedTarget {
  const target = plan.targets.find((t) => t.variant.name === name);
  if (target) return target;
  const excluded = plan.matrix.excluded.find((e) => e.name === name);
  if (excluded)
    throw new UserError(
      `${name} is not built: ${excluded.rule.reason} (excluded by ${formatLocation(source.locate(excluded.rule.path))})`,
    );
  const names = plan.targets.map((t) => t.variant.name);
  const hint = didYouMean(name, names);
  throw new UsageError(
    `Unknown target "${name}".${hint ? ` Did you mean "${hint}"?` : ""} Targets: ${names.join(", ")}`,
  );
}

/** Target names to build: positional targets/groups plus --only selectors; the `default` group when none. */
export function selectTargets(
  plan: Plan,
  files: ProjectFiles,
  names: string[],
  only: string[],
): { args: string[]; targets: string[] } {
  const all = plan.targets.map((t) => t.variant.name);
  const targets = new Set<string>();
  for (const name of names) {
    const group = plan.groups.get(name);
    if (group) group.forEach((t) => targets.add(t));
    else if (all.includes(name)) targets.add(name);
    else {
      const hint = didYouMean(name, [...all, ...plan.groups.keys()]);
      throw new UsageError(
        `Unknown target or group "${name}".${hint ? ` Did you mean "${hint}"?` : ""}\nTargets: ${all.join(", ")}\nGroups: ${[...plan.groups.keys()].join(", ")}`,
      );
    }
  }
  if (only.length > 0) {
    const picked = selectVariants(plan.matrix.variants, only, plan.groups, files.project).map((v) => v.name);
    picked.forEach((t) => targets.add(t));
    return {
      args: [...new Set([...names.filter((n) => !plan.groups.has(n)), ...picked])].sort(),
      targets: [...targets].sort(),
    };
  }
  if (names.length === 0) return { args: ["default"], targets: [...(plan.groups.get("default") ?? all)] };
  return { args: names, targets: [...targets].sort() };
}

/** The planned target of a name `selectTargets` or `findTarget` returned. */
export function plannedTarget(plan: Plan, name: string): PlannedTarget {
  const target = plan.targets.find((t) => t.variant.name === name);
  if (!target) throw new Error(`${name} was selected but not planned`);
  return target;
}
