// Which targets a change affects, decided by comparing what each target builds at two revisions
// (as bazel-diff and docker-library's buildId do, not by guessing from file paths): the stages it
// reaches, the ARG values those stages read, its bake settings, the build-context files its
// COPY/ADD/bind mounts take, and the settings every target shares. Pure: both plans, the changed
// file names and the ignore files are inputs.

import type { BuildSettings, Project } from "../config/normalize.js";
import { formatLocation, UserError, type SourceLocation } from "../errors.js";
import type { Plan } from "../plan/plan.js";
import type { EnvTemplate } from "../plan/bake-file.js";
import type { PlannedFile } from "../plan/dockerfiles.js";
import { stageLabel, TargetBuilds, type ContextSource, type TargetBuild } from "../plan/stage-graph.js";
import type { PlannedTarget } from "../plan/targets.js";
import {
  argDeclarations,
  InstructionPool,
  parseInstructions,
  type DockerfileInstructions,
  type Instruction,
  type StageSource,
} from "../render/instructions.js";
import { sourceMapOf, type LineMap } from "../render/source-map.js";
import type { TemplateFiles } from "../render/templates.js";
import { LOCK_FILE, pinned, type Lock } from "../images/lock.js";
import { compareStrings } from "../text.js";
import { PatternError, PatternMatcher, readIgnoreFile } from "./dockerignore.js";

/** One revision, planned. */
export interface Side {
  /** How messages name this revision: `origin/main (1a2b3c4)`, `working tree`. */
  label: string;
  /** Prefix of file names read at this revision in messages: `origin/main:`, or "" for the working tree. */
  prefix: string;
  project: Project;
  templates: TemplateFiles;
  plan: Plan;
  /** Ignore files that exist, by path relative to the build context (`.dockerignore`, `bake/x.Dockerfile.dockerignore`). */
  ignoreFiles: ReadonlyMap<string, string>;
  /** bakeplan's version as the repository pins it (package-lock.json), when it does. */
  bakeplanVersion?: { version: string; file: string };
  /** bakeplan.lock.json as this revision's plan was pinned with it (a locked plan). */
  lock?: Lock;
}

/** BASE could not be planned: every target is affected, with this reason. */
export interface Unavailable {
  unavailable: string;
}

export interface AffectedTarget {
  target: string;
  reasons: string[];
}

export interface AffectedResult {
  affected: AffectedTarget[];
  /** Targets BASE had and HEAD does not: listed, not built. */
  removed: string[];
  unaffected: string[];
}

export interface CompareOptions {
  /** Changed files, relative to the build context. */
  changed: readonly string[];
  /** Only these HEAD targets (all when undefined). */
  only?: ReadonlySet<string>;
  /** The builder's platform, for FROM --platform=$BUILDPLATFORM. */
  buildPlatform: string;
  /** Files named in file reasons per target, at most. */
  maxFiles?: number;
  /** Instructions shared by the Dockerfiles parsed (its counts say how many were read and how many shared). */
  instructions?: InstructionPool;
}

export function compareRevisions(base: Side | Unavailable, head: Side, opts: CompareOptions): AffectedResult {
  const shared = new Walks(opts.instructions ?? new InstructionPool());
  const headView = new SideView(head, opts.buildPlatform, shared);
  const selected = head.plan.targets.filter((t) => !opts.only || opts.only.has(t.variant.name));
  const reasonsOf = new Map<string, string[]>();
  const add = (name: string, reason: string) => {
    let list = reasonsOf.get(name);
    if (!list) reasonsOf.set(name, (list = []));
    if (!list.includes(reason)) list.push(reason);
  };

  if ("unavailable" in base) {
    for (const t of selected) add(t.variant.name, base.unavailable);
    return result(head, selected, reasonsOf, []);
  }

  const baseView = new SideView(base, opts.buildPlatform, shared);
  const global = globalReasons(base, head);
  const moved = movedImages(base.lock, head.lock);
  const files = new ContextFiles(base, head, opts.changed);
  function compareTarget(t: PlannedTarget, before: PlannedTarget | undefined): void {
    const name = t.variant.name;
    if (!before) {
      add(name, "new target");
      return;
    }
    for (const r of global) add(name, r);
    // The same Dockerfile text and bake settings build the same stages with the same values: only
    // context files can tell them apart, and only when a changed file is in the context at all.
    const sameText = baseView.sameText(before.dockerfile, headView, t.dockerfile);
    const settingsSame = sameSettings(before, t);
    const same = sameText && settingsSame;
    if (same && !files.any(t, before)) return;
    // Equal text parses the same: both sides walk one parse, and targets whose walks read the same values share them.
    // Otherwise BASE is parsed from HEAD's parse: the instructions both have are one object, computed on once.
    if (sameText) headView.adopt(t.dockerfile, baseView.instructions(before.dockerfile));
    else baseView.derive(before.dockerfile, headView.contentOf(t.dockerfile), headView.instructions(t.dockerfile));
    const h = headView.view(t);
    const b = baseView.view(before);
    if (!same) {
      for (const m of moved) if (uses(h, m.now) || uses(b, m.was)) add(name, m.reason);
      // Equal settings (the bake args too) give neither a setting nor an ARG reason.
      if (!settingsSame) {
        for (const r of settingReasons(before, t, head)) add(name, r);
        for (const r of argReasons(b, h, before, t, moved)) add(name, r);
      }
      for (const r of stageReasons(b, h, baseView, headView)) add(name, r);
    }
    for (const r of files.reasons(t, before, h, b, headView, opts.maxFiles ?? 5)) add(name, r);
  }
  // One Dockerfile's targets after another, and what was read of a Dockerfile let go after its
  // targets: only the instructions the pool shares outlive them, so a collection finds little alive.
  const byDockerfile = new Map<string, PlannedTarget[]>();
  for (const t of selected) {
    const list = byDockerfile.get(t.dockerfile);
    if (list) list.push(t);
    else byDockerfile.set(t.dockerfile, [t]);
  }
  for (const [path, targets] of byDockerfile) {
    const read: PlannedTarget[] = [];
    for (const t of targets) {
      const before = baseView.target(t.variant.name);
      if (before) read.push(before);
      compareTarget(t, before);
    }
    headView.release(path, targets);
    for (const before of read) baseView.release(before.dockerfile, [before]);
  }

  // A target that builds on another through bake `contexts` (target:NAME) is affected with it.
  for (let changed = true; changed;) {
    changed = false;
    for (const t of selected) {
      for (const [ctx, value] of Object.entries(t.bake.contexts ?? {})) {
        const dep = /^target:(.+)$/.exec(value)?.[1];
        if (!dep || !reasonsOf.has(dep) || reasonsOf.get(t.variant.name)?.some((r) => r.startsWith(`uses ${dep} `)))
          continue;
        add(t.variant.name, `uses ${dep} (contexts.${ctx} = target:${dep}), which is affected`);
        changed = true;
      }
    }
  }
  const headNames = new Set(head.plan.targets.map((t) => t.variant.name));
  const removed = base.plan.targets.map((t) => t.variant.name).filter((n) => !headNames.has(n));
  return result(head, selected, reasonsOf, removed);
}

function result(
  _head: Side,
  selected: readonly PlannedTarget[],
  reasonsOf: Map<string, string[]>,
  removed: string[],
): AffectedResult {
  const affected: AffectedTarget[] = [];
  const unaffected: string[] = [];
  for (const t of selected) {
    const reasons = reasonsOf.get(t.variant.name);
    if (reasons) affected.push({ target: t.variant.name, reasons });
    else unaffected.push(t.variant.name);
  }
  affected.sort((a, b) => compareStrings(a.target, b.target));
  return { affected, removed: removed.sort(compareStrings), unaffected: unaffected.sort(compareStrings) };
}

/** What one target builds at one revision, normalised for comparison. */
interface TargetView {
  target: PlannedTarget;
  build: TargetBuild;
  df: DockerfileInstructions;
  content: string;
  /** Reachable stage label -> the stage and the bake args its ARG defaults are compared with. */
  stages: Map<string, { stage: StageSource; args: Readonly<Record<string, string>> }>;
  /** Global ARG declarations the reachable FROM lines read. */
  globals: Map<string, { text: string; line: number }>;
}

/** What both sides share: one walk per Dockerfile parse and the values it reads, and the instructions of every parse. */
class Walks {
  readonly builds = new TargetBuilds();
  constructor(readonly instructions: InstructionPool) {}
}

class SideView {
  private readonly byName = new Map<string, PlannedTarget>();
  private readonly files = new Map<string, PlannedFile>();
  private readonly content = new Map<string, string>();
  private readonly parsed = new Map<string, DockerfileInstructions>();
  private readonly views = new Map<PlannedTarget, TargetView>();
  private readonly lineMaps = new Map<string, LineMap>();

  constructor(
    readonly side: Side,
    private readonly buildPlatform: string,
    private readonly shared: Walks,
  ) {
    for (const t of side.plan.targets) this.byName.set(t.variant.name, t);
    for (const f of side.plan.files) this.files.set(f.path, f);
  }

  target(name: string): PlannedTarget | undefined {
    return this.byName.get(name);
  }

  /**
   * Whether this side's Dockerfile has the other side's text, compared as header and body: a body
   * BASE reused from HEAD's render is HEAD's string, so most compare at once, and no whole text
   * (header + body, a string joined on read) is built and copied just to be compared.
   */
  sameText(path: string, other: SideView, otherPath: string): boolean {
    const a = this.files.get(path);
    const b = other.files.get(otherPath);
    if (!a || !b) return this.contentOf(path) === other.contentOf(otherPath);
    return a.body === b.body && a.header === b.header;
  }

  /** The Dockerfile's whole text, joined once, when it is read. */
  contentOf(path: string): string {
    let text = this.content.get(path);
    if (text === undefined) this.content.set(path, (text = this.files.get(path)?.content ?? ""));
    return text;
  }

  instructions(path: string): DockerfileInstructions {
    let df = this.parsed.get(path);
    if (!df) this.parsed.set(path, (df = parseInstructions(this.contentOf(path), undefined, this.shared.instructions)));
    return df;
  }

  /** Parse a Dockerfile starting from the other side's parse of its other revision. */
  derive(path: string, text: string, parsed: DockerfileInstructions): void {
    if (!this.parsed.has(path))
      this.parsed.set(path, parseInstructions(this.contentOf(path), { text, parsed }, this.shared.instructions));
  }

  /** Use the other side's parse of a Dockerfile with the same text. */
  adopt(path: string, df: DockerfileInstructions): void {
    if (!this.parsed.has(path)) this.parsed.set(path, df);
  }

  /** Where a line of a Dockerfile came from: its source map, read once for all the lines asked. */
  templateLine(path: string, line: number): ReturnType<LineMap> {
    let map = this.lineMaps.get(path);
    if (!map) {
      const { templates, project } = this.side;
      this.lineMaps.set(path, (map = sourceMapOf(this.contentOf(path), templates, project.build.templates)));
    }
    return map(line);
  }

  /** Let go of what was read of a Dockerfile and worked out for these of its targets. */
  release(path: string, targets: readonly PlannedTarget[]): void {
    this.content.delete(path);
    this.parsed.delete(path);
    this.lineMaps.delete(path);
    for (const t of targets) this.views.delete(t);
  }

  view(t: PlannedTarget): TargetView {
    let view = this.views.get(t);
    if (view) return view;
    const content = this.contentOf(t.dockerfile);
    const df = this.instructions(t.dockerfile);
    const args = t.bake.args ?? {};
    const build = this.shared.builds.of(df, {
      target: t.bake.target,
      platforms: t.bake.platforms ?? [],
      args,
      buildPlatform: this.buildPlatform,
      contexts: new Set(Object.keys(t.bake.contexts ?? {})),
    });
    const stages = new Map<string, { stage: StageSource; args: Readonly<Record<string, string>> }>();
    for (const i of build.stages) {
      const stage = df.stages[i]!;
      stages.set(stageLabel(stage), { stage, args });
    }
    const globals = new Map<string, { text: string; line: number }>();
    for (const ins of df.global)
      if (ins.keyword === "ARG")
        for (const d of declarations(ins))
          if (build.args.has(d.name))
            globals.set(d.name, {
              text: d.name in args || d.value === undefined ? d.name : `${d.name}=${d.value}`,
              line: ins.line,
            });
    view = { target: t, build, df, content, stages, globals };
    this.views.set(t, view);
    return view;
  }
}

const declarationsOf = new WeakMap<Instruction, ReturnType<typeof argDeclarations>>();
function declarations(ins: Instruction): ReturnType<typeof argDeclarations> {
  let d = declarationsOf.get(ins);
  if (!d) declarationsOf.set(ins, (d = argDeclarations(ins.args)));
  return d;
}

const normalizedOf = new WeakMap<Instruction, string>();
/** An instruction as compared: blanks at line ends dropped, and an ARG default that a bake arg overrides (it is compared as the arg). */
function normalized(ins: Instruction, bakeArgs: Readonly<Record<string, string>>): string {
  if (ins.keyword !== "ARG") {
    let text = normalizedOf.get(ins);
    if (text === undefined) normalizedOf.set(ins, (text = ins.text.replace(/[ \t]+$/gm, "")));
    return text;
  }
  return `ARG ${declarations(ins)
    .map((d) => (d.name in bakeArgs || d.value === undefined ? d.name : `${d.name}=${JSON.stringify(d.value)}`))
    .join(" ")}`;
}

/** Settings every target shares: build.* keys, the root .dockerignore, bakeplan's version. */
function globalReasons(base: Side, head: Side): string[] {
  const reasons: string[] = [];
  const keys: [Exclude<keyof BuildSettings, "allowSecretLike" | "locked" | "tidy">, string][] = [
    ["templates", "templates"],
    ["template", "template"],
    ["outDir", "out_dir"],
    ["context", "context"],
    ["syntax", "syntax"],
    ["network", "network"],
  ];
  for (const [key, yamlKey] of keys) {
    const a = base.project.build[key];
    const b = head.project.build[key];
    if (a !== b)
      reasons.push(
        `build.${yamlKey}: ${show(a)} -> ${show(b)} (${formatLocation(head.project.source.locate(["build", yamlKey]))}; every target)`,
      );
  }
  const ignoreBefore = base.ignoreFiles.get(".dockerignore");
  const ignoreAfter = head.ignoreFiles.get(".dockerignore");
  if (ignoreBefore !== ignoreAfter)
    reasons.push(
      `${contextFile(head, ".dockerignore")} ${ignoreBefore === undefined ? "added" : ignoreAfter === undefined ? "removed" : "changed"} (every target's build context)`,
    );
  const v1 = base.bakeplanVersion?.version;
  const v2 = head.bakeplanVersion?.version;
  if (v1 !== undefined && v2 !== undefined && v1 !== v2)
    reasons.push(`bakeplan ${v1} -> ${v2} (${head.bakeplanVersion!.file}; it renders every Dockerfile)`);
  return reasons;
}

function contextFile(side: Side, rel: string): string {
  const ctx = side.project.build.context;
  return ctx === "." ? rel : `${ctx}/${rel}`;
}

/** Bake settings as compared (tags and labels too; cache refs and the description never). */
function sameSettings(a: PlannedTarget, b: PlannedTarget): boolean {
  const key = (t: PlannedTarget) => {
    const { "cache-from": _f, "cache-to": _t, description: _d, ...rest } = t.bake;
    return JSON.stringify(rest);
  };
  return key(a) === key(b);
}

function settingReasons(before: PlannedTarget, after: PlannedTarget, head: Side): string[] {
  const reasons: string[] = [];
  const a = before.bake;
  const b = after.bake;
  const at = (loc: SourceLocation | undefined) => (loc ? ` (${formatLocation(loc)})` : "");
  const list = (x: readonly (string | EnvTemplate)[] | undefined) =>
    x && x.length > 0 ? x.map(String).sort(compareStrings).join(", ") : "(none)";
  if (list(a.platforms) !== list(b.platforms))
    reasons.push(`platforms: ${list(a.platforms)} -> ${list(b.platforms)}${at(after.values.platforms?.source)}`);
  if (a.target !== b.target) reasons.push(`bake target (stage): ${show(a.target)} -> ${show(b.target)}`);
  if (a.dockerfile !== b.dockerfile) reasons.push(`dockerfile: ${a.dockerfile} -> ${b.dockerfile}`);
  if (a.context !== b.context) reasons.push(`context: ${a.context} -> ${b.context}`);
  if (a.network !== b.network) reasons.push(`network: ${show(a.network)} -> ${show(b.network)}`);
  if (list(a.secret) !== list(b.secret)) reasons.push(`secrets: ${list(a.secret)} -> ${list(b.secret)}`);
  if (list(a.tags) !== list(b.tags))
    reasons.push(
      `tags: ${list(a.tags)} -> ${list(b.tags)} (${formatLocation(head.project.source.locate(["publish", "tags"]))})`,
    );
  const ctxA = JSON.stringify(sorted(a.contexts ?? {}));
  const ctxB = JSON.stringify(sorted(b.contexts ?? {}));
  if (ctxA !== ctxB) reasons.push(`contexts: ${ctxA} -> ${ctxB}`);
  const labelsA = a.labels ?? {};
  const labelsB = b.labels ?? {};
  for (const k of [...new Set([...Object.keys(labelsA), ...Object.keys(labelsB)])].sort(compareStrings))
    if (labelsA[k] !== labelsB[k])
      reasons.push(`label ${k}: ${show(labelsA[k])} -> ${show(labelsB[k])}${at(after.values.labels.get(k)?.source)}`);
  return reasons;
}

/** An image both locks pin, at different digests: `was` and `now` are its pinned references. */
interface MovedImage {
  was: string;
  now: string;
  reason: string;
}

function movedImages(before: Lock | undefined, after: Lock | undefined): MovedImage[] {
  if (!before || !after) return [];
  const out: MovedImage[] = [];
  for (const ref of Object.keys(after.images).sort(compareStrings)) {
    const a = before.images[ref];
    const b = after.images[ref]!;
    if (a && a.digest !== b.digest)
      out.push({
        was: pinned(ref, a),
        now: pinned(ref, b),
        reason: `image ${ref}: ${a.digest} -> ${b.digest} (${LOCK_FILE})`,
      });
  }
  return out;
}

/** Whether what a target builds names this pinned reference: a bake arg its stages read, a reached stage, a global ARG they read, the syntax line. */
function uses(view: TargetView, ref: string): boolean {
  const args = view.target.bake.args ?? {};
  for (const name of view.build.args) if (args[name]?.includes(ref)) return true;
  for (const { stage } of view.stages.values()) if (stage.instructions.some((i) => i.text.includes(ref))) return true;
  for (const g of view.globals.values()) if (g.text.includes(ref)) return true;
  const syntax = /^#\s*syntax\s*=\s*(\S+)/i.exec(view.content);
  return syntax?.[1] === ref;
}

function argReasons(
  b: TargetView,
  h: TargetView,
  before: PlannedTarget,
  after: PlannedTarget,
  moved: readonly MovedImage[],
): string[] {
  const reasons: string[] = [];
  // A value that differs only by a digest the lock moved is said by the image's reason.
  const unmoved = (v: string | undefined) => moved.reduce((x, m) => x?.split(m.now).join(m.was), v);
  const argsA = before.bake.args ?? {};
  const argsB = after.bake.args ?? {};
  const names = [...new Set([...b.build.args, ...h.build.args])].sort(compareStrings);
  for (const name of names) {
    const x = argsA[name];
    const y = argsB[name];
    if (x === y || x === unmoved(y)) continue;
    const now = after.values.args.get(name)?.source;
    const was = before.values.args.get(name)?.source;
    const where = now ? formatLocation(now) : was ? `was ${formatLocation(was)}` : "";
    const moved = now && was && (now.line !== was.line || now.col !== was.col || now.path !== was.path);
    const previously = moved ? `; was ${formatLocation(was)}` : "";
    reasons.push(`ARG ${name}: ${show(x)} -> ${show(y)}${where ? ` (${where}${previously})` : ""}`);
  }
  return reasons;
}

function stageReasons(b: TargetView, h: TargetView, baseView: SideView, headView: SideView): string[] {
  const reasons: string[] = [];
  const labels = [...new Set([...h.stages.keys(), ...b.stages.keys()])];
  for (const label of labels) {
    const x = b.stages.get(label);
    const y = h.stages.get(label);
    if (!x) {
      reasons.push(`stage ${label} is now built (${templateAt(headView, h, y!.stage.instructions[0]!.line)})`);
      continue;
    }
    if (!y) {
      reasons.push(`stage ${label} is no longer built`);
      continue;
    }
    const was = x.stage.instructions;
    const now = y.stage.instructions;
    for (const i of toCompare(was, now)) {
      const a = was[i];
      const ins = now[i];
      // One instruction object on both sides (parseInstructions' `previous`) has one text: only an ARG's compares differently, by what bake overrides.
      if (a === ins && declarations(a!).every((d) => d.name in x.args === d.name in y.args)) continue;
      if (a && ins && normalized(a, x.args) === normalized(ins, y.args)) continue;
      reasons.push(
        ins
          ? `stage ${label}: ${templateAt(headView, h, ins.line)}: ${snippet(ins)}`
          : `stage ${label}: ${templateAt(baseView, b, a!.line)} (${baseView.side.label}) removed: ${snippet(a!)}`,
      );
      break;
    }
  }
  const globals = [...new Set([...h.globals.keys(), ...b.globals.keys()])];
  for (const name of globals) {
    const x = b.globals.get(name);
    const y = h.globals.get(name);
    if (x?.text !== y?.text)
      reasons.push(
        `global ARG ${name}: ${y ? templateAt(headView, h, y.line) : "removed"}: ${show(x?.text)} -> ${show(y?.text)}`,
      );
  }
  return reasons;
}

const toCompareOf = new WeakMap<readonly Instruction[], { was: readonly Instruction[]; at: number[] }>();
/**
 * The places where a stage's instructions at two revisions may compare differently, in order:
 * where they are not one object, and the ARGs (compared by what bake overrides). Worked out once
 * per pair of stages for all the targets that build them.
 */
function toCompare(was: readonly Instruction[], now: readonly Instruction[]): number[] {
  const known = toCompareOf.get(now);
  if (known?.was === was) return known.at;
  const at: number[] = [];
  for (let i = 0; i < Math.max(was.length, now.length); i++)
    if (was[i] !== now[i] || now[i]!.keyword === "ARG") at.push(i);
  toCompareOf.set(now, { was, at });
  return at;
}

/** `templates/x.liquid:12` for a line of a rendered Dockerfile, else the Dockerfile line. */
function templateAt(view: SideView, t: TargetView, line: number): string {
  const dir = view.side.project.build.templates;
  const at = view.templateLine(t.target.dockerfile, line);
  if (at?.line !== undefined) return `${dir}/${at.template}:${at.line}`;
  return `${t.target.dockerfile}:${line}${at ? ` (${dir}/${at.template})` : ""}`;
}

function snippet(ins: Instruction): string {
  const line = ins.text.split("\n", 1)[0]!.trim();
  return line.length > 72 ? `${line.slice(0, 71)}…` : line;
}

/** Changed build-context files, and which COPY/ADD/bind sources take them. */
class ContextFiles {
  private readonly matchers = new Map<string, PatternMatcher>();
  private readonly kept = new Map<PatternMatcher, Set<string>>();

  constructor(
    private readonly base: Side,
    private readonly head: Side,
    private readonly changed: readonly string[],
  ) {}

  /** Whether a changed file is in this target's build context at either revision (before asking which COPY takes it). */
  any(after: PlannedTarget, before: PlannedTarget): boolean {
    if (this.changed.length === 0) return false;
    const now = this.ignore(this.head, after);
    const then = this.ignore(this.base, before);
    return now.text !== then.text || this.inContext(now.matcher).size > 0 || this.inContext(then.matcher).size > 0;
  }

  reasons(
    after: PlannedTarget,
    before: PlannedTarget,
    h: TargetView,
    b: TargetView,
    headView: SideView,
    max: number,
  ): string[] {
    if (this.changed.length === 0) return [];
    const reasons: string[] = [];
    const ignoreNow = this.ignore(this.head, after);
    const ignoreThen = this.ignore(this.base, before);
    if (ignoreNow.text !== ignoreThen.text && ignoreNow.file !== ".dockerignore")
      reasons.push(`${contextFile(this.head, ignoreNow.file)} changed`);
    // In the build context at either revision: not ignored by that revision's ignore file.
    const now = this.inContext(ignoreNow.matcher);
    const then = this.inContext(ignoreThen.matcher);
    const inContext = this.changed.filter((file) => now.has(file) || then.has(file));
    if (inContext.length === 0) return reasons;
    const patterns = new Set(h.build.sources.map((s) => s.pattern));
    const sources = [...h.build.sources, ...b.build.sources.filter((s) => !patterns.has(s.pattern))];
    let found = 0;
    let more = 0;
    for (const file of inContext) {
      const source = sources.find((s) => this.takes(s, file));
      if (!source) continue;
      if (found++ >= max) {
        more++;
        continue;
      }
      reasons.push(
        `file ${contextFile(this.head, file)} (${source.instruction} in stage ${source.stage}, ${templateAt(headView, h, source.line)})`,
      );
    }
    if (more > 0) reasons.push(`and ${more} more changed file${more === 1 ? "" : "s"} in its build context`);
    return reasons;
  }

  /** The changed files an ignore file leaves in the build context, matched once per ignore file. */
  private inContext(matcher: PatternMatcher): Set<string> {
    let files = this.kept.get(matcher);
    if (!files)
      this.kept.set(matcher, (files = new Set(this.changed.filter((f) => !matcher.matchesOrParentMatches(f)))));
    return files;
  }

  private takes(source: ContextSource, file: string): boolean {
    if (source.pattern !== "." && !this.matcher(source.pattern, "COPY source").matchesOrParentMatches(file))
      return false;
    return !source.excludes.some((e) => this.matcher(e, "COPY --exclude").matchesOrParentMatches(file));
  }

  private matcher(pattern: string, what: string): PatternMatcher {
    let m = this.matchers.get(pattern);
    if (!m) {
      try {
        m = new PatternMatcher([pattern]);
      } catch (e) {
        throw new UserError(`${what} ${JSON.stringify(pattern)}: ${(e as Error).message}`);
      }
      this.matchers.set(pattern, m);
    }
    return m;
  }

  /** BuildKit reads `<Dockerfile>.dockerignore` next to the Dockerfile when there is one, else `.dockerignore`. */
  private ignore(side: Side, t: PlannedTarget): { file: string; text: string | undefined; matcher: PatternMatcher } {
    const own = `${t.bake.dockerfile}.dockerignore`;
    const file = side.ignoreFiles.has(own) ? own : ".dockerignore";
    const text = side.ignoreFiles.get(file);
    const key = `${side.label}\u0000${file}`;
    let matcher = this.matchers.get(key);
    if (!matcher) {
      const parsed = readIgnoreFile(text ?? "");
      try {
        matcher = new PatternMatcher(parsed.patterns);
      } catch (e) {
        if (!(e instanceof PatternError)) throw e;
        const bad = parsed.patterns.findIndex((p) => {
          try {
            new PatternMatcher([p]);
            return false;
          } catch {
            return true;
          }
        });
        throw new UserError(e.message, {
          location: { file: `${side.prefix}${contextFile(side, file)}`, line: parsed.lines[bad] },
        });
      }
      this.matchers.set(key, matcher);
    }
    return { file, text, matcher };
  }
}

function sorted(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => compareStrings(a, b)));
}

function show(v: string | undefined): string {
  return v === undefined ? "(unset)" : JSON.stringify(v);
}
