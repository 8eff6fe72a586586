import type { Issue } from "../errors.js";
import { didYouMean } from "../text.js";
import {
  checkImageReference,
  checkRegistry,
  checkRepository,
  checkValue,
  secretArgMessage,
  secretLikeReason,
} from "../values.js";
import type { Match, Project } from "./normalize.js";
import type { KeyPath } from "./yaml-source.js";

export const TAG_PLACEHOLDERS = ["name", "version", "sha", "sha_short", "branch"] as const;

interface RuleContext {
  project: Project;
  errors: Issue[];
  warnings: Issue[];
  error: (path: KeyPath, message: string, opts?: { key?: boolean }) => void;
}

type Rule = (ctx: RuleContext) => void;

const atLeastOneAxis: Rule = ({ project, error }) => {
  if (project.axes.length === 0) error(["axes"], "Empty matrix: declare at least one axis, e.g. framework: [vllm]");
};

const axesHaveValues: Rule = ({ project, error }) => {
  for (const axis of project.axes) {
    if (axis.values.length === 0) error(axis.path, `Empty axis "${axis.name}": give it at least one value`);
    const seen = new Set<string>();
    for (const v of axis.values) {
      if (v.value === "") error(v.path, `Empty value in axis "${axis.name}"`);
      if (seen.has(v.value)) error(v.path, `Duplicate value "${v.value}" in axis "${axis.name}"`);
      seen.add(v.value);
    }
  }
};

const stageAxisExists: Rule = ({ project, error }) => {
  const names = project.axes.map((a) => a.name);
  if (!names.includes(project.stageAxis)) {
    const hint = didYouMean(project.stageAxis, names);
    error(
      ["stage_axis"],
      `Unknown axis "${project.stageAxis}".${hint ? ` Did you mean "${hint}"?` : ` Axes: ${names.join(", ")}.`}`,
    );
  }
  for (const axis of project.axes) {
    if (axis.name === project.stageAxis) continue;
    for (const v of axis.values)
      if (v.stage !== v.value)
        error([...v.path, "stage"], `"stage" is only meaningful on the stage axis "${project.stageAxis}"`, {
          key: true,
        });
  }
};

const onePackageManagerAxis: Rule = ({ project, error }) => {
  const axes = project.axes.filter((a) => a.values.some((v) => v.packageManager));
  if (axes.length > 1)
    error(
      axes[1]!.path,
      `package_manager is set on axes ${axes.map((a) => a.name).join(" and ")}; set it on one axis (usually os)`,
    );
  for (const axis of axes)
    for (const v of axis.values)
      if (!v.packageManager)
        error(
          v.path,
          `Missing package_manager for ${axis.name}=${v.value}: every value of axis "${axis.name}" needs one`,
        );
};

function checkMatch(ctx: RuleContext, match: Match, path: KeyPath): void {
  const { project } = ctx;
  for (const [axisName, values] of Object.entries(match)) {
    const axis = project.axes.find((a) => a.name === axisName);
    if (!axis) {
      const hint = didYouMean(
        axisName,
        project.axes.map((a) => a.name),
      );
      ctx.error(
        [...path, axisName],
        `Unknown axis "${axisName}".${hint ? ` Did you mean "${hint}"?` : ` Axes: ${project.axes.map((a) => a.name).join(", ")}.`}`,
        { key: true },
      );
      continue;
    }
    values.forEach((value, i) => {
      const known = axis.values.map((v) => v.value);
      if (known.includes(value)) return;
      const hint = didYouMean(value, known);
      const where: KeyPath = values.length === 1 ? [...path, axisName] : [...path, axisName, i];
      ctx.error(
        where,
        `Unknown value "${value}" for axis "${axisName}".${hint ? ` Did you mean "${hint}"?` : ""} Values: ${known.join(", ")}.`,
      );
    });
  }
}

const selectorsNameKnownAxes: Rule = (ctx) => {
  const { project } = ctx;
  for (const layer of project.layers)
    if (layer.kind === "combination") checkMatch(ctx, layer.match, [...layer.path, "when"]);
  for (const rule of [...project.exclude, ...project.include]) {
    checkMatch(ctx, rule.match, [...rule.path, "when"]);
    if (Object.keys(rule.match).length === 0)
      ctx.error([...rule.path, "when"], "Empty selector: name at least one axis");
  }
  for (const group of project.groups.define) checkMatch(ctx, group.match, group.path);
  for (const { axis, path } of project.groups.perAxis)
    if (!project.axes.some((a) => a.name === axis)) ctx.error(path, `Unknown axis "${axis}"`);
};

const layerValuesAreSafe: Rule = (ctx) => {
  const allowed = ctx.project.build.allowSecretLike;
  for (const layer of ctx.project.layers) {
    const v = layer.values;
    for (const [name, value] of Object.entries(v.args ?? {})) {
      for (const m of checkValue(name, value, "ARG")) ctx.error([...layer.path, "args", name], m);
      // Also checked per target after --set (resolve.ts); here it is reported with every other problem of the file.
      const why = allowed.has(name) ? undefined : secretLikeReason(name, value);
      if (why) ctx.error([...layer.path, "args", name], secretArgMessage(name, why));
    }
    for (const [name, value] of Object.entries(v.images ?? {})) {
      for (const m of [...checkValue(name, value, "ARG"), ...checkImageReference(value)])
        ctx.error([...layer.path, "images", name], m);
      if (v.args && name in v.args)
        ctx.error([...layer.path, "images", name], `${name} is set under both args and images; keep one`, {
          key: true,
        });
    }
    for (const [name, value] of Object.entries(v.labels ?? {})) {
      for (const m of checkValue(name, value, "label")) ctx.error([...layer.path, "labels", name], m);
      for (const m of checkValue(name, name, "label name"))
        ctx.error([...layer.path, "labels", name], m, { key: true });
    }
  }
};

/** Project fields become labels; axis values reach target names, tags and template variables. */
const namesAndLabelsAreSingleLine: Rule = (ctx) => {
  const { meta, build } = ctx.project;
  // build.syntax is the Dockerfile's first line and the paths reach its header comment and the bake file.
  const settings = [
    ["syntax", build.syntax],
    ["templates", build.templates],
    ["template", build.template],
    ["out_dir", build.outDir],
    ["context", build.context],
  ] as const;
  for (const [key, value] of settings)
    if (value !== undefined) for (const m of checkValue(`build.${key}`, value, "setting")) ctx.error(["build", key], m);
  for (const key of ["name", "title", "source"] as const) {
    const value = meta[key];
    if (value !== undefined)
      for (const m of checkValue(`project.${key}`, value, "label value")) ctx.error(["project", key], m);
  }
  for (const axis of ctx.project.axes) {
    for (const v of axis.values) {
      for (const m of checkValue(`${axis.name}=${JSON.stringify(v.value)}`, v.value, "axis value"))
        ctx.error(v.path, m, { key: true });
      if (v.token !== v.value)
        for (const m of checkValue(`name of ${axis.name}=${v.value}`, v.token, "target-name token"))
          ctx.error([...v.path, "name"], m);
    }
  }
};

const tagPatternsUseKnownPlaceholders: Rule = (ctx) => {
  const { publish, cache, axes } = ctx.project;
  const known = [...TAG_PLACEHOLDERS, ...axes.map((a) => a.name)];
  const check = (pattern: string, path: KeyPath, required: string[] = []) => {
    const used = [...pattern.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
    for (const p of used) {
      if (!known.includes(p)) {
        const hint = didYouMean(p, known);
        ctx.error(
          path,
          `Unknown placeholder {${p}}.${hint ? ` Did you mean {${hint}}?` : ""} Known: ${known.map((k) => `{${k}}`).join(" ")}`,
        );
      }
    }
    for (const r of required)
      if (!used.includes(r)) ctx.error(path, `The pattern must contain {${r}}: one cache ref per target and branch`);
    // Placeholder values are sanitised like docker/metadata-action does; the text around them is not.
    const literal = pattern.replace(/\{[^{}]*\}/g, "");
    const bad = [...new Set(literal.replace(/[A-Za-z0-9_.-]/g, ""))];
    if (bad.length > 0)
      ctx.error(
        path,
        `Invalid tag pattern "${pattern}": ${bad.map((c) => JSON.stringify(c)).join(" ")} cannot appear in a tag; use letters, digits, _ . - around the placeholders`,
      );
    else if (/^[.-]/.test(pattern))
      ctx.error(path, `Invalid tag pattern "${pattern}": a tag cannot start with "." or "-"`);
    else if (literal.length > 128)
      ctx.error(
        path,
        `Invalid tag pattern "${pattern}": ${literal.length} characters without the placeholders, a tag has at most 128`,
      );
  };
  publish.tags.forEach((t, i) => check(t, ["publish", "tags", i]));
  if (cache) check(cache.tag, ["cache", "tag"], ["name", "branch"]);
  // A pattern differs between targets only through {name} or an axis placeholder; {sha}, {branch} and constants do not.
  const perTarget = ["name", ...axes.map((a) => a.name)];
  if (!publish.tags.some((t) => perTarget.some((p) => t.includes(`{${p}}`)))) {
    ctx.warnings.push({
      message: "No tag pattern contains {name}: every target would push the same tags",
      location: ctx.project.source.locate(["publish", "tags"]),
    });
  }
};

const registriesAndRepositoriesAreValid: Rule = (ctx) => {
  const { publish, cache } = ctx.project;
  if (publish.registry) for (const m of checkRegistry(publish.registry)) ctx.error(["publish", "registry"], m);
  for (const m of checkRepository(publish.repository)) ctx.error(["publish", "repository"], m);
  if (cache?.registry) for (const m of checkRegistry(cache.registry)) ctx.error(["cache", "registry"], m);
  if (cache) for (const m of checkRepository(cache.repository)) ctx.error(["cache", "repository"], m);
};

const cacheIsSeparateFromImages: Rule = (ctx) => {
  const { publish, cache } = ctx.project;
  if (!cache) return;
  const cacheRegistry = cache.registry ?? publish.registry;
  if (cacheRegistry === publish.registry && cache.repository === publish.repository)
    ctx.error(
      ["cache", "repository"],
      "The cache repository must differ from the image repository (ECR rejects cache manifests over immutable image tags, and a cache push would overwrite images)",
    );
};

const RULES: Rule[] = [
  atLeastOneAxis,
  axesHaveValues,
  stageAxisExists,
  onePackageManagerAxis,
  selectorsNameKnownAxes,
  layerValuesAreSafe,
  namesAndLabelsAreSingleLine,
  tagPatternsUseKnownPlaceholders,
  registriesAndRepositoriesAreValid,
  cacheIsSeparateFromImages,
];

export function checkRules(project: Project): { errors: Issue[]; warnings: Issue[] } {
  const errors: Issue[] = [];
  const warnings: Issue[] = [];
  const ctx: RuleContext = {
    project,
    errors,
    warnings,
    error: (path, message, opts) => errors.push({ message, location: project.source.locate(path, opts) }),
  };
  for (const rule of RULES) rule(ctx);
  return { errors, warnings };
}
