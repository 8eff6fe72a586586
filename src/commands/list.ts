import { planProject } from "../command-support/plan-project.js";
import { table } from "../command-support/table.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { compareStrings } from "../text.js";

export function list(opts: PlanCommandOptions & { json: boolean; all: boolean }, output: Output): void {
  const { plan, files } = planProject(opts, output);
  const axes = files.project.axes.map((a) => a.name);
  const built = plan.targets.map((t) => ({
    name: t.variant.name,
    built: true,
    values: t.variant.values,
    platforms: t.bake.platforms ?? [],
    dockerfile: t.dockerfile,
    stage: t.bake.target,
    reason: t.variant.includedBy?.reason,
  }));
  const excluded = opts.all
    ? plan.matrix.excluded.map((e) => ({ name: e.name, built: false, values: e.values, reason: e.rule.reason }))
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
    ...(opts.all ? ["REASON"] : []),
  ];
  output.out(
    table(
      header,
      rows.map((r) => [
        r.built ? r.name : `(${r.name})`,
        ...axes.map((a) => r.values[a] ?? ""),
        "platforms" in r ? r.platforms.join(",") : "-",
        "dockerfile" in r ? r.dockerfile : "excluded",
        ...(opts.all ? [r.reason ?? ""] : []),
      ]),
    ),
  );
  if (opts.all) output.out(`\n${plan.targets.length} built, ${plan.matrix.excluded.length} excluded\n`);
}
