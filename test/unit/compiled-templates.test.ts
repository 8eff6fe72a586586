// The compiled render path is taken where it should be: for the bundled example and the
// benchmark's templates (no fallback to liquidjs at all), for each form the compiler takes, and
// not for the forms it leaves to liquidjs. Whether its output is liquidjs's is fast-paths.test.ts.
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { readProject } from "../../src/io/project-files.js";
import { liquidjs } from "../../src/render/liquidjs.js";
import { buildPlan } from "../../src/plan/plan.js";
import { TemplateEngine, type RenderInput } from "../../src/render/templates.js";
import { REPO, templateFiles, testdir } from "../helpers.js";

/** Plans the project in `dir` and returns the engine that rendered it. */
function planAndEngine(dir: string): TemplateEngine {
  const spy = vi.spyOn(TemplateEngine.prototype, "render");
  try {
    const project = readProject(join(dir, "context.yaml"));
    buildPlan(project.project, project.templates, { configLabel: "context.yaml" });
    return spy.mock.contexts[0] as TemplateEngine;
  } finally {
    spy.mockRestore();
  }
}

interface BenchGenerator {
  SHAPES: Record<string, unknown>;
  generate(dir: string, shape: unknown): void;
}

describe("compiled renders of real templates", () => {
  it("the bundled example renders compiled, liquidjs never", () => {
    const engine = planAndEngine(REPO);
    expect(engine.fallbacks("Dockerfile.liquid")).toEqual([]);
    expect(engine.counts).toEqual({ compiled: 6, liquidjs: 0, liquidjsNodes: 0 });
  });

  it("the benchmark's generated templates (Dynamo shape) render compiled, liquidjs never", async () => {
    const bench = (await import(join(REPO, "bench", "generate.mjs"))) as BenchGenerator;
    const dir = join(testdir(), "dynamo");
    bench.generate(dir, bench.SHAPES.dynamo);
    const engine = planAndEngine(dir);
    expect(engine.fallbacks("Dockerfile.liquid")).toEqual([]);
    expect(engine.counts).toEqual({ compiled: 239, liquidjs: 0, liquidjsNodes: 0 });
  });
});

const INPUT: RenderInput = {
  scope: { s: "a", v: { x: "b" }, list: ["p", "q"] },
  args: new Map([["A", "1"]]),
  packageManager: "apt",

  variantLabel: "t",
};

function engineFor(main: string) {
  const engine = new TemplateEngine(templateFiles({ "Dockerfile.liquid": main, "part.liquid": "P" }), "templates");
  return { engine, fallbacks: engine.fallbacks("Dockerfile.liquid") };
}

describe("what is compiled", () => {
  // prettier-ignore
  it.each([
    "text only\n",
    "{{ s }} {{ v.x }} {{ v['x'] }} {{- v[\"x\"] -}} {{ list.first }} {{ list.size }} {{ list }}",
    "{% if s == 'a' and v.x != \"c\" or list contains 'p' %}A{% elsif s %}B{% else %}C{% endif %}",
    "{% unless s contains 'z' %}U{% elsif v.x %}V{% else %}W{% endunless %}",
    "{% case s %}\n{% when 'a', 'b' or v.x %}A{% when s %}again{% else %}E{% endcase %}",
    "{% include 'part' %}{% include \"part.liquid\" %}",
    "{% comment %}{{ anything | at_all }}{% assign x = 1 %}{% endcomment %}{% # note %}",
    "{% arg A %}\n{%- install_packages curl apt:git -%}\n",
  ])("%j", (main) => {
    const { engine, fallbacks } = engineFor(main);
    expect(fallbacks).toEqual([]);
    engine.render("Dockerfile.liquid", INPUT);
    expect(engine.counts).toEqual({ compiled: 1, liquidjs: 0, liquidjsNodes: 0 });
  });
});

describe("what liquidjs renders", () => {
  // prettier-ignore
  it.each([
    { main: "x\n{{ s | upcase }}", form: "{{ }} with filters or an expression" },
    { main: "x\n{{ 'lit' }}", form: "{{ }} with filters or an expression" },
    { main: "x\n{% if s > 'a' %}A{% endif %}", form: "{% if %} with a condition it does not compile" },
    { main: "x\n{% case s | upcase %}{% when 'A' %}A{% endcase %}", form: "{% case %} it does not compile" },
    { main: "x\n{% for i in list %}{{ i }}{% endfor %}", form: "{% for %}" },
    { main: "x\n{% echo s %}", form: "{% echo %}" },
    { main: "x\n{% include 'part', s: 'b' %}", form: "{% include %} with parameters or a ./ name" },
    { main: "x\n{% include 'nope' %}", form: "{% include %} of a missing template" },
  ])("renders the node $main in place", ({ main, form }) => {
    const { engine, fallbacks } = engineFor(main);
    expect(fallbacks).toEqual([{ template: "Dockerfile.liquid", line: 2, form, wholeRender: false }]);
    try {
      engine.render("Dockerfile.liquid", INPUT);
    } catch {
      // the missing include
    }
    expect(engine.counts.liquidjs).toBe(0);
  });

  // prettier-ignore
  it.each([
    { main: "x\n{% assign s = 'b' %}{{ s }}", form: "{% assign %}" },
    { main: "x\n{% capture c %}{% endcapture %}", form: "{% capture %}" },
    { main: "x\n{% increment n %}", form: "{% increment %}" },
    { main: "x\n{% raw %}{{ s }}{% endraw %}", form: "{% raw %}" },
    { main: "x\n{% include s %}", form: "an include of a name computed at render time" },
    { main: "x\n{% break %}", form: "{% break %} outside a for loop" },
    { main: "x\n{% if s %}", form: "{% if %} not closed" },
    { main: "x\n{% arg 1X %}", form: '{% arg %}: "1X" is not an ARG name' },
    { main: "x\n{% nope %}", form: "{% nope %}" },
  ])("renders all of $main, because of $form", ({ main, form }) => {
    const { fallbacks } = engineFor(main);
    expect(fallbacks).toEqual([{ template: "Dockerfile.liquid", line: 2, form, wholeRender: true }]);
  });

  it("renders all when an included template needs it, and names that template", () => {
    const engine = new TemplateEngine(
      templateFiles({ "Dockerfile.liquid": "{% include 'part' %}", "part.liquid": "\n\n{% assign x = 1 %}" }),
      "templates",
    );
    expect(engine.fallbacks("Dockerfile.liquid")).toEqual([
      { template: "part.liquid", line: 3, form: "{% assign %}", wholeRender: true },
    ]);
    engine.render("Dockerfile.liquid", INPUT);
    expect(engine.counts).toEqual({ compiled: 0, liquidjs: 1, liquidjsNodes: 0 });
  });

  it("renders all for a scope that is not plain data", () => {
    const { engine } = engineFor("{{ s }}");
    engine.render("Dockerfile.liquid", { ...INPUT, scope: { s: { toLiquid: () => "x" } } });
    engine.render("Dockerfile.liquid", { ...INPUT, scope: { s: new Date(0) } });
    expect(engine.counts).toEqual({ compiled: 0, liquidjs: 2, liquidjsNodes: 0 });
  });
});

describe("liquidjs renders under bakeplan's output limit", () => {
  it("writes each value as liquidjs's own emitter does", () => {
    const { Liquid } = liquidjs();
    const reference = new Liquid({ strictVariables: true, ownPropertyOnly: true });
    const engine = new TemplateEngine(templateFiles({ "Dockerfile.liquid": "{{ v }}" }), "templates", {
      compile: false,
    });
    fc.assert(
      fc.property(fc.anything({ maxDepth: 2, withNullPrototype: true, withBoxedValues: true }), (v) => {
        let expected: string | undefined;
        try {
          expected = `# --- templates/Dockerfile.liquid ---\n${reference.parseAndRenderSync("{{ v }}", { v }) as string}`;
        } catch {
          expected = undefined;
        }
        const actual = () => engine.render("Dockerfile.liquid", { ...INPUT, scope: { v } }).text;
        if (expected === undefined) expect(actual).toThrow();
        else expect(actual()).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
