import type { YamlSource } from "../config/yaml-source.js";
import { formatLocation, UsageError, UserError } from "../errors.js";
import type { Plan } from "../plan/plan.js";
import type { PlannedTarget } from "../plan/targets.js";
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

/** The planned target of a name `selectBakeTargets` or `findTarget` returned. */
export function plannedTarget(plan: Plan, name: string): PlannedTarget {
  const target = plan.targets.find((t) => t.variant.name === name);
  if (!target) throw new Error(`${name} was selected but not planned`);
  return target;
}
