import { relative } from "node:path";
import type { Output, PlanCommandOptions } from "../cli.js";
import { BuildxError, UserError } from "../errors.js";
import { bakeArgv, lastLine, probeBuildx, runDocker } from "../io/buildx.js";
import { writePlan } from "../io/write-plan.js";
import { templateLineOf } from "../render/source-map.js";
import { checkImageReference } from "../values.js";
import { selectTargets } from "./bake.js";
import { bakeFilePath, planProject } from "./shared.js";

export interface LintOptions extends PlanCommandOptions {
  targets: string[];
  out?: string;
  builder?: string;
  baseImage?: string;
}

interface CheckWarning {
  ruleName?: string;
  description?: string;
  detail?: string;
  url?: string;
  location?: { ranges?: { start?: { line?: number } }[] };
}

interface CallCheckOutput {
  target?: Record<string, { check?: { warnings?: CheckWarning[]; error?: { message?: string } } }>;
}

export interface Finding {
  /** `templates/vllm_runtime.liquid:12`, or the Dockerfile line when no template line matched. */
  where: string;
  rule: string;
  detail: string;
  dockerfile: string;
  line: number;
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
  const { files, plan } = planProject({ ...opts, only: [] }, output);
  const bakeFile = bakeFilePath(files, opts.out);
  const names = opts.targets.length === 0 && opts.only.length === 0 ? ["all"] : opts.targets;
  const selection = selectTargets(plan, files, names, opts.only);
  writePlan(plan, files.dir, bakeFile);
  await probeBuildx(MIN_BUILDX, opts.builder);

  const sets: string[] = [];
  if (opts.baseImage !== undefined) {
    for (const name of selection.targets) {
      const t = plan.targets.find((x) => x.variant.name === name)!;
      for (const image of [...t.values.images].sort())
        if (t.declarations.has(image)) sets.push(`${name}.args.${image}=${opts.baseImage}`);
    }
  }
  const argv = bakeArgv({
    file: relative(files.dir, bakeFile) || bakeFile,
    targets: selection.targets,
    call: "check,format=json",
    sets,
    ...(opts.builder ? { builder: opts.builder } : {}),
  });
  const res = await runDocker(argv, { cwd: files.dir, captureStdout: true, quiet: true });
  if (res.interrupted) throw new BuildxError("interrupted; buildx stopped", 130);
  let parsed: CallCheckOutput;
  try {
    parsed = JSON.parse(res.stdout) as CallCheckOutput;
  } catch {
    throw new BuildxError(
      `docker buildx bake --call check failed (exit ${res.exitCode}): ${lastLine(res.stderr) || "no output"}`,
      res.exitCode || 1,
    );
  }

  const templatesLabel = files.project.build.templates;
  const findings = new Map<string, Finding>();
  const errors: string[] = [];
  for (const name of selection.targets) {
    const t = plan.targets.find((x) => x.variant.name === name)!;
    const result = parsed.target?.[name]?.check;
    if (result?.error?.message) errors.push(`${name}: ${result.error.message}`);
    const content = plan.files.find((f) => f.path === t.dockerfile)?.content ?? "";
    for (const w of result?.warnings ?? []) {
      const line = w.location?.ranges?.[0]?.start?.line ?? 0;
      const rule = w.ruleName ?? "check";
      const key = `${t.dockerfile}:${line}:${rule}`;
      const existing = findings.get(key);
      if (existing) {
        existing.targets.push(name);
        continue;
      }
      const src = line > 0 ? templateLineOf(content, line, files.templates, templatesLabel) : undefined;
      const where = src
        ? `${templatesLabel}/${src.template}${src.line ? `:${src.line}` : ""}`
        : `${t.dockerfile}:${line}`;
      findings.set(key, {
        where,
        rule,
        detail: w.detail ?? w.description ?? "",
        dockerfile: t.dockerfile,
        line,
        targets: [name],
        ...(w.url ? { url: w.url } : {}),
      });
    }
  }
  const sorted = [...findings.values()].sort((a, b) =>
    a.where < b.where ? -1 : a.where > b.where ? 1 : a.line - b.line,
  );
  for (const f of sorted)
    output.out(
      `${f.where}: ${f.rule}: ${f.detail} (${f.dockerfile}:${f.line}; ${f.targets.join(", ")})${f.url ? ` ${f.url}` : ""}\n`,
    );
  for (const e of errors) output.out(`error: ${e}\n`);
  if (sorted.length > 0 || errors.length > 0)
    throw new UserError(
      `lint: ${sorted.length} finding(s)${errors.length ? `, ${errors.length} error(s)` : ""} in ${new Set(sorted.map((f) => f.dockerfile)).size} Dockerfile(s)`,
    );
  if (res.exitCode !== 0)
    throw new BuildxError(
      `docker buildx bake --call check failed (exit ${res.exitCode}): ${lastLine(res.stderr)}`,
      res.exitCode,
    );
  output.out(
    `lint: no findings in ${new Set(selection.targets.map((n) => plan.targets.find((t) => t.variant.name === n)!.dockerfile)).size} Dockerfile(s) (${selection.targets.length} targets)\n`,
  );
}
