import { relative } from "node:path";
import { bakeFilePath } from "../command-support/bake-file.js";
import { lintSecretEnv, secretFileGrants } from "../command-support/secret-env.js";
import { runningInCI, setOnlyInArgs, useCommittedPlan } from "../command-support/committed-plan.js";
import { planAgain, planProject } from "../command-support/plan-project.js";
import { plannedTarget } from "../command-support/targets.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { BuildxError, UserError } from "../errors.js";
import { bakeArgv, probeBuildx, runDocker, stderrTail } from "../io/buildx.js";
import { selectBakeTargets } from "../matrix/select.js";
import type { Plan } from "../plan/plan.js";
import { overriddenVar, type Override } from "../resolve/resolve.js";
import { templateLineOf } from "../render/source-map.js";
import type { TemplateFiles } from "../render/templates.js";
import { compareStrings } from "../text.js";
import { checkImageReference } from "../values.js";

export interface LintOptions extends PlanCommandOptions {
  targets: string[];
  out?: string;
  builder?: string;
  baseImage?: string;
}

/** One warning of `docker buildx bake --call check,format=json` (BuildKit's lint.Warning). */
interface CheckWarning {
  ruleName?: string;
  description?: string;
  detail?: string;
  url?: string;
  location?: { ranges?: { start?: { line?: number } }[] };
}

/** One target's result; when the check stopped, buildx 0.29 gives `error` (the full text) and `buildError` (its message and Dockerfile line). */
interface CheckResult {
  warnings?: CheckWarning[] | null;
  error?: string | { message?: string };
  buildError?: { message?: string; location?: CheckWarning["location"] };
}

/** What `--call check,format=json` prints on stdout, per target. */
export interface CallCheckOutput {
  target?: Record<string, { check?: CheckResult }>;
}

export interface Finding {
  /** `templates/vllm_runtime.liquid:12`, or the Dockerfile line when no template line matched. */
  where: string;
  rule: string;
  detail: string;
  /** Every rendered Dockerfile line the template line became, e.g. `bake/vllm-cuda12.Dockerfile:31`. */
  dockerfiles: string[];
  targets: string[];
  url?: string;
}

// `docker buildx bake --call check` needs buildx 0.16.
const MIN_BUILDX: [number, number, number] = [0, 16, 0];

/** BuildKit's Dockerfile checks over the selected targets, each finding mapped to its template line. */
export async function lint(opts: LintOptions, output: Output): Promise<void> {
  if (opts.baseImage !== undefined) {
    const problems = checkImageReference(opts.baseImage);
    if (problems.length > 0) throw new UserError(`--base-image: ${problems.join("; ")}`);
  }
  // The committed plan: tags, labels and cache refs do not change what BuildKit's checks see, and
  // --set values reach them as build args (as bake passes them), never as rewritten Dockerfiles.
  const { files, plan, lock } = planProject({ ...opts, set: [], only: [], inputs: {} }, output);
  const asSet =
    opts.set.length > 0
      ? setOnlyInArgs(
          plan,
          planAgain(files, { ...opts, only: [], inputs: {} }, lock),
          opts.set,
          "lint checks the committed Dockerfiles and passes this run's values as build args. Set the value in context.yaml to lint it",
        )
      : plan;
  const bakeFile = bakeFilePath(opts.config, opts.out);
  const names = opts.targets.length === 0 && opts.only.length === 0 ? ["all"] : opts.targets;
  const { targets } = selectBakeTargets(
    { variants: plan.targets.map((t) => t.variant), groups: plan.groups, axes: files.project.axes },
    names,
    opts.only,
  );
  useCommittedPlan(plan, files.dir, bakeFile, output, { ci: runningInCI() });
  await probeBuildx(MIN_BUILDX, opts.builder);

  const file = relative(files.dir, bakeFile) || bakeFile;
  const argv = lintArgv({
    file,
    targets,
    sets: [
      ...argSets(asSet, targets, opts.set),
      ...(opts.baseImage !== undefined ? baseImageSets(plan, targets, opts.baseImage) : []),
    ],
    builder: opts.builder,
    allow: secretFileGrants(plan, targets, files.dir),
  });
  const res = await runDocker(argv, {
    cwd: files.dir,
    captureStdout: true,
    quiet: true,
    env: lintSecretEnv(plan, targets, file),
  });
  if (res.interrupted) throw new BuildxError("interrupted; buildx stopped", { argv, exitCode: 130 });
  const checked = parseCallCheck(res.stdout);
  const failed = (what: string) =>
    new BuildxError(`docker buildx bake --call check failed (exit ${res.exitCode})${what}`, {
      argv,
      exitCode: res.exitCode || 1,
      stderrTail: stderrTail(res.stderr),
    });
  if (!checked) throw failed(res.stderr.trim() === "" ? ": no output" : "");

  const { findings, errors } = mapFindings(plan, targets, checked, files.templates, files.project.build.templates);
  for (const f of findings) output.out(`${formatFinding(f)}\n`);
  for (const e of errors) output.out(`error: ${e}\n`);
  if (findings.length > 0 || errors.length > 0)
    throw new UserError(
      `lint: ${findings.length} finding(s)${errors.length ? `, ${errors.length} error(s)` : ""} in ${new Set(findings.flatMap((f) => f.dockerfiles.map((d) => d.replace(/:\d+$/, "")))).size} Dockerfile(s)`,
    );
  if (res.exitCode !== 0) throw failed("");
  const dockerfiles = new Set(targets.map((n) => plannedTarget(plan, n).dockerfile));
  output.out(`lint: no findings in ${dockerfiles.size} Dockerfile(s) (${targets.length} targets)\n`);
}

/** The one buildx run of a lint: BuildKit's checks, as JSON on stdout, over the selected targets. */
export function lintArgv(input: {
  file: string;
  targets: string[];
  sets: string[];
  builder: string | undefined;
  allow?: string[];
}): string[] {
  return bakeArgv({ ...input, call: "check,format=json" });
}

/** `--set NAME=VALUE` of an ARG: the build arg of each target whose Dockerfile declares it. */
export function argSets(plan: Plan, targets: string[], set: readonly Override[]): string[] {
  const sets: string[] = [];
  for (const name of targets) {
    const t = plannedTarget(plan, name);
    for (const o of set)
      if (overriddenVar(o) === undefined && t.declarations.has(o.name)) sets.push(`${name}.args.${o.name}=${o.value}`);
  }
  return sets;
}

/** `--base-image`: every image ARG a target's Dockerfile declares, set to the one local image. */
export function baseImageSets(plan: Plan, targets: string[], image: string): string[] {
  const sets: string[] = [];
  for (const name of targets) {
    const t = plannedTarget(plan, name);
    for (const arg of [...t.values.images].sort())
      if (t.declarations.has(arg)) sets.push(`${name}.args.${arg}=${image}`);
  }
  return sets;
}

/** buildx's `--call check,format=json` stdout, or undefined when it is not that JSON (buildx failed first). */
export function parseCallCheck(stdout: string): CallCheckOutput | undefined {
  try {
    const parsed: unknown = JSON.parse(stdout);
    return parsed !== null && typeof parsed === "object" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Each warning once per template line and rule, with every Dockerfile line it became and every
 * target that reported it (a template shared by 4 Dockerfiles is one finding, not 4), sorted by
 * place; and the targets whose check failed.
 */
export function mapFindings(
  plan: Plan,
  targets: string[],
  checked: CallCheckOutput,
  templates: TemplateFiles,
  templatesLabel: string,
): { findings: Finding[]; errors: string[] } {
  const findings = new Map<string, Finding>();
  const errors: string[] = [];
  for (const name of targets) {
    const t = plannedTarget(plan, name);
    const result = checked.target && Object.hasOwn(checked.target, name) ? checked.target[name]?.check : undefined;
    const content = plan.files.find((f) => f.path === t.dockerfile)?.content ?? "";
    const whereIs = (line: number) => {
      const src = line > 0 ? templateLineOf(content, line, templates, templatesLabel) : undefined;
      return src ? `${templatesLabel}/${src.template}${src.line ? `:${src.line}` : ""}` : `${t.dockerfile}:${line}`;
    };
    const stopped = checkError(result);
    if (stopped) errors.push(`${name}: ${stopped.line > 0 ? `${whereIs(stopped.line)}: ` : ""}${stopped.message}`);
    for (const w of result?.warnings ?? []) {
      const line = w.location?.ranges?.[0]?.start?.line ?? 0;
      const rule = w.ruleName ?? "check";
      const where = whereIs(line);
      const key = `${where}\0${rule}`;
      const at = `${t.dockerfile}:${line}`;
      const existing = findings.get(key);
      if (existing) {
        if (!existing.dockerfiles.includes(at)) existing.dockerfiles.push(at);
        if (!existing.targets.includes(name)) existing.targets.push(name);
        continue;
      }
      findings.set(key, {
        where,
        rule,
        detail: w.detail ?? w.description ?? "",
        dockerfiles: [at],
        targets: [name],
        url: w.url,
      });
    }
  }
  for (const f of findings.values()) {
    f.dockerfiles.sort(compareStrings);
    f.targets.sort(compareStrings);
  }
  const sorted = [...findings.values()].sort(
    (a, b) => compareStrings(a.where, b.where) || compareStrings(a.rule, b.rule),
  );
  return { findings: sorted, errors };
}

/** Why a target's check stopped, with its Dockerfile line (0 when unknown), if it did. */
function checkError(result: CheckResult | undefined): { message: string; line: number } | undefined {
  const message =
    result?.buildError?.message ??
    (typeof result?.error === "string" ? result.error.split("\n")[0] : result?.error?.message);
  if (!message) return undefined;
  return { message, line: result?.buildError?.location?.ranges?.[0]?.start?.line ?? 0 };
}

/** One line: the template location, the rule, what is wrong, then the Dockerfiles and targets it affects. */
export function formatFinding(f: Finding): string {
  return `${f.where}: ${f.rule}: ${f.detail} (${f.dockerfiles.join(", ")}; ${f.targets.join(", ")})${f.url ? ` ${f.url}` : ""}`;
}
