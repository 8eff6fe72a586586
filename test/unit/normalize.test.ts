import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, UserError } from "../../src/errors.js";
import { readProject } from "../../src/io/project-files.js";
import { buildPlan } from "../../src/plan/plan.js";
import { loadProject, MINI_CONTEXT, MINI_TEMPLATE, runCli, templateFiles, testdir } from "../helpers.js";

const CACHE = "cache:\n  repository: demo/cache\n";

describe("normalize: the settings later stages read", () => {
  it("gives defaults for an absent build, cache, groups and limits", () => {
    const project = loadProject(MINI_CONTEXT);
    expect(project.build).toEqual({
      templates: "templates",
      template: "Dockerfile.liquid",
      outDir: "bake",
      context: ".",
      syntax: undefined,
      network: undefined,
      allowSecretLike: new Set(),
      tidy: true,
      locked: false,
    });
    expect(project.cache).toBeUndefined();
    expect(project.groups).toEqual({ perAxis: [], define: [] });
    expect(project.limits).toEqual({ maxVariants: 10000 });
    expect(project.meta).toEqual({ name: "demo", source: "https://example.com/demo" });
    expect(project.publish).toEqual({
      registry: "registry.example.com",
      repository: "demo/app",
      tags: [
        {
          pattern: { source: "{name}", parts: [{ kind: "placeholder", key: "name" }], problems: [] },
          path: ["publish", "tags", 0],
          patternPath: ["publish", "tags", 0],
        },
      ],
    });
    expect(project.branchKinds).toEqual([]);
    expect("context" in project).toBe(false);
  });

  it("normalises paths once and keeps what was written otherwise", () => {
    const project = loadProject(
      `${MINI_CONTEXT}build:\n  templates: ./tpl/./x/\n  template: main.liquid\n  out_dir: ./gen/docker/\n  context: ./src\n  syntax: docker/dockerfile:1\n  network: host\n  allow_secret_like: [TOKENIZER_REF]\n`,
    );
    expect(project.build).toEqual({
      templates: "tpl/x",
      template: "main.liquid",
      outDir: "gen/docker/",
      context: "src",
      syntax: "docker/dockerfile:1",
      network: "host",
      allowSecretLike: new Set(["TOKENIZER_REF"]),
      tidy: true,
      locked: false,
    });
  });

  it.each([
    ["templates", "templates"],
    ["./templates", "templates"],
    ["templates/", "templates"],
    ["./a//b/../templates///", "a/templates"],
    [".", "."],
    ["./", "."],
    ["/abs/templates/", "/abs/templates"],
    ["/", "/"],
  ])("names the template directory %j as %j", (written, label) => {
    expect(loadProject(`${MINI_CONTEXT}build:\n  templates: ${JSON.stringify(written)}\n`).build.templates).toBe(label);
  });

  it("renames the cache keys to camelCase with their defaults", () => {
    expect(loadProject(`${MINI_CONTEXT}${CACHE}`).cache).toEqual({
      registry: undefined,
      repository: "demo/cache",
      tag: {
        source: "{name}-{branch}",
        parts: [
          { kind: "placeholder", key: "name" },
          { kind: "text", text: "-" },
          { kind: "placeholder", key: "branch" },
        ],
        problems: [],
      },
      fallback: ["main"],
      fallbackGiven: false,
      writeOn: ["main"],
      mode: "max",
      allowSharedWrites: false,
    });
  });

  it("normalises tag entries with branches and selectors, and branch kinds in file order", () => {
    const project = loadProject(
      MINI_CONTEXT.replace(
        '  tags: ["{name}"]\n',
        '  tags:\n    - "{name}"\n    - tag: "latest[-{os.name}]"\n      branches: [main]\n      when: {target: runtime}\nbranch_kinds:\n  release: ["release/*"]\n  main: [main]\n',
      ),
    );
    expect(project.publish.tags[1]).toEqual({
      pattern: {
        source: "latest[-{os.name}]",
        parts: [
          { kind: "text", text: "latest" },
          {
            kind: "optional",
            pieces: [
              { kind: "text", text: "-" },
              { kind: "placeholder", key: "os.name" },
            ],
          },
        ],
        problems: [],
      },
      branches: ["main"],
      match: { target: ["runtime"] },
      path: ["publish", "tags", 1],
      patternPath: ["publish", "tags", 1, "tag"],
    });
    expect(project.branchKinds).toEqual([
      { name: "release", patterns: ["release/*"], path: ["branch_kinds", "release"] },
      { name: "main", patterns: ["main"], path: ["branch_kinds", "main"] },
    ]);
  });

  it("locates groups.per_axis entries and defined groups", () => {
    const project = loadProject(
      `${MINI_CONTEXT}groups:\n  per_axis: [framework, os]\n  define:\n    gpu: {framework: vllm, target: [runtime, dev]}\n`,
    );
    expect(project.groups).toEqual({
      perAxis: [
        { axis: "framework", path: ["groups", "per_axis", 0] },
        { axis: "os", path: ["groups", "per_axis", 1] },
      ],
      define: [
        {
          name: "gpu",
          members: [
            {
              kind: "match",
              match: { framework: ["vllm"], target: ["runtime", "dev"] },
              path: ["groups", "define", "gpu"],
            },
          ],
          path: ["groups", "define", "gpu"],
        },
      ],
    });
    expect(
      loadProject(`${MINI_CONTEXT}groups:\n  define:\n    pr: [{target: dev}, vllm]\n`).groups.define[0]!.members,
    ).toEqual([
      { kind: "match", match: { target: ["dev"] }, path: ["groups", "define", "pr", 0] },
      { kind: "name", name: "vllm", path: ["groups", "define", "pr", 1] },
    ]);
    expect(loadProject(`${MINI_CONTEXT}limits:\n  max_variants: 7\n`).limits).toEqual({ maxVariants: 7 });
  });
});

// Every place that names a template: markers in the Dockerfiles, the header, errors and `explain`.
describe("the template directory label, with build.templates: ./templates/", () => {
  const yaml = MINI_CONTEXT.replace("stage_axis:", "build:\n  templates: ./templates/\nstage_axis:");

  it("explain names the declaring template as markers do", async () => {
    const dir = testdir({ "context.yaml": yaml, "templates/Dockerfile.liquid": MINI_TEMPLATE });
    const res = await runCli(["explain", "vllm", "FW_REF"], dir);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("stage runtime (templates/Dockerfile.liquid:3)");
    expect(res.stdout).not.toContain("./templates");
  });

  it("markers, the header and template errors say templates/", () => {
    const plan = buildPlan(loadProject(yaml), templateFiles(), { configLabel: "context.yaml" });
    const text = plan.files[0]!.content;
    expect(text).toContain("from context.yaml and templates/. Do not edit");
    expect(text).toContain("# --- templates/Dockerfile.liquid ---");
    expect(text).not.toContain("./templates");
    expect(() =>
      buildPlan(loadProject(yaml), templateFiles({ "Dockerfile.liquid": "{{ nope }}" }), {
        configLabel: "context.yaml",
      }),
    ).toThrow(/^templates\/Dockerfile\.liquid:1:\d+: undefined variable: nope/);
  });

  it("a missing template directory is reported under the same name", () => {
    const dir = testdir({ "context.yaml": yaml });
    expect(() => readProject(join(dir, "context.yaml"))).toThrow(UserError);
    expect(() => readProject(join(dir, "context.yaml"))).toThrow(
      /context\.yaml:\d+:\d+: build\.templates: Template directory "templates" not found/,
    );
  });

  it("the stage check names the top-level template under the same label", () => {
    const files = templateFiles({ "Dockerfile.liquid": "FROM a AS runtime\n" });
    let error: unknown;
    try {
      buildPlan(loadProject(yaml), files, { configLabel: "context.yaml" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issue = (error as ConfigError).issues[0]!;
    // Located at the stage's source in context.yaml; the message names the template.
    expect(issue.location).toMatchObject({ file: "context.yaml", path: "axes.target.dev" });
    expect(issue.message).toContain(
      "is not defined in bake/sglang.Dockerfile (rendered from templates/Dockerfile.liquid)",
    );
  });
});
