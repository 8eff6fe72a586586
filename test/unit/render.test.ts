import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PackageManager } from "../../src/config/normalize.js";
import { ConfigError, UserError } from "../../src/errors.js";
import { readTemplates } from "../../src/io/project-files.js";
import { buildPlan } from "../../src/plan/plan.js";
import { analyzeDockerfile } from "../../src/render/dockerfile.js";
import { installPackages } from "../../src/render/packages.js";
import { findIncludeCycle, TemplateEngine, type RenderInput } from "../../src/render/templates.js";
import { loadProject, MINI_CONTEXT, templateFiles, testdir } from "../helpers.js";

const LABEL = "vllm (framework=vllm)";

function render(files: Record<string, string>, input: Partial<RenderInput> = {}) {
  const engine = new TemplateEngine(templateFiles(files), "templates");
  return engine.render("Dockerfile.liquid", {
    scope: { framework: "vllm" },
    args: new Map(),

    variantLabel: LABEL,
    ...input,
  });
}

function renderError(files: Record<string, string>, input: Partial<RenderInput> = {}): UserError {
  try {
    render(files, input);
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}

/** The rendered text without the source markers, for assertions on the Dockerfile lines themselves. */
function body(text: string): string {
  return text
    .split("\n")
    .filter((l) => !l.startsWith("# --- "))
    .join("\n");
}

function planError(files: Record<string, string>, yaml = MINI_CONTEXT): Error {
  try {
    buildPlan(loadProject(yaml), templateFiles(files), { configLabel: "context.yaml" });
  } catch (e) {
    if (e instanceof Error) return e;
    throw e;
  }
  throw new Error("expected buildPlan to throw");
}

describe("TemplateEngine: strict liquid with positions", () => {
  // prettier-ignore
  it.each<{ name: string; files: Record<string, string>; expected: string }>([
    {
      name: "an undefined variable",
      files: { "Dockerfile.liquid": "FROM a AS b\n\nRUN echo {{ nope }}\n" },
      expected: "templates/Dockerfile.liquid:3:13: undefined variable: nope (rendering vllm (framework=vllm))",
    },
    {
      name: "an undefined variable on the first line (the column ignores the source marker)",
      files: { "Dockerfile.liquid": "{{ nope }}\n" },
      expected: "templates/Dockerfile.liquid:1:4: undefined variable: nope",
    },
    {
      name: "an undefined variable in an included file names that file",
      files: { "Dockerfile.liquid": "FROM a AS b\n{% include 'parts/run' %}\n", "parts/run.liquid": "RUN true\nRUN echo {{ nope }}\n" },
      expected: "templates/parts/run.liquid:2:13: undefined variable: nope",
    },
    {
      name: "an undefined filter",
      files: { "Dockerfile.liquid": "FROM a\nRUN echo {{ framework | shout }}\n" },
      expected: "templates/Dockerfile.liquid:2:10: undefined filter: shout",
    },
    {
      name: "an undefined filter in an included file",
      files: { "Dockerfile.liquid": "{% include 'x' %}", "x.liquid": "\n\n{{ framework | shout }}" },
      expected: "templates/x.liquid:3:1: undefined filter: shout",
    },
    {
      name: "a liquid syntax error",
      files: { "Dockerfile.liquid": "FROM a\n{% if %}\n{% endif %}" },
      expected: "templates/Dockerfile.liquid:2:",
    },
  ])("reports $name", ({ files, expected }) => {
    expect(renderError(files).message).toContain(expected);
  });

  it("adds the hint of a name that is not a template variable", () => {
    const err = renderError(
      { "Dockerfile.liquid": "{% if target == 'dev' %}x{% endif %}" },
      { hint: (name) => (name === "target" ? "HINT: target is the stage axis" : undefined) },
    );
    expect(err.message).toContain("undefined variable: target. HINT: target is the stage axis");
  });

  it("marks where each template file starts, in render order", () => {
    const { text } = render({
      "Dockerfile.liquid": "FROM a AS b\n{% include 'parts/run' %}\nRUN last\n",
      "parts/run.liquid": "RUN included\n",
    });
    expect(text).toBe(
      "# --- templates/Dockerfile.liquid ---\nFROM a AS b\n# --- templates/parts/run.liquid ---\nRUN included\n\nRUN last\n",
    );
  });

  it("refuses a template that does not exist, listing the files", () => {
    const engine = new TemplateEngine(templateFiles({ "a.liquid": "" }), "templates");
    expect(() => engine.render("Dockerfile.liquid", { scope: {}, args: new Map(), variantLabel: LABEL })).toThrow(
      "templates/Dockerfile.liquid: Template not found. Files: a.liquid",
    );
  });
});

describe("TemplateEngine: includes stay inside the template directory", () => {
  // prettier-ignore
  it.each([
    { name: "a parent path", include: "../x" },
    { name: "a parent path inside a subdirectory", include: "parts/../../x" },
    { name: "an absolute path", include: "/etc/passwd" },
  ])("refuses $name", ({ include }) => {
    const err = renderError({ "Dockerfile.liquid": `FROM a\n{% include '${include}' %}\n` });
    expect(err.message).toContain(`templates/Dockerfile.liquid:2:1: Include "${include}" points outside templates/; includes resolve inside templates/ only`);
  });

  it("refuses a missing include, listing the template files", () => {
    const err = renderError({ "Dockerfile.liquid": "FROM a\n{% include 'nope' %}\n" });
    expect(err.message).toContain('templates/Dockerfile.liquid:2:1: ENOENT: Failed to lookup "nope"');
    expect(err.message).toContain("Includes resolve inside templates/ only; files there: Dockerfile.liquid");
  });

  it("refuses a link that leads outside the template directory when reading templates", () => {
    const dir = testdir({ "templates/Dockerfile.liquid": "FROM a\n", "secret.liquid": "outside\n" });
    symlinkSync(join(dir, "secret.liquid"), join(dir, "templates", "link.liquid"));
    expect(() => readTemplates(join(dir, "templates"), "templates")).toThrow(
      /^templates\/link\.liquid: .*outside templates\/; templates may only include files inside it/,
    );
  });

  it("refuses a linked directory outside the template directory", () => {
    const dir = testdir({ "templates/Dockerfile.liquid": "FROM a\n", "elsewhere/x.liquid": "outside\n" });
    symlinkSync(join(dir, "elsewhere"), join(dir, "templates", "shared"));
    expect(() => readTemplates(join(dir, "templates"), "templates")).toThrow(
      /^templates\/shared: .*outside templates\/; templates may only include files inside it/,
    );
  });

  it("reads links inside the template directory, and nested directories, once each", () => {
    const dir = testdir({
      "templates/Dockerfile.liquid": "FROM a\n",
      "templates/parts/run.liquid": "RUN x\n",
      "templates/notes.txt": "not a template",
    });
    symlinkSync(join(dir, "templates", "parts", "run.liquid"), join(dir, "templates", "alias.liquid"));
    mkdirSync(join(dir, "templates", "empty"));
    expect([...readTemplates(join(dir, "templates"), "templates").keys()]).toEqual([
      "Dockerfile.liquid",
      "alias.liquid",
      "parts/run.liquid",
    ]);
  });

  it("reports a missing template directory", () => {
    expect(() => readTemplates(join(testdir(), "templates"), "templates")).toThrow(
      "templates: Template directory not found",
    );
  });
});

describe("include cycles", () => {
  it.each<{ name: string; files: Record<string, string>; cycle: string[]; line: number; col: number }>([
    {
      name: "a self include",
      files: { "Dockerfile.liquid": "FROM a\n{% include 'Dockerfile' %}" },
      cycle: ["Dockerfile.liquid", "Dockerfile.liquid"],
      line: 2,
      col: 1,
    },
    {
      name: "a two-file cycle",
      files: {
        "Dockerfile.liquid": "{% include 'a' %}",
        "a.liquid": "{% include 'b.liquid' %}",
        "b.liquid": '\n\n{%- render "a" %}',
      },
      cycle: ["a.liquid", "b.liquid", "a.liquid"],
      line: 3,
      col: 1,
    },
  ])("finds $name", ({ files, cycle, line, col }) => {
    expect(findIncludeCycle(templateFiles(files))).toEqual({ cycle, line, col });
  });

  it("does not mistake a shared include (a diamond) for a cycle", () => {
    const files = {
      "Dockerfile.liquid": "{% include 'a' %}{% include 'b' %}",
      "a.liquid": "{% include 'c' %}",
      "b.liquid": "{% include 'c' %}",
      "c.liquid": "RUN c",
    };
    expect(findIncludeCycle(templateFiles(files))).toBeUndefined();
  });

  it("is refused by buildPlan with the file and line that closes it", () => {
    const err = planError({
      "Dockerfile.liquid": "FROM a AS runtime\n{% include 'a' %}",
      "a.liquid": "{% include 'b' %}",
      "b.liquid": "RUN b\n{% include 'a' %}",
    });
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("templates/b.liquid:2:1: Include cycle: a.liquid -> b.liquid -> a.liquid");
  });

  it("is an error, not a crash, when a dynamic include recurses", () => {
    const err = renderError({ "Dockerfile.liquid": "{% assign n = 'Dockerfile' %}{% include n %}" });
    expect(err.message).toContain(
      "templates/Dockerfile.liquid: Include nesting deeper than the stack allows (an include cycle?)",
    );
  });
});

describe("{% arg %}", () => {
  // prettier-ignore
  it.each([
    { value: "v0.19.1", line: "ARG X=v0.19.1" },
    { value: "nvcr.io/nvidia/cuda:12.9.1-devel-ubuntu24.04", line: "ARG X=nvcr.io/nvidia/cuda:12.9.1-devel-ubuntu24.04" },
    { value: "tensorrt-llm==1.3.0rc11", line: "ARG X=tensorrt-llm==1.3.0rc11" },
    { value: "", line: 'ARG X=""' },
    { value: "a b", line: 'ARG X="a b"' },
    { value: 'say "hi"', line: 'ARG X="say \\"hi\\""' },
    { value: "it's", line: 'ARG X="it\'s"' },
    { value: "$HOME", line: 'ARG X="\\$HOME"' },
    { value: "${OTHER}", line: 'ARG X="\\${OTHER}"' },
    { value: "C:\\tools", line: 'ARG X="C:\\\\tools"' },
    { value: "https://pypi.example/simple?x=1", line: 'ARG X="https://pypi.example/simple?x=1"' },
  ])("declares $value as $line", ({ value, line }) => {
    expect(body(render({ "Dockerfile.liquid": "{% arg X %}" }, { args: new Map([["X", value]]) }).text)).toBe(line);
  });

  it("declares several ARGs, one line each, and records where each was declared", () => {
    const out = render(
      { "Dockerfile.liquid": "{% arg A B %}\nFROM x AS s\n{% include 'p' %}", "p.liquid": "\n{% arg C %}" },
      {
        args: new Map([
          ["A", "1"],
          ["B", "2"],
          ["C", "3"],
        ]),
      },
    );
    expect(body(out.text)).toBe("ARG A=1\nARG B=2\nFROM x AS s\n\nARG C=3");
    expect(out.declared).toEqual([
      { name: "A", template: "Dockerfile.liquid", line: 1 },
      { name: "B", template: "Dockerfile.liquid", line: 1 },
      { name: "C", template: "p.liquid", line: 2 },
    ]);
  });

  // prettier-ignore
  it.each([
    { tag: "{% arg TARGETARCH %}", message: '{% arg TARGETARCH %}: TARGETARCH is set by BuildKit per platform; write a plain "ARG TARGETARCH" inside the stage that needs it' },
    { tag: "{% arg BUILDPLATFORM %}", message: "BUILDPLATFORM is set by BuildKit per platform" },
    { tag: "{% arg %}", message: "{% arg %} needs at least one ARG name" },
    { tag: "{% arg 1X %}", message: '{% arg %}: "1X" is not an ARG name' },
    { tag: "\n{% arg MISSING %}", message: 'templates/Dockerfile.liquid:2:1: ARG MISSING has no value for vllm (framework=vllm). Set it in context.yaml (defaults, an axis value or a combination), or write a plain "ARG MISSING"' },
  ])("refuses $tag", ({ tag, message }) => {
    expect(renderError({ "Dockerfile.liquid": tag }).message).toContain(message);
  });
});

describe("global ARG of a BuildKit platform variable", () => {
  it("is refused in a rendered Dockerfile", () => {
    const err = planError({
      "Dockerfile.liquid": "ARG TARGETARCH\n{% arg BASE_IMAGE %}\nFROM ${BASE_IMAGE} AS runtime\nFROM runtime AS dev\n",
    });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(
      "bake/sglang.Dockerfile: ARG TARGETARCH is declared at global scope, which shadows the value BuildKit sets per platform; declare it inside the stage that uses it",
    );
  });

  it("is fine inside a stage", () => {
    expect(analyzeDockerfile("FROM a AS runtime\nARG TARGETARCH\nRUN echo $TARGETARCH\n").problems).toEqual([]);
  });
});

describe("analyzeDockerfile", () => {
  it("reads stages and the stage that first declares each ARG, skipping comments and continued lines", () => {
    const shape = analyzeDockerfile(
      [
        "# ARG COMMENTED",
        "ARG BASE_IMAGE=ubuntu GLOBAL_TWO",
        "FROM --platform=$BUILDPLATFORM ${BASE_IMAGE} AS build",
        "RUN echo \\",
        "  ARG NOT_AN_ARG",
        "arg LOWER=1",
        "FROM build AS runtime",
        "ARG BASE_IMAGE",
        "FROM scratch",
        "ARG IN_UNNAMED",
      ].join("\n"),
    );
    expect(shape.stages).toEqual(["build", "runtime"]);
    expect(Object.fromEntries(shape.args)).toEqual({
      BASE_IMAGE: "",
      GLOBAL_TWO: "",
      LOWER: "build",
      IN_UNNAMED: "#2",
    });
    expect(shape.problems).toEqual([]);
  });

  it("reports a stage defined twice", () => {
    expect(analyzeDockerfile("FROM a AS x\nFROM b AS x\n").problems).toEqual(['stage "x" is defined twice']);
  });
});

describe("{% install_packages %}", () => {
  const PACKAGES =
    "curl apt:libssl-dev deb:git dnf:openssl-devel rpm:rpm-build yum:yum-utils microdnf:shadow-utils apk:musl-dev";

  // prettier-ignore
  it.each<{ pm: PackageManager; command: string; cache: string }>([
    { pm: "apt", command: "    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl libssl-dev git", cache: "--mount=type=cache,target=/var/lib/apt/lists,sharing=locked" },
    { pm: "dnf", command: "    dnf install -y --setopt=keepcache=1 --setopt=install_weak_deps=0 --nodocs curl openssl-devel rpm-build && \\", cache: "--mount=type=cache,target=/var/cache/dnf,sharing=locked" },
    { pm: "microdnf", command: "    microdnf install -y --setopt=keepcache=1 --setopt=install_weak_deps=0 --nodocs curl openssl-devel rpm-build shadow-utils && \\", cache: "--mount=type=cache,target=/var/cache/yum,sharing=locked" },
    { pm: "yum", command: "    yum install -y --setopt=keepcache=1 --setopt=tsflags=nodocs curl rpm-build yum-utils && \\", cache: "--mount=type=cache,target=/var/cache/yum,sharing=locked" },
    { pm: "apk", command: "    apk add --cache-dir /var/cache/apk curl musl-dev", cache: "--mount=type=cache,target=/var/cache/apk,sharing=locked" },
  ])("renders one cached RUN for $pm, keeping only its own prefixed packages", ({ pm, command, cache }) => {
    const text = body(render({ "Dockerfile.liquid": `{% install_packages ${PACKAGES} %}` }, { packageManager: pm }).text);
    expect(text).toBe(installPackages(pm, PACKAGES.split(" ")));
    expect(text.split("\n")).toContain(command);
    expect(text.startsWith("RUN ")).toBe(true);
    expect(text).toContain(cache);
  });

  it("renders the whole apt instruction", () => {
    expect(installPackages("apt", ["curl"])).toBe(
      [
        "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\",
        "    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \\",
        "    rm -f /etc/apt/apt.conf.d/docker-clean && \\",
        "    apt-get update && \\",
        "    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl",
      ].join("\n"),
    );
  });

  it("uses manager= over the variant's package manager", () => {
    const text = render(
      { "Dockerfile.liquid": "{% install_packages manager=dnf apt:x dnf:y z %}" },
      { packageManager: "apt" },
    ).text;
    expect(text).toContain("dnf install -y --setopt=keepcache=1 --setopt=install_weak_deps=0 --nodocs y z && \\");
    expect(text).not.toContain("apt-get");
  });

  it("leaves a comment when no package applies to the manager", () => {
    expect(
      body(render({ "Dockerfile.liquid": "{% install_packages apt:libssl-dev %}" }, { packageManager: "apk" }).text),
    ).toBe("# install_packages: nothing to install with apk");
  });

  it("takes the package manager from the os axis through buildPlan", () => {
    const plan = buildPlan(loadProject(MINI_CONTEXT), templateFiles(), { configLabel: "context.yaml" });
    expect(plan.files.find((f) => f.path === "bake/vllm.Dockerfile")?.content).toContain(
      "apt-get install -y --no-install-recommends curl",
    );
    expect(plan.files.find((f) => f.path === "bake/vllm-ubi.Dockerfile")?.content).toContain(
      "dnf install -y --setopt=keepcache=1 --setopt=install_weak_deps=0 --nodocs curl",
    );
  });

  // prettier-ignore
  it.each([
    { tag: "{% install_packages %}", input: { packageManager: "apt" as const }, message: "{% install_packages %} needs at least one package" },
    { tag: "{% install_packages manager=zypper curl %}", input: {}, message: '{% install_packages %}: unknown manager "zypper"; one of apt, dnf, microdnf, yum, apk' },
    { tag: "{% install_packages curl;rm %}", input: { packageManager: "apt" as const }, message: '{% install_packages %}: "curl;rm" is not a package name' },
    { tag: "{% install_packages curl %}", input: {}, message: "{% install_packages %} needs a package manager: set package_manager on the values of one axis (e.g. os), or write {% install_packages manager=dnf ... %}" },
  ])("refuses $tag", ({ tag, input, message }) => {
    expect(renderError({ "Dockerfile.liquid": tag }, input).message).toContain(message);
  });
});

describe("rendered Dockerfiles", () => {
  it("carry the header, the source markers and tidy blank lines", () => {
    const plan = buildPlan(
      loadProject(MINI_CONTEXT),
      templateFiles({
        "Dockerfile.liquid":
          "{% arg BASE_IMAGE %}\n\n\n\nFROM ${BASE_IMAGE} AS runtime   \n{% arg FW_REF %}\n{% include 'dev' %}",
        "dev.liquid": "FROM runtime AS dev\n\n\n",
      }),
      {
        configLabel: "context.yaml",
      },
    );
    expect(plan.files.find((f) => f.path === "bake/sglang.Dockerfile")?.content).toBe(
      [
        "# Generated by bakeplan from context.yaml and templates/. Do not edit: change those and run `bakeplan plan`.",
        "# Targets: sglang, sglang-dev, sglang-ubi, sglang-ubi-dev",
        "",
        "# --- templates/Dockerfile.liquid ---",
        "ARG BASE_IMAGE=docker.io/library/ubuntu:24.04",
        "",
        "FROM ${BASE_IMAGE} AS runtime",
        "ARG FW_REF=s1",
        "# --- templates/dev.liquid ---",
        "FROM runtime AS dev",
        "",
      ].join("\n"),
    );
  });

  it("put the syntax directive on the first line when build.syntax is set", () => {
    const yaml = MINI_CONTEXT.replace(
      "stage_axis: target\n",
      "stage_axis: target\nbuild: {syntax: docker/dockerfile:1.10}\n",
    );
    const plan = buildPlan(loadProject(yaml), templateFiles(), { configLabel: "context.yaml" });
    expect(plan.files[0]?.content.split("\n").slice(0, 2)).toEqual([
      "# syntax=docker/dockerfile:1.10",
      expect.stringContaining("# Generated by bakeplan"),
    ]);
  });

  it("must define the stage each target builds", () => {
    const err = planError({ "Dockerfile.liquid": "FROM a AS runtime\n" });
    expect(err.message).toContain(
      'context.yaml:21:5: axes.target.dev: Stage "dev" (bake target of vllm-dev, from target=dev) is not defined in bake/sglang.Dockerfile (rendered from templates/Dockerfile.liquid). Stages: runtime',
    );
  });
});

// readTemplates reads files as they are on disk; a template written by a test must round-trip unchanged.
describe("readTemplates", () => {
  it("keys files by their POSIX path relative to the template directory", () => {
    const dir = testdir({ "templates/Dockerfile.liquid": "A", "templates/a/b/c.liquid": "C" });
    writeFileSync(join(dir, "templates", "skip.tmpl"), "x");
    expect(Object.fromEntries(readTemplates(join(dir, "templates"), "templates"))).toEqual({
      "Dockerfile.liquid": "A",
      "a/b/c.liquid": "C",
    });
  });
});
