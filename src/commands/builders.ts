import { planProject } from "../command-support/plan-project.js";
import { table } from "../command-support/table.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { UsageError } from "../errors.js";
import { selectBakeTargets } from "../matrix/select.js";
import { describeOrigin } from "../plan/affinity.js";
import type { BuilderPlan } from "../plan/pool.js";
import { compareStrings } from "../text.js";

export interface BuildersOptions extends PlanCommandOptions {
  /** Targets or groups to show (default: every target). */
  targets: string[];
  json: boolean;
}

/** `bakeplan builders`: which builder each target is assigned to, and why. */
export function builders(opts: BuildersOptions, output: Output): void {
  const { plan, files } = planProject({ ...opts, only: [] }, output);
  const pool = plan.builders;
  if (!pool)
    throw new UsageError(
      "No builder pool: list builders under builders.pool in context.yaml, or pass --builders b1,b2",
    );
  const shown =
    opts.targets.length > 0 || opts.only.length > 0
      ? selectBakeTargets(
          { variants: plan.targets.map((t) => t.variant), groups: plan.groups, axes: files.project.axes },
          opts.targets,
          opts.only,
        ).targets
      : plan.targets.map((t) => t.variant.name);
  const report = assignmentReport(pool, new Set(shown));
  if (opts.json) {
    output.out(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  output.out(
    table(
      ["TARGET", "BUILDER", "AFFINITY", "RANKING", "REASON"],
      report.targets.map((t) => [t.target, t.builder, t.affinity, t.ranking.join(" > "), t.reason]),
    ),
  );
  output.out(
    `\n${table(
      ["BUILDER", "WEIGHT", "PLATFORMS", "LOAD", "CAP", "TARGETS"],
      report.builders.map((b) => [
        b.name,
        String(b.weight),
        b.platforms?.join(",") ?? "any",
        String(b.load),
        String(b.cap),
        String(b.targets.length),
      ]),
    )}`,
  );
  output.out(
    `\nload: the work (instructions) of each builder's units, cap: ${pool.assignment.loadFactor} x its fair share${pool.fromCommandLine ? "; pool from --builders" : ""}\n`,
  );
}

export interface AssignmentReport {
  loadFactor: number;
  builders: { name: string; weight: number; platforms?: string[]; load: number; cap: number; targets: string[] }[];
  targets: {
    target: string;
    builder: string;
    affinity: string;
    affinitySource: string;
    /** The targets that build on one builder with it (its Dockerfile, bake contexts links). */
    unit: string[];
    weight: number;
    ranking: string[];
    ineligible: { builder: string; lacks: string }[];
    reason: string;
  }[];
}

/** The assignment as `builders --json` prints it, for the `shown` targets (sorted by name). */
export function assignmentReport(pool: BuilderPlan, shown: ReadonlySet<string>): AssignmentReport {
  const { assignment } = pool;
  const targets: AssignmentReport["targets"] = [];
  for (const p of assignment.placements)
    for (const target of p.unit.targets)
      if (shown.has(target))
        targets.push({
          target,
          builder: p.builder,
          affinity: p.unit.label,
          affinitySource: describeOrigin(p.unit.origin),
          unit: p.unit.targets,
          weight: p.unit.weight,
          ranking: p.ranking,
          ineligible: p.ineligible,
          reason: p.reason,
        });
  targets.sort((a, b) => compareStrings(a.target, b.target));
  return {
    loadFactor: assignment.loadFactor,
    builders: assignment.builders.map((b) => ({
      name: b.name,
      weight: b.weight,
      platforms: b.platforms && [...b.platforms],
      load: assignment.load.get(b.name) ?? 0,
      cap: assignment.cap.get(b.name) ?? 0,
      targets: [...assignment.builderOf]
        .filter(([t, x]) => x === b.name && shown.has(t))
        .map(([t]) => t)
        .sort(compareStrings),
    })),
    targets,
  };
}
