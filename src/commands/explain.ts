import { planProject } from "../command-support/plan-project.js";
import { table } from "../command-support/table.js";
import { excludedNamed, findTarget, namesakeNote } from "../command-support/targets.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { formatLocation, UsageError } from "../errors.js";
import { matchLabel, type Axis, type Project } from "../config/normalize.js";
import { absentAxes, valuesLabel } from "../matrix/expand.js";
import { describeOrigin } from "../plan/affinity.js";
import { expandWord } from "../render/instructions.js";
import type { ResolvedValues } from "../resolve/resolve.js";
import { compareStrings, didYouMean } from "../text.js";

export function explain(opts: PlanCommandOptions & { target: string; args: string[] }, output: Output): void {
  const { plan, files } = planProject(opts, output);
  const built = plan.targets.some((t) => t.variant.name === opts.target);
  const excluded = excludedNamed(plan, opts.target);
  if (!built && excluded) {
    output.out(`${opts.target} is not built (${valuesLabel(excluded.values)})\n`);
    output.out(
      `  excluded by ${formatLocation(files.project.source.locate(excluded.rule.path))}\n  reason: ${excluded.rule.reason}\n`,
    );
    return;
  }
  const t = findTarget(plan, opts.target, files.project.source);
  const v = t.variant;
  const note = namesakeNote(plan, v.name, files.project.source);
  const varNames = files.project.varNames;
  const known = [...t.values.args.keys(), ...t.declarations.keys()];
  const [varArgs, argArgs] = partition(opts.args, (name) => name.startsWith(VARS));
  for (const name of argArgs) {
    if (known.includes(name)) continue;
    const hint = didYouMean(name, known);
    throw new UsageError(`${v.name} has no ARG ${name}.${hint ? ` Did you mean ${hint}?` : ""}`);
  }
  for (const name of varArgs) {
    if (varNames.includes(name.slice(VARS.length))) continue;
    const hint = didYouMean(name.slice(VARS.length), varNames);
    throw new UsageError(`No layer sets the template value ${name}.${hint ? ` Did you mean ${VARS}${hint}?` : ""}`);
  }
  output.out(`${v.name} (${valuesLabel(v.values)})\n`);
  for (const axis of absentAxes(files.project, v.values)) output.out(`  ${absentLine(files.project, axis)}\n`);
  if (v.includedBy)
    output.out(
      `  included by ${formatLocation(files.project.source.locate(v.includedBy.path))}: ${v.includedBy.reason}\n`,
    );
  const stage = t.values.stage;
  output.out(
    `  dockerfile: ${t.dockerfile}  stage: ${stage ? `${stage.value}  (${formatLocation(stage.source)}, ${stage.layer})` : "none: bake builds the last stage"}\n`,
  );
  if (note) output.out(`  ${note}\n`);
  if (t.values.platforms)
    output.out(`  platforms: ${t.values.platforms.value.join(", ")}  (${formatLocation(t.values.platforms.source)})\n`);
  const unit = plan.builders?.unitOf.get(v.name);
  const placement = plan.builders?.assignment.placements.find((p) => p.unit === unit);
  if (unit && placement) {
    output.out(`  builder: ${placement.builder} (${placement.reason}; ranking ${placement.ranking.join(" > ")})\n`);
    for (const i of placement.ineligible) output.out(`    not ${i.builder}: it does not build ${i.lacks}\n`);
    output.out(`  affinity: ${unit.label} (${describeOrigin(unit.origin)})\n`);
    if (unit.targets.length > 1)
      output.out(`    builds with: ${unit.targets.filter((x) => x !== v.name).join(", ")}\n`);
  }
  for (const tag of t.bake.tags ?? []) output.out(`  tag: ${tag}\n`);
  for (const c of t.bake["cache-from"] ?? []) output.out(`  cache-from: ${c}\n`);
  for (const c of t.bake["cache-to"] ?? []) output.out(`  cache-to: ${c}\n`);

  const names =
    opts.args.length > 0
      ? argArgs
      : [...new Set([...t.values.args.keys(), ...t.declarations.keys()])].sort(compareStrings);
  const rows: string[][] = [];
  for (const name of names) {
    const value = t.values.args.get(name);
    const decl = t.declarations.get(name);
    const declared = decl
      ? `${decl.stage === "" ? "global" : `stage ${decl.stage}`}${decl.template ? ` (${files.project.build.templates}/${decl.template.template}:${decl.template.line})` : ""}`
      : "not declared: not sent to the build";
    const expanded = value?.derived && decl ? "; BuildKit expands it (not a build arg)" : "";
    rows.push([
      name,
      value?.derived
        ? `derived ${JSON.stringify(value.value)} = ${JSON.stringify(expandDerived(value.value, t.values.args))}`
        : value
          ? JSON.stringify(value.value)
          : "(no value: Dockerfile default)",
      value ? formatLocation(value.source) : "-",
      value?.layer ?? "-",
      declared + expanded,
    ]);
  }
  if (names.length > 0) output.out(`\n${table(["ARG", "VALUE", "SOURCE", "LAYER", "DECLARED"], rows)}`);

  // Template values: every one some layer sets is a variable of this target's templates, nil where unset.
  const vars = opts.args.length > 0 ? varArgs.map((n) => n.slice(VARS.length)) : varNames;
  if (vars.length === 0) return;
  const varRows = vars.map((name) => {
    const value = t.values.vars.get(name);
    return value
      ? [`${VARS}${name}`, JSON.stringify(value.value), formatLocation(value.source), value.layer]
      : [`${VARS}${name}`, "(unset: nil)", "-", "-"];
  });
  output.out(`\n${table(["TEMPLATE VALUE", "VALUE", "SOURCE", "LAYER"], varRows)}`);
}

const VARS = "vars.";

/** `cuda: absent, applies only where device=cuda (context.yaml:31:5: axes.cuda.when)`. */
function absentLine(project: Project, axis: Axis): string {
  const when = axis.when!;
  return `${axis.name}: absent, applies only where ${matchLabel(when.match)} (${formatLocation(project.source.locate(when.path, { key: true }))})`;
}

/**
 * What BuildKit makes of a derived default with this target's values (a derived one it reads is
 * expanded in turn, a few levels deep): what the build gets when the names it reads are declared
 * before it, as the plan warns otherwise.
 */
function expandDerived(text: string, args: ResolvedValues["args"], depth = 0): string {
  return expandWord(text, (name) => {
    const v = args.get(name);
    if (v === undefined || !v.derived) return v?.value;
    return depth < 4 ? expandDerived(v.value, args, depth + 1) : "";
  }).value;
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((i) => !test(i))];
}
