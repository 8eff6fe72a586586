import { describe, expect, it } from "vitest";
import { fillPattern, meaningsOf, parsePattern, qualified, type Meaning } from "../../src/config/patterns.js";

const AXES = ["framework", "cuda", "efa", "version"];

describe("parsePattern", () => {
  it("splits text, placeholders and optional parts", () => {
    expect(parsePattern("{sha}-{framework}[-{efa.name}]-cuda").parts).toEqual([
      { kind: "placeholder", key: "sha" },
      { kind: "text", text: "-" },
      { kind: "placeholder", key: "framework" },
      {
        kind: "optional",
        pieces: [
          { kind: "text", text: "-" },
          { kind: "placeholder", key: "efa.name" },
        ],
      },
      { kind: "text", text: "-cuda" },
    ]);
  });

  it.each([
    ["{name", '"{" at position 1 is not closed by "}"'],
    ["name}", '"}" at position 5 closes no "{"'],
    ["{a[-{b}]", '"{" at position 1 is not closed by "}"'],
    ["x]", '"]" at position 2 closes no "["'],
    ["[-{a}", '"[" is not closed by "]"'],
    ["[-[{a}]]", '"[" at position 3 opens an optional part inside another; they do not nest'],
    ["{a}[-efa]", 'The optional part "[-efa]" has no placeholder, so it would always be kept'],
  ])("reports what is malformed in %j", (pattern, problem) => {
    expect(parsePattern(pattern).problems.join("\n")).toContain(problem);
  });
});

describe("meaningsOf", () => {
  it.each<[string, Meaning[]]>([
    ["name", [{ kind: "built-in", name: "name" }]],
    ["cuda", [{ kind: "axis", axis: "cuda" }]],
    ["cuda.name", [{ kind: "token", axis: "cuda" }]],
    ["vars.python", [{ kind: "var", name: "python" }]],
    ["matrix.cuda", [{ kind: "axis", axis: "cuda" }]],
    ["matrix.cuda.name", [{ kind: "token", axis: "cuda" }]],
    ["build.branch", [{ kind: "built-in", name: "branch" }]],
    ["nope", []],
    ["vars.", []],
    ["matrix.nope", []],
    [
      "version",
      [
        { kind: "built-in", name: "version" },
        { kind: "axis", axis: "version" },
      ],
    ],
    ["build.version", [{ kind: "built-in", name: "version" }]],
    ["matrix.version", [{ kind: "axis", axis: "version" }]],
  ])("%s", (key, meanings) => {
    expect(meaningsOf(key, AXES)).toEqual(meanings);
  });

  it("has a qualified spelling for every meaning that means only it", () => {
    const all: Meaning[] = [
      { kind: "built-in", name: "version" },
      { kind: "axis", axis: "version" },
      { kind: "token", axis: "version" },
      { kind: "var", name: "full" },
    ];
    for (const m of all) expect(meaningsOf(qualified(m).slice(1, -1), AXES)).toEqual([m]);
  });
});

describe("fillPattern", () => {
  const values: Record<string, string | undefined> = {
    "built-in:sha": "abc",
    "axis:framework": "vllm",
    "token:cuda": "cuda12",
    "token:efa": "",
  };
  const lookup = (m: Meaning) => values[`${m.kind}:${m.kind === "built-in" || m.kind === "var" ? m.name : m.axis}`];
  const fill = (p: string) => fillPattern(parsePattern(p), AXES, lookup);

  it("drops an optional part whose placeholder is empty, keeps it otherwise", () => {
    expect(fill("{sha}-{framework}[-{efa.name}]-{cuda.name}")).toEqual({ kind: "tag", tag: "abc-vllm-cuda12" });
    expect(fill("{sha}-{framework}[-{cuda.name}]")).toEqual({ kind: "tag", tag: "abc-vllm-cuda12" });
    expect(fill("x[-{version}]")).toEqual({ kind: "tag", tag: "x" });
  });

  it("leaves the tag out when a command-line input outside brackets is absent", () => {
    expect(fill("{build.version}-{framework}")).toEqual({ kind: "absent", key: "build.version" });
    expect(fill("{branch}")).toEqual({ kind: "absent", key: "branch" });
  });

  it("reports a matrix value outside brackets that is empty for the target", () => {
    expect(fill("{framework}-{efa.name}")).toEqual({ kind: "empty", key: "efa.name" });
    expect(fill("{vars.python}")).toEqual({ kind: "empty", key: "vars.python" });
  });
});
