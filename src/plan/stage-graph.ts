// What one bake target builds out of its Dockerfile: the stages reachable from its `target`
// (through FROM, COPY --from and RUN --mount from= edges, per platform, since a FROM may name
// `stage_${TARGETARCH}`), the ARGs those stages read, the images they pull and the build-context
// paths they copy. Shared by `affected` (what a change can reach) and `images` (what to pull).

import {
  argDeclarations,
  copySources,
  expandWord,
  parseCsv,
  parseFlags,
  splitWords,
  unquote,
  type DockerfileInstructions,
  type Instruction,
  type StageSource,
} from "../render/instructions.js";

export interface ImageUse {
  /** The reference after ARG substitution. */
  ref: string;
  /** The platform the build pulls it for. */
  platform: string;
  kind: "from" | "copy" | "mount";
  /** Line of the instruction in the Dockerfile. */
  line: number;
  stage: string;
  /** The ARG whose value is the whole reference (`FROM ${BASE_IMAGE}`). */
  arg?: string;
}

export interface ContextSource {
  /** Relative to the build context, cleaned; "." is the whole context. */
  pattern: string;
  /** `COPY --exclude` patterns. */
  excludes: string[];
  line: number;
  stage: string;
  /** First line of the instruction, for messages. */
  instruction: string;
}

export interface TargetBuild {
  /** Indexes of the reachable stages, ascending (union over the platforms). */
  stages: number[];
  /** Names of the ARGs the reachable stages read (global ARGs in FROM lines, stage ARGs). */
  args: Set<string>;
  images: ImageUse[];
  sources: ContextSource[];
  /** Things that cannot be built as written, e.g. an unknown stage in `COPY --from=0x`. */
  problems: string[];
}

export interface BuildQuery {
  /** The bake `target`; the last stage when undefined. */
  target?: string;
  platforms: readonly string[];
  /** Bake args: they override the Dockerfile's ARG defaults. */
  args: Readonly<Record<string, string>>;
  /** The builder's platform, for BUILDPLATFORM and friends. */
  buildPlatform: string;
  /** Bake `contexts` names: a `--from=name` that is one of them is not an image. */
  contexts?: ReadonlySet<string>;
}

export function stageLabel(stage: StageSource): string {
  return stage.name ?? `#${stage.index}`;
}

function platformArgs(prefix: "TARGET" | "BUILD", platform: string): Record<string, string> {
  const [os = "", arch = "", variant = ""] = platform.split("/");
  return {
    [`${prefix}PLATFORM`]: platform,
    [`${prefix}OS`]: os,
    [`${prefix}ARCH`]: arch,
    [`${prefix}VARIANT`]: variant,
  };
}

export function targetBuild(df: DockerfileInstructions, q: BuildQuery): TargetBuild {
  return walk(df, q, new Set()).build;
}

/**
 * Walks of the same Dockerfile, shared by the targets they fit: a walk reads only some bake args
 * (those in FROM lines, COPY sources, mounts and the ARG defaults they use), so another target whose
 * values agree on those gets the same build. `affected` walks hundreds of targets whose args differ
 * only in values their RUN lines read.
 */
type Walked = { reads: [string, string | undefined][]; build: TargetBuild }[];

export class TargetBuilds {
  private readonly walks = new Map<string, Walked>();
  private readonly skeletons = new Map<string, number>();
  private readonly skeletonOf = new WeakMap<Compiled, number>();
  /** Each distinct piece of a skeleton (a FROM line or a step, as text) as a number, read once per object. */
  private readonly pieces = new Map<string, number>();
  private readonly pieceOf = new WeakMap<Instruction | Step, number>();

  of(df: DockerfileInstructions, q: BuildQuery): TargetBuild {
    // Keyed by what a walk can see, not by the parse: two revisions of a Dockerfile whose FROM,
    // COPY, ADD and RUN --mount lines and effective ARG defaults are the same walk the same.
    const c = compiled(df);
    let id = this.skeletonOf.get(c);
    if (id === undefined) {
      const skeleton = this.skeleton(df, c);
      id = this.skeletons.get(skeleton);
      if (id === undefined) this.skeletons.set(skeleton, (id = this.skeletons.size));
      this.skeletonOf.set(c, id);
    }
    let key = JSON.stringify([id, q.target ?? null, q.platforms, q.buildPlatform, [...(q.contexts ?? [])].sort()]);
    for (const d of c.declarations)
      key += d.name in q.args || d.value === undefined ? `\n${d.name}` : `\n${d.name}=${d.value}`;
    let done = this.walks.get(key);
    if (!done) this.walks.set(key, (done = []));
    const fits = done.find((w) => w.reads.every(([name, value]) => q.args[name] === value));
    if (fits) return fits.build;
    const reads = new Set<string>();
    const { build } = walk(df, q, reads);
    done.push({ reads: [...reads].map((name) => [name, q.args[name]]), build });
    return build;
  }

  /**
   * What a walk reads of the Dockerfile besides ARG defaults (with the lines its results name):
   * the global ARG names, then each stage's FROM line and steps, each piece as its number. Parses
   * of similar Dockerfiles share their instruction objects, and with them their pieces' numbers.
   */
  private skeleton(df: DockerfileInstructions, c: Compiled): string {
    const ids = [this.piece(c.global.map((d) => d.name).join(" "))];
    for (const [i, stage] of df.stages.entries()) {
      const from = stage.instructions[0]!;
      ids.push(this.pieceFor(from, () => `FROM ${from.line} ${from.text}`));
      for (const step of c.steps[i]!) ids.push(this.pieceFor(step, () => stepText(step)));
    }
    return ids.join(" ");
  }

  private pieceFor(of: Instruction | Step, text: () => string): number {
    let id = this.pieceOf.get(of);
    if (id === undefined) this.pieceOf.set(of, (id = this.piece(text())));
    return id;
  }

  private piece(text: string): number {
    let id = this.pieces.get(text);
    if (id === undefined) this.pieces.set(text, (id = this.pieces.size));
    return id;
  }
}

function stepText(step: Step): string {
  switch (step.kind) {
    case "arg":
      return `ARG ${step.declarations.map((d) => d.name).join(" ")}`;
    case "edge":
      return `${step.edge} ${step.ins.line} ${step.word}`;
    case "copy":
      return `${step.ins.line} ${step.ins.text}`;
    case "mounts":
      return `RUN ${step.ins.line} ${step.instruction}\n${step.mounts.join("\n")}`;
  }
}

/** An ARG's value, and the bake args it was computed from. */
interface Value {
  value: string | undefined;
  from: readonly string[];
  /** A platform ARG (TARGETARCH, ...): what reads it may differ per platform. */
  platform?: true;
}

type Declarations = ReturnType<typeof argDeclarations>;

/** The instructions of a stage that a walk reads (ARG, COPY/ADD, RUN --mount), split once per parse. */
type Step =
  | { kind: "arg"; declarations: Declarations }
  | { kind: "edge"; word: string; edge: "copy" | "mount"; ins: Instruction }
  | { kind: "copy"; ins: Instruction; add: boolean; excludes: string[]; sources: string[]; instruction: string }
  | { kind: "mounts"; ins: Instruction; mounts: string[]; instruction: string };

interface Compiled {
  global: Declarations;
  steps: Step[][];
  /** Every ARG declaration, global ones first, in order. */
  declarations: Declarations;
}

const compiledOf = new WeakMap<DockerfileInstructions, Compiled>();
/** Per instruction: two parses of one file's revisions share the instructions they have in common (parseInstructions' `previous`). */
const stepOf = new WeakMap<Instruction, Step | null>();
function compiled(df: DockerfileInstructions): Compiled {
  let c = compiledOf.get(df);
  if (c) return c;
  const global = df.global.filter((ins) => ins.keyword === "ARG").flatMap((ins) => argDeclarations(ins.args));
  const steps = df.stages.map((stage) => {
    const out: Step[] = [];
    const instructions = stage.instructions;
    for (let i = 1; i < instructions.length; i++) {
      const ins = instructions[i]!;
      let step = stepOf.get(ins);
      if (step === undefined) stepOf.set(ins, (step = stepFor(ins)));
      if (step) out.push(step);
    }
    return out;
  });
  const declarations = [...global];
  for (const stage of steps) for (const step of stage) if (step.kind === "arg") declarations.push(...step.declarations);
  compiledOf.set(df, (c = { global, steps, declarations }));
  return c;
}

/** What a walk reads of one instruction after FROM; null: nothing. */
function stepFor(ins: Instruction): Step | null {
  if (ins.keyword === "ARG") return { kind: "arg", declarations: argDeclarations(ins.args) };
  if (ins.keyword === "COPY" || ins.keyword === "ADD") {
    const f = parseFlags(splitWords(ins.args));
    const fromFlag = f.values.get("from")?.[0];
    if (fromFlag !== undefined) return { kind: "edge", word: fromFlag, edge: "copy", ins };
    return {
      kind: "copy",
      ins,
      add: ins.keyword === "ADD",
      excludes: f.values.get("exclude") ?? [],
      sources: copySources(f.rest, ins.args).filter((src) => !src.startsWith("<<")),
      instruction: firstLine(ins),
    };
  }
  // Flags come first (parseFlags stops at the first other word): a RUN whose arguments do not start with one has no mount.
  if (ins.keyword === "RUN" && ins.args.startsWith("--") && /--mount/i.test(ins.args)) {
    const mounts = parseFlags(splitWords(ins.args, { flagsOnly: true })).values.get("mount") ?? [];
    if (mounts.length > 0) return { kind: "mounts", ins, mounts, instruction: firstLine(ins) };
  }
  return null;
}

/** The walk; `reads` collects the bake args whose values it used. */
function walk(df: DockerfileInstructions, q: BuildQuery, reads: Set<string>): { build: TargetBuild } {
  const byName = new Map<string, StageSource>();
  for (const s of df.stages) if (s.name !== undefined && !byName.has(s.name)) byName.set(s.name, s);
  const stageOf = (word: string): StageSource | undefined =>
    byName.get(word.toLowerCase()) ?? (/^\d+$/.test(word) ? df.stages[Number(word)] : undefined);
  const { global: globalDeclarations, steps } = compiled(df);

  const stages = new Set<number>();
  const args = new Set<string>();
  const images = new Map<string, ImageUse>();
  const sources = new Map<string, ContextSource>();
  const problems: string[] = [];
  const root = q.target === undefined ? df.stages[df.stages.length - 1] : stageOf(q.target);
  if (!root)
    return { build: { stages: [], args, images: [], sources: [], problems: [`no stage "${q.target ?? ""}"`] } };

  // A declaration's value: the bake arg when there is one (whether there is one is itself a read).
  const declared = (name: string, fallback: () => Value): Value => {
    if (name in q.args) return { value: q.args[name], from: [name] };
    const v = fallback();
    return { value: v.value, from: [name, ...v.from], platform: v.platform };
  };
  let readsPlatform = false;
  const use = (v: Value | undefined): string | undefined => {
    if (!v) return undefined;
    for (const n of v.from) reads.add(n);
    if (v.platform) readsPlatform = true;
    return v.value;
  };
  /** Images whose platform is the target platform (no --platform pin), for the platforms after the first. */
  const perPlatform: ImageUse[] = [];

  const platforms = q.platforms.length > 0 ? q.platforms : [q.buildPlatform];
  for (const [n, platform] of platforms.entries()) {
    // Nothing read a platform ARG: the other platforms reach the same stages and sources, and pull
    // the same images for their own platform.
    if (n > 0 && !readsPlatform) {
      for (const use of perPlatform) addImage(images, { ...use, platform });
      continue;
    }
    const automatic = { ...platformArgs("TARGET", platform), ...platformArgs("BUILD", q.buildPlatform) };
    const auto = (name: string): Value | undefined =>
      name in automatic ? { value: automatic[name], from: [], platform: true } : undefined;
    // Global scope: ARGs before the first FROM (bake args win over their defaults), usable in FROM lines.
    const global = new Map<string, Value>();
    const globalValue = (name: string) => (global.has(name) ? global.get(name) : auto(name));
    for (const d of globalDeclarations)
      global.set(
        d.name,
        declared(d.name, () =>
          d.value !== undefined ? expandValue(d.value, globalValue) : { value: undefined, from: [] },
        ),
      );
    const expandGlobal = (word: string) => {
      const e = expandWord(word, (name) => use(globalValue(name)));
      for (const n of e.used) if (global.has(n)) args.add(n);
      return e;
    };

    const visited = new Set<number>();
    const visit = (stage: StageSource) => {
      if (visited.has(stage.index)) return;
      visited.add(stage.index);
      stages.add(stage.index);
      const label = stageLabel(stage);
      const from = stage.instructions[0]!;
      const pin = stage.platform !== undefined ? expandGlobal(stage.platform).value : undefined;
      const stagePlatform = pin || platform;
      const image = (use: ImageUse) => {
        addImage(images, use);
        if (n === 0 && !pin) perPlatform.push(use);
      };
      const base = expandGlobal(stage.image);
      const baseStage = stageOf(base.value);
      if (baseStage && baseStage.index < stage.index) visit(baseStage);
      else if (base.value.toLowerCase() !== "scratch" && !q.contexts?.has(base.value))
        image({
          ref: base.value,
          platform: stagePlatform,
          kind: "from",
          line: from.line,
          stage: label,
          arg: wholeArg(stage.image),
        });

      // Stage scope: the ARGs declared in this stage; a declaration without a value takes the global one.
      const scope = new Map<string, Value>();
      const stageValue = (name: string) => scope.get(name);
      const expandStage = (word: string) => expandWord(word, (name) => use(stageValue(name))).value;
      const edge = (word: string, kind: "copy" | "mount", ins: Instruction) => {
        const ref = expandStage(word);
        const dep = stageOf(ref);
        if (dep) visit(dep);
        else if (!q.contexts?.has(ref))
          image({ ref, platform: stagePlatform, kind, line: ins.line, stage: label, arg: wholeArg(word) });
      };
      for (const step of steps[stage.index]!) {
        if (step.kind === "arg") {
          for (const d of step.declarations) {
            args.add(d.name);
            scope.set(
              d.name,
              declared(d.name, () =>
                d.value !== undefined
                  ? expandValue(d.value, stageValue)
                  : (global.get(d.name) ?? auto(d.name) ?? { value: undefined, from: [] }),
              ),
            );
          }
        } else if (step.kind === "edge") edge(step.word, step.edge, step.ins);
        else if (step.kind === "copy") {
          const excludes = step.excludes.map((e) => contextPath(expandStage(e)));
          for (const src of step.sources) {
            const value = expandStage(src);
            // ADD fetches URLs and git repositories itself: not build-context files.
            if (step.add && /^([a-z][a-z0-9+.-]*:\/\/|git@)/i.test(value)) continue;
            addSource(sources, {
              pattern: contextPath(value),
              excludes,
              line: step.ins.line,
              stage: label,
              instruction: step.instruction,
            });
          }
        } else {
          for (const mount of step.mounts) {
            const m = csv(expandStage(mount));
            const type = m.get("type") ?? "bind";
            const fromName = m.get("from");
            if (fromName !== undefined && fromName !== "" && (type === "bind" || type === "cache"))
              edge(fromName, "mount", step.ins);
            else if (type === "bind")
              addSource(sources, {
                pattern: contextPath(m.get("source") ?? m.get("src") ?? "."),
                excludes: [],
                line: step.ins.line,
                stage: label,
                instruction: step.instruction,
              });
          }
        }
      }
    };
    visit(root);
  }
  return {
    build: {
      stages: [...stages].sort((a, b) => a - b),
      args,
      images: [...images.values()],
      sources: [...sources.values()],
      problems,
    },
  };
}

/** An ARG default expanded with the values before it: it depends on what those depend on. */
function expandValue(word: string, lookup: (name: string) => Value | undefined): Value {
  const from: string[] = [];
  const e = expandWord(word, (name) => {
    const v = lookup(name);
    if (v) from.push(...v.from);
    return v?.value;
  });
  return { value: e.value, from };
}

const csvOf = new Map<string, Map<string, string>>();
function csv(s: string): Map<string, string> {
  let m = csvOf.get(s);
  if (!m) {
    if (csvOf.size > 10_000) csvOf.clear();
    csvOf.set(s, (m = parseCsv(s)));
  }
  return m;
}

/** `${NAME}` or `$NAME` alone. */
function wholeArg(word: string): string | undefined {
  return /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(unquote(word))?.[1];
}

function addImage(into: Map<string, ImageUse>, use: ImageUse): void {
  const key = `${use.ref}\u0000${use.platform}\u0000${use.line}`;
  if (!into.has(key)) into.set(key, use);
}

function addSource(into: Map<string, ContextSource>, source: ContextSource): void {
  const key = `${source.pattern}\u0000${source.line}`;
  if (!into.has(key)) into.set(key, source);
}

/** A COPY source as a context-relative path: BuildKit roots it at the context and never leaves it. */
export function contextPath(p: string): string {
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/") || ".";
}

function firstLine(ins: Instruction): string {
  const end = ins.text.indexOf("\n");
  const line = (end < 0 ? ins.text : ins.text.slice(0, end)).trim();
  return line.endsWith("\\") ? `${line.slice(0, -1).trimEnd()} ...` : line;
}
