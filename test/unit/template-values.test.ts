// Template values (`vars`): layers, precedence, --set vars.NAME, provenance in explain, nil where unset.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TemplateEngine } from "../../src/render/templates.js";
import {
  DEVICE_CONTEXT,
  DEVICE_TEMPLATE,
  MINI_CONTEXT,
  MINI_TEMPLATE,
  miniProject,
  runCli,
  templateFiles,
} from "../helpers.js";

// The combination starts on line 34 (MINI_CONTEXT is 30 lines, plus two).
const VARS =
  MINI_CONTEXT.replace("  images:\n", '  vars: {python: "3.12.13", setuptools: "79.0.1"}\n  images:\n').replace(
    "        FW_REF: s1\n",
    "        FW_REF: s1\n      vars: {python: 3.11.15}\n",
  ) +
  "combinations:\n" +
  "  - when: {framework: sglang, os: ubi}\n" +
  '    vars: {python: "3.9.25", wheel: "0.45"}\n';

const TEMPLATE = `${MINI_TEMPLATE}ENV PYTHON_VERSION={{ vars.python }}
{% if vars.setuptools %}RUN pip install setuptools=={{ vars.setuptools }}
{% endif %}{% if vars.wheel %}RUN pip install wheel=={{ vars.wheel }}
{% endif %}`;

function plan(yaml: string, template = TEMPLATE, args: string[] = []) {
  const dir = miniProject({ "context.yaml": yaml, "templates/Dockerfile.liquid": template });
  return { dir, res: runCli(["plan", ...args], dir) };
}

const dockerfile = (dir: string, name: string) => readFileSync(join(dir, "bake", `${name}.Dockerfile`), "utf8");

describe("template values", () => {
  it("take defaults, axis values and combinations by precedence, and --set vars.NAME over all", async () => {
    const { dir, res } = plan(VARS);
    expect((await res).code).toBe(0);
    expect(dockerfile(dir, "vllm")).toContain("ENV PYTHON_VERSION=3.12.13\nRUN pip install setuptools==79.0.1\n");
    expect(dockerfile(dir, "sglang")).toContain("ENV PYTHON_VERSION=3.11.15\n");
    // The combination naming two axes wins over the axis value.
    expect(dockerfile(dir, "sglang-ubi")).toContain(
      "ENV PYTHON_VERSION=3.9.25\nRUN pip install setuptools==79.0.1\nRUN pip install wheel==0.45\n",
    );
    const set = plan(VARS, TEMPLATE, ["--set", "vars.python=3.14.0"]);
    expect((await set.res).code).toBe(0);
    expect(dockerfile(set.dir, "sglang-ubi")).toContain("ENV PYTHON_VERSION=3.14.0\n");
  });

  it("that no layer sets for a variant are nil: a template tests them without an error or a placeholder", async () => {
    const { dir, res } = plan(VARS);
    expect((await res).stderr).toBe("");
    expect(dockerfile(dir, "vllm")).not.toContain("wheel");
  });

  it("keep undeclared names strict, with the closest name", async () => {
    const { res } = plan(VARS, `${MINI_TEMPLATE}{% if vars.setuptool %}RUN x{% endif %}\n`);
    const { code, stderr } = await res;
    expect(code).toBe(1);
    expect(stderr).toContain(
      "templates/Dockerfile.liquid:7:7: undefined variable: vars.setuptool. Did you mean vars.setuptools? (rendering",
    );
    const root = await plan(VARS, `${MINI_TEMPLATE}RUN echo {{ framwork }}\n`).res;
    expect(root.stderr).toContain("undefined variable: framwork. Did you mean framework? (rendering");
  });

  it("are explained with their source, key path and layer, unset ones as nil", async () => {
    const dir = miniProject({ "context.yaml": VARS, "templates/Dockerfile.liquid": TEMPLATE });
    const res = await runCli(["explain", "sglang-ubi", "vars.python", "vars.wheel"], dir);
    expect(res.code).toBe(0);
    expect(res.stdout.split("\n").slice(-4)).toEqual([
      "TEMPLATE VALUE  VALUE     SOURCE                                           LAYER",
      'vars.python     "3.9.25"  context.yaml:35:20: combinations[0].vars.python  framework=sglang, os=ubi',
      'vars.wheel      "0.45"    context.yaml:35:37: combinations[0].vars.wheel   framework=sglang, os=ubi',
      "",
    ]);
    const all = await runCli(["explain", "vllm", "--set", "vars.python=3.14.0"], dir);
    expect(all.stdout).toMatch(/vars\.python +"3\.14\.0" +command line: --set vars\.python +--set\n/);
    expect(all.stdout).toMatch(
      /vars\.setuptools +"79\.0\.1" +context\.yaml:26:41: defaults\.vars\.setuptools +defaults\n/,
    );
    expect(all.stdout).toMatch(/vars\.wheel +\(unset: nil\) +- +-\n/);
    const typo = await runCli(["explain", "vllm", "vars.pyton"], dir);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("No layer sets the template value vars.pyton. Did you mean vars.python?");
  });

  it("of the same rank that disagree are an error naming both", async () => {
    const yaml = VARS.replace("    ubi:\n", "    ubi:\n      vars: {python: 3.10.19}\n").replace(
      /combinations:\n[^]*$/,
      "",
    );
    const { code, stderr } = await plan(yaml).res;
    expect(code).toBe(1);
    expect(stderr).toContain(
      'Conflicting values for var python in sglang-ubi: "3.11.15" from framework=sglang and "3.10.19" from os=ubi, at the same precedence',
    );
  });

  it("are refused with a line break, and an unknown --set vars.NAME is refused", async () => {
    const broken = await plan(VARS.replace('python: "3.12.13"', 'python: "3.12\\nRUN evil"')).res;
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(
      "context.yaml:26:18: defaults.vars.python: The template value vars.python contains a line break, which would start a new Dockerfile instruction; use a single line",
    );
    const unknown = await plan(VARS, TEMPLATE, ["--set", "vars.pyhton=3"]).res;
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("--set vars.pyhton: No layer of context.yaml sets the template value pyhton");
  });

  it("nil renders the same compiled and by liquidjs", () => {
    const files = templateFiles({
      "Dockerfile.liquid":
        "{% if vars.a %}set{% else %}unset{% endif %} [{{ vars.a }}] {% if vars.a == nil %}nil{% endif %}\n",
    });
    const input = { scope: { vars: { a: null } }, args: new Map<string, string>(), variantLabel: "t" };
    const compiled = new TemplateEngine(files, "templates").render("Dockerfile.liquid", input);
    const liquid = new TemplateEngine(files, "templates", { compile: false }).render("Dockerfile.liquid", input);
    expect(compiled.text).toBe(liquid.text);
    expect(compiled.text).toContain("unset [] nil");
  });
});

describe("an axis that does not apply (axes.AXIS.when)", () => {
  const device = (template = DEVICE_TEMPLATE) =>
    miniProject({ "context.yaml": DEVICE_CONTEXT, "templates/Dockerfile.liquid": template });

  it("is nil in templates: {% if cuda %} tests it, {{ cuda }} writes nothing", async () => {
    const dir = device();
    const res = await runCli(["plan"], dir);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(dockerfile(dir, "vllm-xpu")).toContain(
      "FROM ${BASE_IMAGE} AS runtime\nRUN echo xpu without cuda\nFROM runtime AS dev\n",
    );
    expect(dockerfile(dir, "sglang-cuda12")).toContain("ARG CUDA_VERSION=12.9\nRUN echo cuda 12.9\n");
    // liquidjs (a filter) sees the same nil.
    const filtered = device(DEVICE_TEMPLATE.replace("without cuda{{ cuda }}", "without cuda{{ cuda | upcase }}"));
    expect((await runCli(["plan"], filtered)).code).toBe(0);
    expect(dockerfile(filtered, "vllm-cpu")).toContain("RUN echo cpu without cuda\n");
  });

  it("while a misspelt axis name stays an undefined variable, with the closest name", async () => {
    const res = await runCli(["plan"], device(DEVICE_TEMPLATE.replace("{% if cuda %}", "{% if cud %}")));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "templates/Dockerfile.liquid:3:7: undefined variable: cud. Did you mean cuda? (rendering",
    );
  });

  it("is absent in list (a dash, null in --json) and explain says which when restricts it, located", async () => {
    const dir = device();
    const list = await runCli(["list"], dir);
    expect(list.stdout).toMatch(/\nvllm-xpu +vllm +xpu +- +runtime +linux\/amd64 +bake\/vllm-xpu\.Dockerfile\n/);
    const json = JSON.parse((await runCli(["list", "--json"], dir)).stdout) as { name: string; values: unknown }[];
    expect(json.find((r) => r.name === "vllm-xpu")!.values).toEqual({
      framework: "vllm",
      device: "xpu",
      cuda: null,
      target: "runtime",
    });
    const explain = await runCli(["explain", "vllm-xpu"], dir);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain(
      "vllm-xpu (framework=vllm, device=xpu, target=runtime)\n  cuda: absent, applies only where device=cuda (context.yaml:9:5: axes.cuda.when)\n",
    );
    expect(explain.stdout).toContain("  tag: registry.example.com/demo/app:vllm-runtime-xpu\n");
    expect(explain.stdout).not.toContain("CUDA_VERSION");
    expect((await runCli(["explain", "vllm-cuda12"], dir)).stdout).not.toContain("absent");
  });
});
