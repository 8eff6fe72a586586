// What `affected` computes once for both revisions: renders (SharedRenders), and the instructions
// of a Dockerfile's BASE revision parsed from its HEAD parse. Each is checked against doing the
// work from scratch, and counted, so these tests fail when the sharing stops being used.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareRevisions, type Side } from "../../../src/affected/compare.js";
import { buildPlan } from "../../../src/plan/plan.js";
import { SharedRenders } from "../../../src/plan/render-variants.js";
import { targetBuild } from "../../../src/plan/stage-graph.js";
import {
  InstructionPool,
  parseFlags,
  parseInstructions,
  splitWords,
  type DockerfileInstructions,
  type Instruction,
} from "../../../src/render/instructions.js";
import { loadProject, MINI_CONTEXT, MINI_TEMPLATE, templateFiles } from "../../helpers.js";

const plan = (yaml: string, renders?: SharedRenders, templates = templateFiles(), compared = false) =>
  buildPlan(loadProject(yaml), templates, { configLabel: "context.yaml", renders, compared });

const flat = (df: DockerfileInstructions) => [...df.global, ...df.stages.flatMap((s) => s.instructions)];

describe("SharedRenders: the second plan renders only what differs", () => {
  it("an ARG of one framework: the other framework's renders are reused, and the plan is the one a fresh plan makes", () => {
    const renders = new SharedRenders();
    plan(MINI_CONTEXT, renders);
    // framework x os: 4 template scopes (the stage axis is not read).
    expect(renders.counts).toEqual({ rendered: 4, reused: 0, reusedUpToArgDefaults: 0 });
    const bumped = MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: v2");
    const base = plan(bumped, renders);
    expect(renders.counts).toEqual({ rendered: 6, reused: 2, reusedUpToArgDefaults: 0 });
    const fresh = plan(bumped);
    expect(base.bakeJson).toBe(fresh.bakeJson);
    expect(base.files.map((f) => [f.path, f.content])).toEqual(fresh.files.map((f) => [f.path, f.content]));
    // Equal bodies are one Content in both plans: the sglang Dockerfiles are the same object.
    const head = plan(MINI_CONTEXT, renders);
    expect(renders.counts).toEqual({ rendered: 6, reused: 6, reusedUpToArgDefaults: 0 });
    expect(head.files.map((f) => f.path)).toEqual(base.files.map((f) => f.path));
  });

  it("a compared plan takes a render whose scope differs only in ARG defaults bake overrides: its bake file is a fresh plan's, its Dockerfiles differ from a fresh plan's only in those defaults", () => {
    const renders = new SharedRenders();
    plan(MINI_CONTEXT, renders);
    const bumped = MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: v2");
    const base = plan(bumped, renders, templateFiles(), true);
    // vllm's two scopes (ubuntu, ubi) differ in FW_REF alone, which the template writes only as `{% arg FW_REF %}`.
    expect(renders.counts).toEqual({ rendered: 4, reused: 2, reusedUpToArgDefaults: 2 });
    const fresh = plan(bumped);
    expect(base.bakeJson).toBe(fresh.bakeJson);
    // Nothing prints a compared plan's warnings, which would read another plan's renders.
    expect(base.warnings).toEqual([]);
    const differing = base.files.flatMap((f, i) => {
      const a = f.content.split("\n");
      const b = fresh.files[i]!.content.split("\n");
      expect(a.length).toBe(b.length);
      return a.flatMap((line, n) => (line === b[n] ? [] : [[line, b[n]]]));
    });
    expect(differing).toEqual([
      ["ARG FW_REF=v1", "ARG FW_REF=v2"],
      ["ARG FW_REF=v1", "ARG FW_REF=v2"],
    ]);
    // A plan that is not only compared is never given another value's render.
    plan(bumped, renders);
    expect(renders.counts).toEqual({ rendered: 6, reused: 4, reusedUpToArgDefaults: 2 });
  });

  it.each([
    ["a framework's ARG", (y: string) => y.replace("FW_REF: v1", "FW_REF: v2")],
    ["the base image every FROM reads", (y: string) => y.replace("ubuntu:24.04", "ubuntu:26.04")],
    ["an ARG and the stages built", (y: string) => y.replace("FW_REF: s1", "FW_REF: s2").replace("    dev: {}\n", "")],
  ])("affected compares a compared BASE exactly as a freshly rendered one: %s", (_what, edit) => {
    const side = (yaml: string, label: string, renders?: SharedRenders, compared = false): Side => {
      const project = loadProject(yaml);
      const templates = templateFiles();
      const p = buildPlan(project, templates, { configLabel: "context.yaml", renders, compared });
      return { label, prefix: `${label}:`, project, templates, plan: p, ignoreFiles: new Map() };
    };
    const renders = new SharedRenders();
    const head = side(MINI_CONTEXT, "working tree", renders);
    const compared = side(edit(MINI_CONTEXT), "main", renders, true);
    expect(renders.counts.reusedUpToArgDefaults).toBeGreaterThan(0);
    const opts = { changed: [], buildPlatform: "linux/amd64" };
    const result = compareRevisions(compared, head, opts);
    expect(result.affected.length).toBeGreaterThan(0);
    expect(result).toEqual(
      compareRevisions(side(edit(MINI_CONTEXT), "main"), side(MINI_CONTEXT, "working tree"), opts),
    );
  });

  // Where the value can reach more than an ARG default, a compared plan renders again.
  it.each([
    // Read as a template value: printed where the template puts it.
    [
      "read as args.FW_REF",
      MINI_TEMPLATE.replace("RUN echo {{ framework }} > /fw", "RUN echo {{ args.FW_REF }} > /fw"),
    ],
    // Written inside a continued RUN: a line of that RUN, not an ARG instruction.
    [
      "written in a continued RUN",
      MINI_TEMPLATE.replace("{% arg FW_REF %}", "RUN echo \\\n  # note\n\n{% arg FW_REF %}"),
    ],
    // Beside a heredoc, whose body lines are no instructions.
    ["beside a heredoc", `${MINI_TEMPLATE}RUN <<EOF\necho hi\nEOF\n`],
    // On a line with other text.
    ["in a comment", MINI_TEMPLATE.replace("{% arg FW_REF %}", "# {% arg FW_REF %}\nARG FW_REF")],
  ])("a compared plan renders again when the ARG is %s", (_why, template) => {
    const bumped = MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: v2");
    const renders = new SharedRenders();
    const files = templateFiles({ "Dockerfile.liquid": template });
    plan(MINI_CONTEXT, renders, files);
    const base = plan(bumped, renders, files, true);
    expect(renders.counts).toEqual({ rendered: 6, reused: 2, reusedUpToArgDefaults: 0 });
    expect(base.files.map((f) => f.content)).toEqual(plan(bumped, undefined, files).files.map((f) => f.content));
  });

  it("a template only some variants go through: only theirs render again when it changes, and the plan is a fresh plan's", () => {
    const files = (fw: string) =>
      templateFiles({
        "Dockerfile.liquid": `${MINI_TEMPLATE}{% if framework == "vllm" %}{% include 'vllm' %}{% endif %}\n`,
        "vllm.liquid": `RUN echo ${fw}\n`,
        "unused.liquid": "RUN echo never included\n",
      });
    const renders = new SharedRenders();
    plan(MINI_CONTEXT, renders, files("v1"));
    expect(renders.counts).toEqual({ rendered: 4, reused: 0, reusedUpToArgDefaults: 0 });
    const changed = plan(MINI_CONTEXT, renders, files("v2"));
    // vllm's two scopes went through vllm.liquid; sglang's did not.
    expect(renders.counts).toEqual({ rendered: 6, reused: 2, reusedUpToArgDefaults: 0 });
    const fresh = plan(MINI_CONTEXT, undefined, files("v2"));
    expect(changed.files.map((f) => [f.path, f.content])).toEqual(fresh.files.map((f) => [f.path, f.content]));
    expect(changed.bakeJson).toBe(fresh.bakeJson);
    // A file no render goes through changes nothing.
    const unused = new Map([...files("v2"), ["unused.liquid", "RUN echo changed\n"]]);
    plan(MINI_CONTEXT, renders, unused);
    expect(renders.counts).toEqual({ rendered: 6, reused: 6, reusedUpToArgDefaults: 0 });
  });

  it("a changed template, entry template or package manager is never served from another plan's renders", () => {
    const renders = new SharedRenders();
    plan(MINI_CONTEXT, renders);
    const template = templateFiles({ "Dockerfile.liquid": `${[...templateFiles().values()][0]}RUN true\n` });
    const other = plan(MINI_CONTEXT, renders, template);
    expect(renders.counts).toEqual({ rendered: 8, reused: 0, reusedUpToArgDefaults: 0 });
    expect(other.files[0]!.content).toContain("RUN true");
    plan(MINI_CONTEXT.replace("package_manager: dnf", "package_manager: apt"), renders);
    // ubi's scopes read another package manager: rendered again; ubuntu's are reused.
    expect(renders.counts).toEqual({ rendered: 10, reused: 2, reusedUpToArgDefaults: 0 });
    plan(MINI_CONTEXT.replace("stage_axis: target", "build:\n  tidy: false\nstage_axis: target"), renders);
    expect(renders.counts).toEqual({ rendered: 14, reused: 2, reusedUpToArgDefaults: 0 });
  });
});

// A Dockerfile shaped like the generated ones: global ARGs, stages, continuations with comments
// inside, a heredoc, COPY --from, mounts.
const LINES = [
  "# syntax=docker/dockerfile:1",
  "ARG BASE=img:1",
  "",
  "FROM ${BASE} AS base",
  "ARG REF=v1",
  "RUN echo a && \\",
  "# a comment inside",
  "    echo b",
  "COPY src/ /src/",
  "RUN --mount=type=cache,target=/c \\",
  "    make",
  "FROM base AS dev",
  "COPY --from=base /src /dst",
  "RUN <<EOF",
  "echo heredoc",
  "EOF",
  "ENV A=1 \\",
  "    B=2",
  "FROM scratch",
  "COPY --from=dev / /",
];
const EDITS = [
  "",
  "# note",
  "ARG REF=v2",
  "RUN echo x \\",
  "    && echo y",
  "FROM base AS extra",
  "COPY x/ /x/",
  "RUN <<EOF",
  "EOF",
  "  \\",
  "ENV C=3",
];

describe("parseInstructions from another revision's parse", () => {
  it("gives what a fresh parse gives, for any edit, sharing the unchanged instructions", () => {
    const edit = fc.record({
      at: fc.nat(LINES.length),
      remove: fc.nat(3),
      insert: fc.array(fc.constantFrom(...EDITS), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        const before = LINES.join("\n");
        const lines = [...LINES];
        for (const e of edits) lines.splice(Math.min(e.at, lines.length), e.remove, ...e.insert);
        const after = lines.join("\n");
        const previous = parseInstructions(before);
        const derived = parseInstructions(after, { text: before, parsed: previous });
        const fresh = parseInstructions(after);
        expect(derived).toEqual(fresh);
        // What a target builds from it, with the previous parse's steps reused where its stages are unchanged.
        const query = (target?: string) => ({
          target,
          platforms: ["linux/amd64"],
          args: {},
          buildPlatform: "linux/amd64",
        });
        for (const stage of [undefined, ...previous.stages.map((s) => s.name)]) targetBuild(previous, query(stage));
        for (const stage of [undefined, ...fresh.stages.map((s) => s.name)])
          expect(targetBuild(derived, query(stage))).toEqual(targetBuild(fresh, query(stage)));
        // And the other way round, and from a derived parse.
        expect(parseInstructions(before, { text: after, parsed: derived })).toEqual(previous);
      }),
      { numRuns: 500 },
    );
  });

  it("a one-line change parses one instruction: the others are the previous parse's objects", () => {
    const before = LINES.join("\n");
    const after = before.replace("ARG REF=v1", "ARG REF=v2");
    const previous = parseInstructions(before);
    const derived = parseInstructions(after, { text: before, parsed: previous });
    const old = new Set(flat(previous));
    const fresh = flat(derived).filter((i) => !old.has(i));
    // The changed ARG, and the instruction before it (its next line is no longer shared).
    expect(fresh.map((i) => i.text)).toEqual(["FROM ${BASE} AS base", "ARG REF=v2"]);
    expect(flat(derived).length).toBe(flat(previous).length);
    // A line more at the start shifts the rest: equal, one line on.
    const shifted = parseInstructions(`\n${before}`, { text: before, parsed: previous });
    expect(shifted).toEqual(parseInstructions(`\n${before}`));
  });
});

/**
 * parseInstructions as it was written before it read lines by character codes and took
 * instructions from a pool: trim()/trimEnd() on every line, each instruction joined and matched.
 */
function parseModel(text: string): DockerfileInstructions {
  const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
  const lines = text.split("\n");
  const flat: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!;
    const trimmed = first.trim();
    if (trimmed === "" || trimmed.startsWith("#")) {
      i++;
      continue;
    }
    const start = i;
    const written: string[] = [first];
    let joined = "";
    let current = first;
    for (;;) {
      const body = current.trimEnd();
      if (!body.endsWith("\\") || i + 1 >= lines.length) {
        joined += body;
        break;
      }
      joined += body.slice(0, -1);
      i++;
      while (i < lines.length && lines[i]!.trim().startsWith("#")) i++;
      if (i >= lines.length) break;
      current = lines[i]!;
      written.push(current);
    }
    i++;
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined);
    const keyword = (m?.[1] ?? "").toUpperCase();
    let args = m?.[2] ?? "";
    if ((keyword === "RUN" || keyword === "COPY" || keyword === "ADD") && args.includes("<<")) {
      for (const h of args.matchAll(HEREDOC)) {
        const [, dash, , word] = h;
        while (i < lines.length) {
          const line = lines[i]!;
          written.push(line);
          i++;
          if ((dash ? line.replace(/^\t+/, "") : line) === word) break;
        }
      }
      if (written.length > 1 && args.match(HEREDOC)) args = `${args}\n${written.slice(1).join("\n")}`;
    }
    flat.push({ line: start + 1, keyword, args, text: written.length === 1 ? first : written.join("\n") });
  }
  const global: Instruction[] = [];
  const stages: DockerfileInstructions["stages"] = [];
  for (const ins of flat) {
    if (ins.keyword === "FROM") {
      const flags = parseFlags(splitWords(ins.args));
      const as = flags.rest[1]?.toLowerCase() === "as" ? flags.rest[2]?.toLowerCase() : undefined;
      const image = flags.rest[0] ?? "";
      const platform = flags.values.get("platform")?.[0];
      stages.push({ index: stages.length, name: as, image, platform, instructions: [ins] });
    } else if (stages.length === 0) global.push(ins);
    else stages[stages.length - 1]!.instructions.push(ins);
  }
  return { global, stages };
}

describe("parseInstructions reads what the line-by-line model reads", () => {
  // Lines that make the scanner's choices: continuations (with blanks after the `\`, comment and
  // blank lines inside, at the end of the file), heredocs, blanks trim() removes and ASCII does not have.
  const LINE = fc.constantFrom(
    "FROM img AS base",
    "FROM --platform=$BUILDPLATFORM img:1 AS b2",
    "ARG A=1",
    "ARG B",
    "RUN echo a \\",
    "RUN echo a \\  ",
    "    && echo b",
    "    && echo c \\",
    "  # inside",
    "#",
    "",
    "   ",
    "\t",
    "\\",
    " \\",
    "COPY src/ /src/",
    "COPY --from=base /a /b",
    "RUN --mount=type=bind,source=x,target=/x \\",
    "RUN <<EOF",
    "RUN <<-EOT \\",
    "EOF",
    "\tEOT",
    "ENV X=1\u00a0",
    "\u00a0# nbsp comment",
    "RUN x \\\u2028",
    "\u3000",
    "RUN y\r",
    "\ufeffARG Z=2",
    "run lower",
  );
  it("fresh, from a pool of other files' instructions, and from another revision's parse", () => {
    fc.assert(
      fc.property(
        fc.array(LINE, { maxLength: 24 }),
        fc.array(fc.record({ at: fc.nat(24), line: LINE }), { maxLength: 4 }),
        (lines, edits) => {
          const text = lines.join("\n");
          const other = [...lines];
          for (const e of edits) other.splice(Math.min(e.at, other.length), 1, e.line);
          const otherText = other.join("\n");
          const model = parseModel(text);
          expect(parseInstructions(text)).toEqual(model);
          const pool = new InstructionPool();
          const first = parseInstructions(otherText, undefined, pool);
          expect(first).toEqual(parseModel(otherText));
          expect(parseInstructions(text, undefined, pool)).toEqual(model);
          expect(parseInstructions(text, { text: otherText, parsed: first }, pool)).toEqual(model);
          expect(parseInstructions(text, { text: otherText, parsed: first })).toEqual(model);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("a pool gives the second of two files that differ in one line all but that instruction", () => {
    const a = LINES.join("\n");
    const b = a.replace("COPY src/ /src/", "COPY lib/ /lib/");
    const pool = new InstructionPool();
    const pa = parseInstructions(a, undefined, pool);
    expect(pool.counts).toEqual({ parsed: flat(pa).length, shared: 0 });
    const pb = parseInstructions(b, undefined, pool);
    // The heredoc is never pooled (its body depends on its arguments): read again, as is the changed COPY.
    expect(pool.counts).toEqual({ parsed: flat(pa).length + 2, shared: flat(pa).length - 2 });
    const shared = flat(pb).filter((i) => flat(pa).includes(i));
    expect(shared.map((i) => i.text)).not.toContain("COPY lib/ /lib/");
    expect(shared.length).toBe(flat(pa).length - 2);
    expect(pb).toEqual(parseInstructions(b));
  });
});

/** splitWords as it was written before it sliced: a word built character by character. */
function splitWordsModel(s: string, opts: { flagsOnly?: boolean } = {}): string[] {
  const words: string[] = [];
  let word = "";
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      word += c;
      if (c === "\\" && quote === '"' && i + 1 < s.length) word += s[++i];
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(word);
      if (inWord && opts.flagsOnly && !word.startsWith("--")) return words;
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '"' || c === "'") quote = c;
    if (c === "\\" && i + 1 < s.length) {
      word += c + s[++i]!;
      continue;
    }
    word += c;
  }
  if (inWord) words.push(word);
  return words;
}

describe("splitWords", () => {
  it("splits as the character-by-character version did", () => {
    const text = fc.string({
      unit: fc.constantFrom(" ", "\t", "\n", '"', "'", "\\", "-", "-", "a", "=", "b", "é", "\u{1F600}"),
      maxLength: 40,
    });
    fc.assert(
      fc.property(text, fc.boolean(), (s, flagsOnly) => {
        expect(splitWords(s, { flagsOnly })).toEqual(splitWordsModel(s, { flagsOnly }));
      }),
      { numRuns: 3000 },
    );
  });
});
