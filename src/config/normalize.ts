import { posix } from "node:path";
import type { BranchKind } from "./branches.js";
import { parsePattern, type ParsedPattern } from "./patterns.js";
import type { AxisValueSpec, Context, LayerValues, Selector, PACKAGE_MANAGERS } from "./schema.js";
import type { KeyPath, YamlSource } from "./yaml-source.js";
import { compareStrings } from "../text.js";

export type PackageManager = (typeof PACKAGE_MANAGERS)[number];

export interface AxisValue {
  axis: string;
  value: string;
  /** What this value contributes to target names ("" for nothing). */
  token: string;
  /** Whether the token was written as `name:` (otherwise it is derived from the value). */
  tokenGiven: boolean;
  /** Dockerfile stage (meaningful on the stage axis). */
  stage: string;
  packageManager?: PackageManager;
  description?: string;
  path: KeyPath;
}

export interface Axis {
  name: string;
  values: AxisValue[];
  path: KeyPath;
  /**
   * Where the axis applies (`axes.cuda: {when: {device: cuda}, values: ...}`): a selector over
   * axes before it. A combination it does not match has no value of this axis (it is absent).
   */
  when?: { match: Match; path: KeyPath };
  description?: string;
}

/** A selector in canonical form: axis -> allowed values; `null` matches where the axis is absent. */
export type Match = Record<string, (string | null)[]>;

/** One precedence layer of values: defaults, one axis value, or one combination. */
export interface Layer {
  kind: "defaults" | "axis" | "combination";
  /** Human label: `defaults`, `framework=vllm`, `framework=vllm, cuda=12.9`. */
  label: string;
  match: Match;
  /** Higher wins: defaults 0, axis value 1, a combination = number of axes it names. */
  rank: number;
  values: LayerValues;
  path: KeyPath;
  /** A stage axis value without `stage:`: its stage is the value, located at the value's key. */
  stageImplicit?: boolean;
}

export interface Rule {
  match: Match;
  reason: string;
  path: KeyPath;
}

export interface BuildSettings {
  /**
   * The template directory relative to the project directory, normalised (`./templates/` ->
   * `templates`): how files are read and how markers, errors and `explain` name templates.
   */
  templates: string;
  /** The top-level template, by its name inside the template directory. */
  template: string;
  /** Output directory of the Dockerfiles, relative to the project directory. */
  outDir: string;
  /** Build context of every target, relative to the project directory. */
  context: string;
  syntax?: string;
  network?: "default" | "host" | "none";
  /** ARG names that look like secrets but are not. */
  allowSecretLike: ReadonlySet<string>;
  /** Whether rendered Dockerfiles are tidied (render/dockerfile.ts `tidy`); off, they are byte for byte what the templates render. */
  tidy: boolean;
  /** Pin images to their digests from bakeplan.lock.json. */
  locked: boolean;
}

/** One entry of publish.tags. */
export interface TagRule {
  pattern: ParsedPattern;
  /** Only when --branch matches one of these patterns. */
  branches?: string[];
  /** Only on the targets this selector matches. */
  match?: Match;
  /** Where the entry is: `publish.tags[i]`. */
  path: KeyPath;
  /** Where its pattern is: the entry, or its `tag` key. */
  patternPath: KeyPath;
}

export interface Publish {
  registry: string;
  repository: string;
  tags: TagRule[];
}

export interface Cache {
  registry?: string;
  repository: string;
  tag: ParsedPattern;
  /** Branches (or branch kinds, when the tag uses {branch_kind}) read after the current one. */
  fallback: string[];
  /** Whether `fallback` was written in context.yaml (the default is [main]). */
  fallbackGiven: boolean;
  writeOn: string[];
  mode: "min" | "max";
  allowSharedWrites: boolean;
}

/** One member of a group: the targets a selector matches, or a target or group by name. */
export type GroupMember =
  { kind: "match"; match: Match; path: KeyPath } | { kind: "name"; name: string; path: KeyPath };

/** One builder of a pool: a buildx builder name, what it can build, its share of the load. */
export interface PoolBuilder {
  name: string;
  /** Platforms it builds; undefined = any. */
  platforms?: string[];
  weight: number;
  path: KeyPath;
}

export interface BuilderPool {
  builders: PoolBuilder[];
  /** A builder takes at most this many times its fair share of the work. */
  loadFactor: number;
}

export interface Group {
  name: string;
  members: GroupMember[];
  path: KeyPath;
}

/** `limits.render_ms`, `limits.render_chars` and `limits.template_chars`: bounds on template rendering. */
export interface RenderLimits {
  /** Milliseconds all renders of one run may take together. */
  renderMs: number;
  /** Characters one render may write, and may build in liquidjs's ranges and filter results. */
  renderChars: number;
  /** Characters of one template file. */
  templateChars: number;
}

/** context.yaml in canonical form: the input of every later stage. */
export interface Project {
  source: YamlSource;
  meta: { name: string; title?: string; source?: string };
  build: BuildSettings;
  publish: Publish;
  cache?: Cache;
  /** `branch_kinds`, in file order (the first match wins). */
  branchKinds: (BranchKind & { path: KeyPath })[];
  axes: Axis[];
  /** The axis whose value picks the stage, if the file names one. */
  stageAxis?: string;
  layers: Layer[];
  /** Every template value (`vars`) some layer sets, sorted: each is a variable of every template, nil where unset. */
  varNames: string[];
  exclude: Rule[];
  include: Rule[];
  groups: {
    /** One group per value of each of these axes. */
    perAxis: { axis: string; path: KeyPath }[];
    define: Group[];
  };
  limits: { maxVariants: number };
  renderLimits: RenderLimits;
  builders?: BuilderPool;
}

export function toMatch(selector: Selector): Match {
  const out: Match = Object.create(null) as Match;
  for (const [axis, v] of Object.entries(selector)) out[axis] = Array.isArray(v) ? v : [v];
  return out;
}

/** `framework=vllm, cuda={12.9,13.0}`; an absent axis is `cuda=~`, as context.yaml writes it. */
export function matchLabel(match: Match): string {
  const text = (v: string | null) => v ?? "~";
  return Object.entries(match)
    .map(([axis, values]) => `${axis}=${values.length === 1 ? text(values[0]!) : `{${values.map(text).join(",")}}`}`)
    .join(", ");
}

export function normalize(context: Context, source: YamlSource): Project {
  const axes = Object.entries(context.axes).map(([name, def]) => normalizeAxis(name, def, name === context.stage_axis));
  const rules = (list: Context["exclude"], key: string): Rule[] =>
    list.map((r, i) => ({ match: toMatch(r.when), reason: r.reason, path: [key, i] }));
  const layers: Layer[] = [
    { kind: "defaults", label: "defaults", match: {}, rank: 0, values: context.defaults, path: ["defaults"] },
    ...axes.flatMap((a) => a.layers),
    ...combinationLayers(context.combinations),
  ];
  return {
    source,
    meta: context.project,
    build: buildSettings(context.build),
    publish: publishSettings(context.publish),
    cache: context.cache && cacheSettings(context.cache),
    branchKinds: Object.entries(context.branch_kinds).map(([name, patterns]) => ({
      name,
      patterns,
      path: ["branch_kinds", name],
    })),
    axes: axes.map((a) => a.axis),
    stageAxis: context.stage_axis,
    layers,
    varNames: [...new Set(layers.flatMap((l) => Object.keys(l.values.vars ?? {})))].sort(compareStrings),
    exclude: rules(context.exclude, "exclude"),
    include: rules(context.include, "include"),
    groups: {
      perAxis: context.groups.per_axis.map((axis, i) => ({ axis, path: ["groups", "per_axis", i] })),
      define: Object.entries(context.groups.define).map(([name, def]) => definedGroup(name, def)),
    },
    limits: { maxVariants: context.limits.max_variants },
    renderLimits: {
      renderMs: context.limits.render_ms,
      renderChars: context.limits.render_chars,
      templateChars: context.limits.template_chars,
    },
    builders: context.builders && {
      builders: context.builders.pool.map((b, i) => ({
        name: b.name,
        platforms: b.platforms,
        weight: b.weight,
        path: ["builders", "pool", i],
      })),
      loadFactor: context.builders.load_factor,
    },
  };
}

/**
 * One axis (a list of values, or a map of value -> settings), and a layer for each value that sets
 * values. Each value of the stage axis is a layer: it sets the stage (its `stage`, default the value).
 */
function normalizeAxis(
  name: string,
  def: Context["axes"][string],
  isStageAxis: boolean,
): { axis: Axis; layers: Layer[] } {
  const restricted = isRestrictedAxis(def) ? def : undefined;
  const list = restricted ? restricted.values : (def as Exclude<typeof def, RestrictedAxis>);
  const base: KeyPath = restricted ? ["axes", name, "values"] : ["axes", name];
  const entries: [string, AxisValueSpec][] = Array.isArray(list)
    ? list.map((v) => [v, {}])
    : Object.entries(list).map(([v, spec]) => [v, spec ?? {}]);
  const layers: Layer[] = [];
  const values = entries.map(([value, spec], i): AxisValue => {
    const path: KeyPath = Array.isArray(list) ? [...base, i] : [...base, value];
    const { name: token, stage, package_manager, description, ...layerValues } = spec;
    if (isStageAxis) (layerValues as LayerValues).stage = stage ?? value;
    if (Object.keys(layerValues).length > 0)
      layers.push({
        kind: "axis",
        label: `${name}=${value}`,
        match: { [name]: [value] },
        rank: 1,
        values: layerValues,
        path,
        ...(isStageAxis && stage === undefined ? { stageImplicit: true } : {}),
      });
    return {
      axis: name,
      value,
      token: token ?? bakeSafeToken(value),
      tokenGiven: token !== undefined,
      stage: stage ?? value,
      packageManager: package_manager,
      description,
      path,
    };
  });
  const axis: Axis = { name, values, path: ["axes", name] };
  if (restricted) {
    axis.when = { match: toMatch(restricted.when), path: ["axes", name, "when"] };
    if (restricted.description !== undefined) axis.description = restricted.description;
  }
  return { axis, layers };
}

type RestrictedAxis = Extract<Context["axes"][string], { when: unknown }>;

/**
 * The `{when, values}` form, told apart by shape from a map of values that happens to have values
 * named `when` and `values` (the schema's union tries this form first; each of that map's values
 * is a mapping of settings or null, never a selector and a list or map of values).
 */
function isRestrictedAxis(def: Context["axes"][string]): def is RestrictedAxis {
  if (Array.isArray(def) || !Object.hasOwn(def, "when") || !Object.hasOwn(def, "values")) return false;
  const { when, values, ...rest } = def as Record<string, unknown>;
  const isSelector =
    when !== null &&
    typeof when === "object" &&
    Object.values(when).every(
      (v) =>
        v === null ||
        typeof v === "string" ||
        (Array.isArray(v) && v.every((x) => x === null || typeof x === "string")),
    );
  const isValues =
    Array.isArray(values) ||
    (values !== null &&
      typeof values === "object" &&
      Object.values(values).every((v) => v === null || (typeof v === "object" && !Array.isArray(v))));
  return isSelector && isValues && Object.keys(rest).every((k) => k === "description" && typeof rest[k] === "string");
}

/** A combination naming more axes ranks higher; any combination outranks an axis value. */
function combinationLayers(combinations: Context["combinations"]): Layer[] {
  return combinations.map(({ when, description: _description, ...values }, i) => {
    const match = toMatch(when);
    return {
      kind: "combination",
      label: matchLabel(match),
      match,
      rank: Math.max(2, Object.keys(match).length),
      values,
      path: ["combinations", i],
    };
  });
}

function publishSettings(publish: Context["publish"]): Publish {
  return {
    registry: publish.registry,
    repository: publish.repository,
    tags: publish.tags.map((t, i): TagRule => {
      const path: KeyPath = ["publish", "tags", i];
      if (typeof t === "string") return { pattern: parsePattern(t), path, patternPath: path };
      return {
        pattern: parsePattern(t.tag),
        branches: t.branches,
        match: t.when && toMatch(t.when),
        path,
        patternPath: [...path, "tag"],
      };
    }),
  };
}

function cacheSettings(cache: NonNullable<Context["cache"]>): Cache {
  return {
    registry: cache.registry,
    repository: cache.repository,
    tag: parsePattern(cache.tag),
    fallback: cache.fallback ?? ["main"],
    fallbackGiven: cache.fallback !== undefined,
    writeOn: cache.write_on,
    mode: cache.mode,
    allowSharedWrites: cache.allow_shared_writes,
  };
}

/** A group defined by one selector, or by a list of selectors and target or group names. */
function definedGroup(name: string, def: Context["groups"]["define"][string]): Group {
  const path: KeyPath = ["groups", "define", name];
  if (!Array.isArray(def)) return { name, members: [{ kind: "match", match: toMatch(def), path }], path };
  return {
    name,
    members: def.map((m, i): GroupMember => {
      const at: KeyPath = [...path, i];
      return typeof m === "string"
        ? { kind: "name", name: m, path: at }
        : { kind: "match", match: toMatch(m), path: at };
    }),
    path,
  };
}

/**
 * The name token of a value without `name:`: the value, each run of characters bake target names
 * cannot hold (anything but [a-zA-Z0-9_-]) replaced by `_`, as buildx names compose services
 * (`3.12` -> `3_12`, docker/buildx#1011). Tags, labels and templates keep the value itself.
 */
export function bakeSafeToken(value: string): string {
  return value.replace(/[^a-zA-Z0-9_-]+/g, "_");
}

function buildSettings(build: Context["build"]): BuildSettings {
  return {
    templates: directoryLabel(build.templates),
    template: build.template,
    outDir: posix.normalize(build.out_dir),
    context: posix.normalize(build.context),
    syntax: build.syntax,
    network: build.network,
    allowSecretLike: new Set(build.allow_secret_like),
    tidy: build.tidy,
    locked: build.locked,
  };
}

/** `./templates/` -> `templates`: every consumer appends `/name`, so no trailing slash. */
function directoryLabel(dir: string): string {
  const normalized = posix.normalize(dir);
  return normalized.length > 1 ? normalized.replace(/\/+$/, "") : normalized;
}
