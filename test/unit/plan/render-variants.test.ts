import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/errors.js";
import { expandMatrix } from "../../../src/matrix/expand.js";
import { renderVariants, templateScope } from "../../../src/plan/render-variants.js";
import { resolveVariants } from "../../../src/plan/resolve-variants.js";
import type { TemplateFiles } from "../../../src/render/templates.js";
import { DEVICE_CONTEXT, DEVICE_TEMPLATE, loadProject, MINI_CONTEXT, templateFiles } from "../../helpers.js";
import { variant } from "./stages.js";

function render(yaml = MINI_CONTEXT, templates: TemplateFiles = templateFiles()) {
  const project = loadProject(yaml);
  const { variants } = expandMatrix(project);
  const valuesOf = resolveVariants(project, variants, []);
  return { project, variants, valuesOf, renderingOf: renderVariants(project, templates, variants, valuesOf) };
}

describe("renderVariants", () => {
  it("renders once per template scope: variants differing only in the stage axis share the rendering", () => {
    const r = render();
    expect(new Set(r.renderingOf.values()).size).toBe(4);
    expect(r.renderingOf.get(variant(r, "vllm"))).toBe(r.renderingOf.get(variant(r, "vllm-dev")));
    expect(r.renderingOf.get(variant(r, "vllm"))).not.toBe(r.renderingOf.get(variant(r, "vllm-ubi")));
  });

  it("gives renders with the same body one Content, each with its own declarations", () => {
    const r = render(MINI_CONTEXT, templateFiles({ "Dockerfile.liquid": "FROM a AS runtime\nFROM runtime AS dev\n" }));
    const renderings = [...new Set(r.renderingOf.values())];
    expect(renderings).toHaveLength(4);
    expect(new Set(renderings.map((x) => x.content)).size).toBe(1);
  });

  it("passes each variant's package manager and tidies the text", () => {
    const r = render();
    const body = (name: string) => r.renderingOf.get(variant(r, name))!.content.body;
    expect(body("vllm")).toContain("apt-get install");
    expect(body("vllm-ubi")).toContain("dnf install");
    expect(body("vllm")).not.toMatch(/\n\n\n/);
    expect(r.renderingOf.get(variant(r, "vllm"))!.declared.map((d) => `${d.name} ${d.template}:${d.line}`)).toEqual([
      "BASE_IMAGE Dockerfile.liquid:1",
      "FW_REF Dockerfile.liquid:3",
    ]);
  });

  it("refuses an include cycle at the include, under the template directory label", () => {
    const yaml = MINI_CONTEXT.replace("stage_axis:", "build:\n  templates: ./tpl/\nstage_axis:");
    const files = templateFiles({
      "Dockerfile.liquid": "{% include 'a' %}",
      "a.liquid": "\n{% include 'Dockerfile' %}",
    });
    let error: unknown;
    try {
      render(yaml, files);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(/^tpl\/a\.liquid:2:\d+: Include cycle: /);
  });
});

describe("renderVariants: templates that read the stage axis", () => {
  const branching = (cond: string) =>
    templateFiles({
      "Dockerfile.liquid": `FROM a AS runtime\n{% if ${cond} %}RUN extra\n{% endif %}FROM runtime AS dev\n`,
    });

  it("render each value of the stage axis on its own; equal text still shares one Content", () => {
    const r = render(MINI_CONTEXT, branching('target == "dev"'));
    expect(new Set(r.renderingOf.values()).size).toBe(8);
    const body = (name: string) => r.renderingOf.get(variant(r, name))!.content;
    expect(body("vllm-dev").body).toContain("RUN extra");
    expect(body("vllm").body).not.toContain("RUN extra");
    // framework and os do not change the text: one Content per stage value.
    expect(new Set([...r.renderingOf.values()].map((x) => x.content)).size).toBe(2);
    expect(body("vllm-dev")).toBe(body("sglang-ubi-dev"));
  });

  it("is in the scope as a variable only where a template's tag or output names it", () => {
    const r = render();
    const v = variant(r, "vllm-dev");
    expect(templateScope(r.project, v, r.valuesOf.get(v)!)).toHaveProperty("target", "dev");
    // Named only in text ("--target" in a RUN line): not a read, the renders stay shared.
    const text = render(
      MINI_CONTEXT,
      templateFiles({ "Dockerfile.liquid": "FROM a AS runtime\nRUN x --target=1\nFROM runtime AS dev\n" }),
    );
    expect(new Set(text.renderingOf.values()).size).toBe(4);
    // A variable looked up by a computed name could be the stage axis: rendered on its own.
    const computed = render(
      MINI_CONTEXT,
      templateFiles({
        "Dockerfile.liquid":
          '{% assign k = "tar" | append: "get" %}FROM a AS runtime\n{% if [k] == "dev" %}RUN extra\n{% endif %}FROM runtime AS dev\n',
      }),
    );
    expect(new Set(computed.renderingOf.values()).size).toBe(8);
  });

  it("its value's vars and the values of layers naming it render per value too", () => {
    const yaml = MINI_CONTEXT.replace("    dev: {}", '    dev:\n      vars: {debug: "1"}').replace(
      '      name: ""\n    dev',
      '      name: ""\n      vars: {debug: "0"}\n    dev',
    );
    const r = render(yaml, branching('vars.debug == "1"'));
    const body = (name: string) => r.renderingOf.get(variant(r, name))!.content.body;
    expect(body("vllm-dev")).toContain("RUN extra");
    expect(body("vllm")).not.toContain("RUN extra");
  });
});

describe("templateScope", () => {
  it("holds the axes, vars, sorted args and the project name", () => {
    const yaml = MINI_CONTEXT.replace(
      "      package_manager: dnf",
      "      package_manager: dnf\n      vars: {family: rhel}",
    );
    const r = render(yaml);
    const v = variant(r, "vllm-ubi-dev");
    const scope = templateScope(r.project, v, r.valuesOf.get(v)!);
    expect(scope).toEqual({
      framework: "vllm",
      os: "ubi",
      target: "dev",
      vars: { family: "rhel" },
      args: { BASE_IMAGE: "docker.io/library/ubuntu:24.04", FW_REF: "v1" },
      project: { name: "demo" },
    });
    expect(Object.keys(scope.args as object)).toEqual(["BASE_IMAGE", "FW_REF"]);
    expect(templateScope(r.project, v, r.valuesOf.get(v)!, { omit: "target" })).not.toHaveProperty("target");
  });
});

describe("renderVariants: tidying", () => {
  const messy = "\n\nFROM a AS runtime  \n\n\n\nRUN x\t\n  RUN indented\nFROM runtime AS dev\n\n\n";
  const body = (yaml: string) => {
    const r = render(yaml, templateFiles({ "Dockerfile.liquid": messy }));
    return r.renderingOf.get(variant(r, "vllm"))!.content.body;
  };

  it("trims line ends, collapses blank lines, drops final blank lines; nothing else", () => {
    // The marker comes first, so the template's leading blank lines are a run after it.
    expect(body(MINI_CONTEXT)).toBe(
      "# --- templates/Dockerfile.liquid ---\n\nFROM a AS runtime\n\nRUN x\n  RUN indented\nFROM runtime AS dev\n",
    );
  });

  it("is off with build.tidy: false: the body is what the templates render, markers included", () => {
    const yaml = MINI_CONTEXT.replace("axes:\n", "build:\n  tidy: false\naxes:\n");
    expect(body(yaml)).toBe(`# --- templates/Dockerfile.liquid ---\n${messy}`);
  });
});

describe("templateScope of an axis that does not apply (axes.AXIS.when)", () => {
  it("holds the axis as nil, so templates test it; variants without it render once per device", () => {
    const r = render(DEVICE_CONTEXT, templateFiles({ "Dockerfile.liquid": DEVICE_TEMPLATE }));
    const xpu = variant(r, "vllm-xpu");
    const scope = templateScope(r.project, xpu, r.valuesOf.get(xpu)!);
    expect(Object.hasOwn(scope, "cuda")).toBe(true);
    expect(scope.cuda).toBeNull();
    expect(scope).toMatchObject({ framework: "vllm", device: "xpu" });
    expect(templateScope(r.project, variant(r, "vllm-cuda12"), r.valuesOf.get(variant(r, "vllm-cuda12"))!).cuda).toBe(
      "12.9",
    );
    expect(r.renderingOf.get(xpu)!.content).not.toBe(r.renderingOf.get(variant(r, "vllm-cpu"))!.content);
    expect(r.renderingOf.get(xpu)).toBe(r.renderingOf.get(variant(r, "vllm-xpu-dev")));
  });
});
