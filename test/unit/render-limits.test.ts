// Templates render under limits.render_ms, limits.render_chars and limits.template_chars, on the
// compiled path and on liquidjs's, and a render stopped by one names the template line, the limit
// and how to raise it. Small limits keep every case fast.
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { buildPlan } from "../../src/plan/plan.js";
import { TemplateEngine, type TemplateEngineOptions } from "../../src/render/templates.js";
import { loadProject, MINI_CONTEXT, templateFiles } from "../helpers.js";

const SCOPE = { s: "0123456789", list: ["0123456789", "0123456789", "0123456789", "0123456789", "0123456789"] };

function renderError(files: Record<string, string>, options: TemplateEngineOptions): UserError {
  const engine = new TemplateEngine(templateFiles(files), "templates", options);
  const compiled = !engine.fallbacks("Dockerfile.liquid").some((f) => f.wholeRender);
  expect(compiled).toBe(options.compile !== false);
  try {
    // The inputs would take hours to render in full: a render the limit does not stop fails on
    // vitest's test timeout, and the message says which limit stopped it (no timed assertion).
    engine.render("Dockerfile.liquid", { scope: SCOPE, args: new Map(), variantLabel: "t" });
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}

/** t0 includes t1 twice, t1 includes t2 twice, ...: 2^depth renders of the last one. */
function includeDiamond(depth: number, last: string): Record<string, string> {
  const files: Record<string, string> = { "Dockerfile.liquid": "FROM a\n{% include 't0' %}" };
  for (let i = 0; i < depth; i++) files[`t${i}.liquid`] = `{% include 't${i + 1}' %}\n{% include 't${i + 1}' %}`;
  files[`t${depth}.liquid`] = last;
  return files;
}

const PATHS = [
  { path: "compiled", compile: true },
  { path: "liquidjs", compile: false },
] as const;

describe.each(PATHS)("on the $path path", ({ compile }) => {
  it("limits.render_chars stops a render that writes too much, at the node that crossed it", () => {
    const err = renderError(
      { "Dockerfile.liquid": "FROM a\n{{ s }}{{ s }}\n{{ s }}{{ s }}" },
      {
        compile,
        limits: { renderChars: 80 },
      },
    );
    expect(err.message).toBe(
      "templates/Dockerfile.liquid:3:8: The rendered text grew past limits.render_chars (80 characters); raise limits.render_chars in context.yaml if the Dockerfile is meant to be that long (rendering t)",
    );
  });

  it("limits.render_chars stops includes that multiply the output", () => {
    const err = renderError(includeDiamond(30, "RUN x"), { compile, limits: { renderChars: 100_000 } });
    expect(err.message).toMatch(
      /^templates\/t\d+\.liquid:[12]:1: The rendered text grew past limits\.render_chars \(100000 characters\)/,
    );
  });

  it("limits.render_ms stops includes that multiply the work", () => {
    const err = renderError(includeDiamond(40, ""), { compile, limits: { renderMs: 50, renderChars: 1e12 } });
    expect(err.message).toMatch(
      /^templates\/t\d+\.liquid:[12]:1: Rendering took longer than limits\.render_ms allows \(50 ms for all renders of one run\); raise limits\.render_ms in context\.yaml if the templates need more \(rendering t\)$/,
    );
  });

  it("limits.template_chars refuses an included template over it, where it is included", () => {
    const files = { "Dockerfile.liquid": "FROM a\n{% include 'big' %}", "big.liquid": "x".repeat(101) };
    const err = renderError(files, { compile, limits: { templateChars: 100 } });
    expect(err.message).toBe(
      "templates/Dockerfile.liquid:2:1: templates/big.liquid has 101 characters, more than limits.template_chars allows (100); raise limits.template_chars in context.yaml if it is meant to be that large (rendering t)",
    );
  });

  it("limits.template_chars refuses the top-level template over it", () => {
    const err = renderError({ "Dockerfile.liquid": "x".repeat(101) }, { compile, limits: { templateChars: 100 } });
    expect(err.message).toBe(
      "templates/Dockerfile.liquid: templates/Dockerfile.liquid has 101 characters, more than limits.template_chars allows (100); raise limits.template_chars in context.yaml if it is meant to be that large (rendering t)",
    );
  });
});

describe("liquidjs's own loops", () => {
  // The compiled path has no loops: a for loop is a liquid node, rendered by liquidjs under the run's limits.
  it.each(PATHS)("limits.render_chars stops a loop that writes too much ($path path)", ({ compile }) => {
    const main = "FROM a\n{% for x in list %}{{ x }}{% endfor %}";
    const err = renderError({ "Dockerfile.liquid": main }, { compile, limits: { renderChars: 80 } });
    expect(err.message).toMatch(
      /^templates\/Dockerfile\.liquid:2:20: The rendered text grew past limits\.render_chars \(80/,
    );
  });

  it.each(PATHS)("limits.render_chars refuses a range of 10^8 at once, by default ($path path)", ({ compile }) => {
    const main = "FROM a\n{{ s }}{% for i in (1..100000000) %}x{% endfor %}";
    const err = renderError({ "Dockerfile.liquid": main }, { compile });
    expect(err.message).toBe(
      "templates/Dockerfile.liquid:2:8: The template built more than limits.render_chars allows (16777216 characters in ranges and filter results); raise limits.render_chars in context.yaml if it is meant to (rendering t)",
    );
  });

  it.each(PATHS)("limits.render_ms stops nested loops ($path path)", ({ compile }) => {
    const main = "FROM a\n{{ s }}{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}";
    const err = renderError({ "Dockerfile.liquid": main }, { compile, limits: { renderMs: 50, renderChars: 1e12 } });
    expect(err.message).toMatch(
      /^templates\/Dockerfile\.liquid:2:\d+: Rendering took longer than limits\.render_ms allows \(50 ms for all renders of one run\)/,
    );
  });
});

describe("limits in context.yaml", () => {
  it("reach the renders of a plan", () => {
    const yaml = `${MINI_CONTEXT}limits:\n  render_chars: 50\n`;
    expect(() =>
      buildPlan(
        loadProject(yaml),
        templateFiles({ "Dockerfile.liquid": `FROM a AS runtime\n${"RUN x\n".repeat(20)}` }),
        {
          configLabel: "context.yaml",
        },
      ),
    ).toThrow("The rendered text grew past limits.render_chars (50 characters)");
  });

  it("count render_ms over all renders of a run", () => {
    const engine = new TemplateEngine(templateFiles(includeDiamond(14, "RUN x")), "templates", {
      limits: { renderMs: 200, renderChars: 1e12 },
    });
    const input = { scope: SCOPE, args: new Map(), variantLabel: "t" };
    expect(() => {
      for (let i = 0; i < 100_000; i++) engine.render("Dockerfile.liquid", input);
    }).toThrow("Rendering took longer than limits.render_ms allows (200 ms for all renders of one run)");
  });
});
