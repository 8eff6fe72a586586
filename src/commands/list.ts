import { planProject } from "../command-support/plan-project.js";
import { table } from "../command-support/table.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { compareStrings } from "../text.js";

export function list(opts: PlanCommandOptions & { json: boolean; all: boolean }, output: Output): void {
  const { plan, files } = planProject(opts, output);
  const axes = files.project.axes.map((a) => a.name);
  // Every axis, in axis order; one that does not apply to the target (its `when` does not match) is null.
  const withAbsent = (values: Record<string, string>) =>
    Object.fromEntries(axes.map((a) => [a, values[a] ?? null])) as Record<string, string | null>;
  const pool = plan.builders;
  const built = plan.targets.map((t) => ({
    name: t.variant.name,
    built: true,
    values: withAbsent(t.variant.values),
    platforms: t.bake.platforms ?? [],
    dockerfile: t.dockerfile,
    stage: t.bake.target,
    builder: pool?.assignment.builderOf.get(t.variant.name),
    affinity: pool?.unitOf.get(t.variant.name)?.label,
    reason: t.variant.includedBy?.reason,
  }));
  const excluded = opts.all
    ? plan.matrix.excluded.map((e) => ({
        name: e.name,
        built: false,
        values: withAbsent(e.values),
        reason: e.rule.reason,
      }))
    : [];
  const rows = [...built, ...excluded].sort((a, b) => compareStrings(a.name, b.name));
  if (opts.json) {
    output.out(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const header = [
    "NAME",
    ...axes.map((a) => a.toUpperCase()),
    "PLATFORMS",
    "DOCKERFILE",
    ...(pool ? ["BUILDER", "AFFINITY"] : []),
    ...(opts.all ? ["REASON"] : []),
  ];
  output.out(
    table(
      header,
      rows.map((r) => [
        r.built ? r.name : `(${r.name})`,
        ...axes.map((a) => r.values[a] ?? "-"),
        "platforms" in r ? r.platforms.join(",") : "-",
        "dockerfile" in r ? r.dockerfile : "excluded",
        ...(pool ? ("builder" in r ? [r.builder ?? "-", r.affinity ?? "-"] : ["-", "-"]) : []),
        ...(opts.all ? [r.reason ?? ""] : []),
      ]),
    ),
  );
  if (opts.all) output.out(`\n${plan.targets.length} built, ${plan.matrix.excluded.length} excluded\n`);
  if (pool && plan.partial)
    output.out(
      `\nbuilders: assigned among the ${plan.targets.length} selected targets (--only); \`bakeplan builders\` shows the whole plan's\n`,
    );
}
