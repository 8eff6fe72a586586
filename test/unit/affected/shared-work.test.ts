// What `affected` computes once for both revisions: renders (SharedRenders), and the instructions
// of a Dockerfile's BASE revision parsed from its HEAD parse. Each is checked against doing the
// work from scratch, and counted, so these tests fail when the sharing stops being used.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../../src/plan/plan.js";
import { SharedRenders } from "../../../src/plan/render-variants.js";
import { targetBuild } from "../../../src/plan/stage-graph.js";
import { parseInstructions, splitWords, type DockerfileInstructions } from "../../../src/render/instructions.js";
import { loadProject, MINI_CONTEXT, templateFiles } from "../../helpers.js";

const plan = (yaml: string, renders?: SharedRenders, templates = templateFiles()) =>
  buildPlan(loadProject(yaml), templates, { configLabel: "context.yaml", renders });

const flat = (df: DockerfileInstructions) => [...df.global, ...df.stages.flatMap((s) => s.instructions)];

describe("SharedRenders: the second plan renders only what differs", () => {
  it("an ARG of one framework: the other framework's renders are reused, and the plan is the one a fresh plan makes", () => {
    const renders = new SharedRenders();
    plan(MINI_CONTEXT, renders);
    // framework x os: 4 template scopes (the stage axis is not read).
    expect(renders.counts).toEqual({ rendered: 4, reused: 0 });
    const bumped = MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: v2");
    const base = plan(bumped, renders);
    expect(renders.counts).toEqual({ rendered: 6, reused: 2 });
    const fresh = plan(bumped);
    expect(base.bakeJson).toBe(fresh.bakeJson);
    expect(base.files.map((f) => [f.path, f.content])).toEqual(fresh.files.map((f) => [f.path, f.content]));
    // Equal bodies are one Content in both plans: the sglang Dockerfiles are the same object.
    const head = plan(MINI_CONTEXT, renders);
    expect(renders.counts).toEqual({ rendered: 6, reused: 6 });
    expect(head.files.map((f) => f.path)).toEqual(base.files.map((f) => f.path));
  });

  it("a changed template, entry template or package manager is never served from another plan's renders", () => {
    const renders = new SharedRenders();
    plan(MINI_CONTEXT, renders);
    const template = templateFiles({ "Dockerfile.liquid": `${[...templateFiles().values()][0]}RUN true\n` });
    const other = plan(MINI_CONTEXT, renders, template);
    expect(renders.counts).toEqual({ rendered: 8, reused: 0 });
    expect(other.files[0]!.content).toContain("RUN true");
    plan(MINI_CONTEXT.replace("package_manager: dnf", "package_manager: apt"), renders);
    // ubi's scopes read another package manager: rendered again; ubuntu's are reused.
    expect(renders.counts).toEqual({ rendered: 10, reused: 2 });
    plan(MINI_CONTEXT.replace("stage_axis: target", "build:\n  tidy: false\nstage_axis: target"), renders);
    expect(renders.counts).toEqual({ rendered: 14, reused: 2 });
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
