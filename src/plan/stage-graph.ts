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
  const byName = new Map<string, StageSource>();
  for (const s of df.stages) if (s.name !== undefined && !byName.has(s.name)) byName.set(s.name, s);
  const stageOf = (word: string): StageSource | undefined =>
    byName.get(word.toLowerCase()) ?? (/^\d+$/.test(word) ? df.stages[Number(word)] : undefined);

  const stages = new Set<number>();
  const args = new Set<string>();
  const images = new Map<string, ImageUse>();
  const sources = new Map<string, ContextSource>();
  const problems: string[] = [];
  const root = q.target === undefined ? df.stages[df.stages.length - 1] : stageOf(q.target);
  if (!root) return { stages: [], args, images: [], sources: [], problems: [`no stage "${q.target ?? ""}"`] };

  for (const platform of q.platforms.length > 0 ? q.platforms : [q.buildPlatform]) {
    const automatic = { ...platformArgs("TARGET", platform), ...platformArgs("BUILD", q.buildPlatform) };
    // Global scope: ARGs before the first FROM (bake args win over their defaults), usable in FROM lines.
    const global = new Map<string, string | undefined>();
    const globalLookup = (name: string) => (global.has(name) ? global.get(name) : automatic[name]);
    for (const ins of df.global) {
      if (ins.keyword !== "ARG") continue;
      for (const d of argDeclarations(ins.args)) {
        const value =
          d.name in q.args ? q.args[d.name] : d.value !== undefined ? expand(d.value, globalLookup) : undefined;
        global.set(d.name, value);
      }
    }
    const expandGlobal = (word: string) => {
      const e = expandWord(word, globalLookup);
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
      const base = expandGlobal(stage.image);
      const baseStage = stageOf(base.value);
      if (baseStage && baseStage.index < stage.index) visit(baseStage);
      else if (base.value.toLowerCase() !== "scratch" && !q.contexts?.has(base.value))
        addImage(images, {
          ref: base.value,
          platform: stagePlatform,
          kind: "from",
          line: from.line,
          stage: label,
          arg: wholeArg(stage.image),
        });

      // Stage scope: the ARGs declared in this stage; a declaration without a value takes the global one.
      const scope = new Map<string, string | undefined>();
      const lookup = (name: string) => (scope.has(name) ? scope.get(name) : undefined);
      const expandStage = (word: string) => expandWord(word, lookup).value;
      const edge = (word: string, kind: "copy" | "mount", ins: Instruction) => {
        const ref = expandStage(word);
        const dep = stageOf(ref);
        if (dep) visit(dep);
        else if (!q.contexts?.has(ref))
          addImage(images, { ref, platform: stagePlatform, kind, line: ins.line, stage: label, arg: wholeArg(word) });
      };
      for (const ins of stage.instructions.slice(1)) {
        if (ins.keyword === "ARG") {
          for (const d of argDeclarations(ins.args)) {
            args.add(d.name);
            const value =
              d.name in q.args
                ? q.args[d.name]
                : d.value !== undefined
                  ? expand(d.value, lookup)
                  : global.has(d.name)
                    ? global.get(d.name)
                    : automatic[d.name];
            scope.set(d.name, value);
          }
        } else if (ins.keyword === "COPY" || ins.keyword === "ADD") {
          const f = flags(ins);
          const fromFlag = f.values.get("from")?.[0];
          if (fromFlag !== undefined) {
            edge(fromFlag, "copy", ins);
            continue;
          }
          const excludes = (f.values.get("exclude") ?? []).map((e) => contextPath(expandStage(e)));
          for (const src of copySources(f.rest, ins.args)) {
            if (src.startsWith("<<")) continue;
            const value = expandStage(src);
            // ADD fetches URLs and git repositories itself: not build-context files.
            if (ins.keyword === "ADD" && /^([a-z][a-z0-9+.-]*:\/\/|git@)/i.test(value)) continue;
            addSource(sources, {
              pattern: contextPath(value),
              excludes,
              line: ins.line,
              stage: label,
              instruction: firstLine(ins),
            });
          }
        } else if (ins.keyword === "RUN") {
          for (const mount of flags(ins).values.get("mount") ?? []) {
            const m = csv(expandStage(mount));
            const type = m.get("type") ?? "bind";
            const fromName = m.get("from");
            if (fromName !== undefined && fromName !== "" && (type === "bind" || type === "cache"))
              edge(fromName, "mount", ins);
            else if (type === "bind")
              addSource(sources, {
                pattern: contextPath(m.get("source") ?? m.get("src") ?? "."),
                excludes: [],
                line: ins.line,
                stage: label,
                instruction: firstLine(ins),
              });
          }
        }
      }
    };
    visit(root);
  }
  return {
    stages: [...stages].sort((a, b) => a - b),
    args,
    images: [...images.values()],
    sources: [...sources.values()],
    problems,
  };
}

// Each instruction is split into words and flags once, however many targets walk it.
const flagsOf = new WeakMap<Instruction, ReturnType<typeof parseFlags>>();
function flags(ins: Instruction): ReturnType<typeof parseFlags> {
  let f = flagsOf.get(ins);
  if (!f) flagsOf.set(ins, (f = parseFlags(splitWords(ins.args))));
  return f;
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

function expand(word: string, lookup: (name: string) => string | undefined): string {
  return expandWord(word, lookup).value;
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
  const line = ins.text.split("\n", 1)[0]!.trim();
  return line.endsWith("\\") ? `${line.slice(0, -1).trimEnd()} ...` : line;
}
