import type { YamlSource } from "../config/yaml-source.js";
import { formatLocation, UsageError, UserError } from "../errors.js";
import { valuesLabel, type Excluded } from "../matrix/expand.js";
import type { Plan } from "../plan/plan.js";
import type { PlannedTarget } from "../plan/targets.js";
import { closest, plural } from "../text.js";

/**
 * The planned target called `name`. A built target wins over an excluded combination of the same
 * name (two values may share a name token, e.g. CUDA 13.0 and 13.1 as `cuda13`); an excluded
 * combination that is the only one of its name says why it is not built.
 */
export function findTarget(plan: Plan, name: string, source: YamlSource): PlannedTarget {
  const target = plan.targets.find((t) => t.variant.name === name);
  if (target) return target;
  const excluded = excludedNamed(plan, name);
  if (excluded)
    throw new UserError(
      `${name} is not built: ${excluded.rule.reason} (excluded by ${formatLocation(source.locate(excluded.rule.path))})`,
    );
  throw unknownTarget(plan, name);
}

/** The excluded combination called `name`, if one is. */
export function excludedNamed(plan: Plan, name: string): Excluded | undefined {
  return plan.matrix.excluded.find((e) => e.name === name);
}

/** The closest few target names and how many there are, never the whole list (Dynamo's matrix has hundreds). */
export function unknownTarget(plan: Plan, name: string): UsageError {
  const names = plan.targets.map((t) => t.variant.name);
  const near = closest(name, names);
  return new UsageError(
    `Unknown target "${name}".${near.length > 0 ? ` Did you mean ${near.map((n) => `"${n}"`).join(", ")}?` : ""} ${plural(names.length, "target")}; \`bakeplan list\` lists them`,
  );
}

/** A note on an excluded combination that has the name of a built target: the built one is what `name` means. */
export function namesakeNote(plan: Plan, name: string, source: YamlSource): string | undefined {
  const excluded = excludedNamed(plan, name);
  if (!excluded) return undefined;
  return `note: the excluded combination ${valuesLabel(excluded.values)} has the same name; it is not built (${excluded.rule.reason}; excluded by ${formatLocation(source.locate(excluded.rule.path))})`;
}

/** The planned target of a name `selectBakeTargets` or `findTarget` returned. */
export function plannedTarget(plan: Plan, name: string): PlannedTarget {
  const target = plan.targets.find((t) => t.variant.name === name);
  if (!target) throw new Error(`${name} was selected but not planned`);
  return target;
}
