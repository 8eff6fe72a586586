// Derived ARG defaults (`args: {X: {derived: "...${Y#*==}"}}`): written unescaped for BuildKit to
// expand, never a build arg, shown as derived by explain; only BuildKit's expansion forms stay
// unescaped; a plain value holding "${" and a derived default reading an undeclared ARG warn.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { argDeclarations, expandWord } from "../../src/render/instructions.js";
import { derivedArgValue, derivedNames, derivedProblem } from "../../src/values.js";
import { runCli, testdir } from "../helpers.js";

// Dynamo's trtllm Dockerfile: TRTLLM_WHEEL_IMAGE=nvcr.io/nvidia/tensorrt-llm/release:${TENSORRTLLM_PIP_WHEEL#*==}
const CONTEXT = `project: { name: demo }
axes:
  framework:
    trtllm:
      args:
        TENSORRTLLM_PIP_WHEEL: tensorrt-llm==1.3.0rc11
        TRTLLM_WHEEL_IMAGE: { derived: "nvcr.io/nvidia/tensorrt-llm/release:\${TENSORRTLLM_PIP_WHEEL#*==}" }
    vllm:
      args:
        VLLM_REF: v0.19.1
defaults:
  images:
    BASE_IMAGE: docker.io/library/ubuntu:24.04
publish:
  registry: registry.example.com
  repository: demo/app
  tags: ["{name}"]
`;

const TEMPLATE = `{% arg BASE_IMAGE %}
{% if framework == "trtllm" %}{% arg TENSORRTLLM_PIP_WHEEL TRTLLM_WHEEL_IMAGE %}
FROM \${TRTLLM_WHEEL_IMAGE} AS wheel
{% endif %}FROM \${BASE_IMAGE} AS runtime
{% if framework == "vllm" %}{% arg VLLM_REF %}{% endif %}
`;

function project(yaml = CONTEXT, template = TEMPLATE) {
  return testdir({ "context.yaml": yaml, "templates/Dockerfile.liquid": template });
}

const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");

describe("derived ARG defaults", () => {
  it("are written unescaped as the Dockerfile ARG default and not sent as bake args", async () => {
    const dir = project();
    const res = await runCli(["plan"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe("");
    const df = read(dir, "bake/trtllm.Dockerfile");
    expect(df).toContain(
      "ARG TENSORRTLLM_PIP_WHEEL=tensorrt-llm==1.3.0rc11\nARG TRTLLM_WHEEL_IMAGE=nvcr.io/nvidia/tensorrt-llm/release:${TENSORRTLLM_PIP_WHEEL#*==}\n",
    );
    const bake = JSON.parse(read(dir, "docker-bake.json")) as { target: Record<string, { args: object }> };
    // The source ARG is a build arg; the derived one is left to BuildKit (a build arg would be its literal text).
    expect(bake.target.trtllm!.args).toEqual({
      BASE_IMAGE: "docker.io/library/ubuntu:24.04",
      TENSORRTLLM_PIP_WHEEL: "tensorrt-llm==1.3.0rc11",
    });
  });

  it("show in explain as derived, with their expansion, source and declaring stage", async () => {
    const dir = project();
    const res = await runCli(["explain", "trtllm", "TRTLLM_WHEEL_IMAGE"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /^TRTLLM_WHEEL_IMAGE +derived "nvcr\.io\/nvidia\/tensorrt-llm\/release:\$\{TENSORRTLLM_PIP_WHEEL#\*==\}" = "nvcr\.io\/nvidia\/tensorrt-llm\/release:1\.3\.0rc11" +context\.yaml:7:40: axes\.framework\.trtllm\.args\.TRTLLM_WHEEL_IMAGE\.derived +framework=trtllm +global \(templates\/Dockerfile\.liquid:2\); BuildKit expands it \(not a build arg\)$/m,
    );
  });

  it("quote the text around the expansion when it needs quotes, leaving ${...} for BuildKit", async () => {
    const yaml = CONTEXT.replace(
      "        VLLM_REF: v0.19.1\n",
      `        VLLM_REF: v0.19.1\n        VLLM_NOTE: { derived: 'vLLM "\${VLLM_REF:-main}" for \${VLLM_REF%%.*}' }\n`,
    );
    const dir = project(yaml, TEMPLATE.replace("{% arg VLLM_REF %}", "{% arg VLLM_REF VLLM_NOTE %}"));
    const res = await runCli(["plan"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(read(dir, "bake/vllm.Dockerfile")).toContain(
      'ARG VLLM_NOTE="vLLM \\"${VLLM_REF:-main}\\" for ${VLLM_REF%%.*}"\n',
    );
  });

  it("render apart from a plain value of the same text (the written line differs)", async () => {
    const yaml = CONTEXT.replace(
      "        VLLM_REF: v0.19.1\n",
      '        VLLM_REF: v0.19.1\n        TENSORRTLLM_PIP_WHEEL: tensorrt-llm==1.3.0rc11\n        TRTLLM_WHEEL_IMAGE: "nvcr.io/nvidia/tensorrt-llm/release:${TENSORRTLLM_PIP_WHEEL#*==}"\n',
    );
    const dir = project(
      yaml,
      TEMPLATE.replace(/\{% if framework == "trtllm" %\}|\{% endif %\}FROM/g, (m) =>
        m.startsWith("{% if") ? "" : "FROM",
      ),
    );
    const res = await runCli(["plan"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(read(dir, "bake/trtllm.Dockerfile")).toContain("release:${TENSORRTLLM_PIP_WHEEL#*==}\n");
    expect(read(dir, "bake/vllm.Dockerfile")).toContain(
      'ARG TRTLLM_WHEEL_IMAGE="nvcr.io/nvidia/tensorrt-llm/release:\\${TENSORRTLLM_PIP_WHEEL#*==}"\n',
    );
  });

  it("a plain value holding ${ warns, naming its context.yaml key and the {% arg %} line", async () => {
    const yaml = CONTEXT.replace(
      "        VLLM_REF: v0.19.1\n",
      '        VLLM_REF: v0.19.1\n        VLLM_IMAGE: "vllm/vllm:${VLLM_REF}"\n',
    );
    const dir = project(yaml, TEMPLATE.replace("{% arg VLLM_REF %}", "{% arg VLLM_REF VLLM_IMAGE %}"));
    const res = await runCli(["plan"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe(
      'bakeplan: warning: context.yaml:11:21: axes.framework.vllm.args.VLLM_IMAGE: ARG VLLM_IMAGE holds "${" but is a plain value: {% arg VLLM_IMAGE %} at templates/Dockerfile.liquid:5 writes it escaped, so BuildKit reads those characters and expands nothing. For a default BuildKit expands from other ARGs, write VLLM_IMAGE: {derived: "vllm/vllm:${VLLM_REF}"}\n',
    );
    // Still written literally, as before: the warning changes nothing.
    expect(read(dir, "bake/vllm.Dockerfile")).toContain('ARG VLLM_IMAGE="vllm/vllm:\\${VLLM_REF}"\n');
  });

  it("reading an ARG not declared before it in its stage warns (BuildKit expands it to an empty string)", async () => {
    // TENSORRTLLM_PIP_WHEEL is declared in the global scope, but the stage declares only TRTLLM_WHEEL_IMAGE.
    const template = `{% arg BASE_IMAGE %}{% if framework == "trtllm" %}{% arg TENSORRTLLM_PIP_WHEEL %}{% endif %}
FROM \${BASE_IMAGE} AS runtime
ENV FROM_ENV=1
{% if framework == "trtllm" %}{% arg TRTLLM_WHEEL_IMAGE %}{% endif %}
{% if framework == "vllm" %}{% arg VLLM_REF %}{% endif %}
`;
    const yaml = CONTEXT.replace(
      "${TENSORRTLLM_PIP_WHEEL#*==}",
      "${TENSORRTLLM_PIP_WHEEL#*==}-${FROM_ENV}-${UNSET:-x}-${TARGETARCH}",
    );
    const dir = project(yaml, template);
    const res = await runCli(["plan"], dir);
    expect(res.code, res.stderr).toBe(0);
    const warnings = res.stderr.trim().split("\n");
    // ENV before it counts as declared; ${UNSET:-x} says what to write when unset.
    expect(warnings).toEqual([
      "bakeplan: warning: context.yaml:7:40: axes.framework.trtllm.args.TRTLLM_WHEEL_IMAGE.derived: ARG TRTLLM_WHEEL_IMAGE's derived default reads ${TENSORRTLLM_PIP_WHEEL}, which is not declared before it in stage runtime (templates/Dockerfile.liquid:4); BuildKit expands it to an empty string unless the base image sets TENSORRTLLM_PIP_WHEEL as ENV. Declare TENSORRTLLM_PIP_WHEEL above it ({% arg TENSORRTLLM_PIP_WHEEL %}, or ARG TENSORRTLLM_PIP_WHEEL to inherit a global one)",
      "bakeplan: warning: context.yaml:7:40: axes.framework.trtllm.args.TRTLLM_WHEEL_IMAGE.derived: ARG TRTLLM_WHEEL_IMAGE's derived default reads ${TARGETARCH}, which is not declared before it in stage runtime (templates/Dockerfile.liquid:4); BuildKit expands it to an empty string unless the base image sets TARGETARCH as ENV. Declare TARGETARCH above it (a plain ARG TARGETARCH)",
    ]);
    // In the global scope, the platform ARGs are predefined and an earlier global ARG counts.
    const global = await runCli(["plan"], project(yaml.replace("-${FROM_ENV}", ""), TEMPLATE));
    expect(global.code, global.stderr).toBe(0);
    expect(global.stderr).toBe("");
  });

  it.each([
    ["a bare $NAME", "x-$TENSORRTLLM_PIP_WHEEL", 'Every "$" of a derived default must open ${NAME} (at character 3)'],
    ["a literal $", "cost: 5$", 'Every "$" of a derived default must open ${NAME} (at character 8)'],
    ["no expansion at all", "plain", 'It has no ${NAME} for BuildKit to expand; write it as a plain value ("plain")'],
    ["an error-if-unset form", "${A:?unset}", "${A:... is not a form bakeplan keeps for BuildKit to expand"],
    ["a replacement form", "${A/x/y}", "${A/... is not a form bakeplan keeps for BuildKit to expand"],
    ["a quote that would close the ARG", '${A:-x"y}', 'The word of ${A:-...} contains "\\"" (at character 7)'],
    ["a blank in a word", "${A:-x y}", 'The word of ${A:-...} contains " " (at character 7)'],
    ["a backslash in a pattern", "${A#x\\}", 'The word of ${A#...} contains "\\\\" (at character 6)'],
    ["an unclosed form", "x:${A", '${A... is not closed with "}" (at character 3)'],
    ["a form without a name", "${:-x}", '"${" must be followed by an ARG name (at character 1)'],
    ["nesting past 4 levels", "${A:-${B:-${C:-${D:-${E}}}}}", "${...} nests more than 4 deep"],
  ])("refuse %s, located at the derived key", async (_what, value, message) => {
    const yaml = CONTEXT.replace(
      '{ derived: "nvcr.io/nvidia/tensorrt-llm/release:${TENSORRTLLM_PIP_WHEEL#*==}" }',
      `{ derived: ${JSON.stringify(value)} }`,
    );
    const dir = project(yaml);
    const res = await runCli(["plan"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `context.yaml:7:40: axes.framework.trtllm.args.TRTLLM_WHEEL_IMAGE.derived: ARG TRTLLM_WHEEL_IMAGE: ${message}`,
    );
    expect(() => read(dir, "docker-bake.json")).toThrow();
  });

  it("refuse a line break and a trailing backslash as every ARG does", async () => {
    for (const [value, message] of [
      ["a\\n${A}", "The ARG TRTLLM_WHEEL_IMAGE contains a line break"],
      ["${A}x\\\\", "The ARG TRTLLM_WHEEL_IMAGE ends with a backslash"],
    ] as const) {
      const yaml = CONTEXT.replace(
        '{ derived: "nvcr.io/nvidia/tensorrt-llm/release:${TENSORRTLLM_PIP_WHEEL#*==}" }',
        `{ derived: "${value}" }`,
      );
      const res = await runCli(["plan"], project(yaml));
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(
        `context.yaml:7:40: axes.framework.trtllm.args.TRTLLM_WHEEL_IMAGE.derived: ${message}`,
      );
    }
  });

  it("a misspelt key or a number is reported as for a plain value", async () => {
    const misspelt = await runCli(
      ["plan"],
      project(
        CONTEXT.replace("{ derived: ", "{ derive: ").replace("        VLLM_REF: v0.19.1", "        VLLM_REF: 10"),
      ),
    );
    expect(misspelt.code).toBe(1);
    expect(misspelt.stderr).toContain(
      'context.yaml:7:31: axes.framework.trtllm.args.TRTLLM_WHEEL_IMAGE.derive: Unknown key "derive". Did you mean "derived"?',
    );
    expect(misspelt.stderr).toContain(
      'context.yaml:10:19: axes.framework.vllm.args.VLLM_REF: Invalid type: expected a string, but YAML reads 10 as the number 10. Quote it: "10"',
    );
  });

  it("a derived and a plain value of one ARG at the same precedence conflict", async () => {
    const yaml = CONTEXT.replace(
      "defaults:\n",
      'combinations:\n  - when: { framework: trtllm }\n    args: { TRTLLM_WHEEL_IMAGE: { derived: "${TENSORRTLLM_PIP_WHEEL}" } }\n  - when: { framework: trtllm }\n    args: { TRTLLM_WHEEL_IMAGE: "${TENSORRTLLM_PIP_WHEEL}" }\ndefaults:\n',
    );
    const res = await runCli(["plan"], project(yaml));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'Conflicting values for ARG TRTLLM_WHEEL_IMAGE in trtllm: derived "${TENSORRTLLM_PIP_WHEEL}" from framework=trtllm and "${TENSORRTLLM_PIP_WHEEL}" from framework=trtllm',
    );
  });

  it("--set replaces a derived default with a plain value, sent as a build arg", async () => {
    const dir = project();
    const res = await runCli(["plan", "--set", "TRTLLM_WHEEL_IMAGE=nvcr.io/x:1"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(read(dir, "bake/trtllm.Dockerfile")).toContain("ARG TRTLLM_WHEEL_IMAGE=nvcr.io/x:1\n");
    const bake = JSON.parse(read(dir, "docker-bake.json")) as { target: Record<string, { args: object }> };
    expect(bake.target.trtllm!.args).toMatchObject({ TRTLLM_WHEEL_IMAGE: "nvcr.io/x:1" });
  });
});

describe("derived ARG defaults where bakeplan must know the value", () => {
  it("a secret's when.args naming a derived ARG is refused at both keys (BuildKit computes it at build time)", async () => {
    const yaml = CONTEXT.replace(
      "defaults:\n",
      'defaults:\n  secrets:\n    tok: { env: TOK, when: { args: { TRTLLM_WHEEL_IMAGE: "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc11" } } }\n',
    );
    const dir = project(yaml);
    const res = await runCli(["plan"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "context.yaml:13:38: defaults.secrets.tok.when.args.TRTLLM_WHEEL_IMAGE: Secret tok: when.args.TRTLLM_WHEEL_IMAGE compares ARG TRTLLM_WHEEL_IMAGE, which context.yaml:7:9: axes.framework.trtllm.args.TRTLLM_WHEEL_IMAGE sets as a derived default: BuildKit computes it when it builds, so bakeplan cannot compare it. Condition the secret on an ARG with a plain value (one it is derived from)",
    );
    expect(() => read(dir, "docker-bake.json")).toThrow();
    // On the ARG it is derived from, the condition works.
    const plain = project(
      yaml
        .replace('TRTLLM_WHEEL_IMAGE: "nvcr', 'TENSORRTLLM_PIP_WHEEL: "tensorrt-llm==1.3.0rc11", X: "nvcr')
        .replace(', X: "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc11"', ""),
    );
    const ok = await runCli(["plan"], plain);
    expect(ok.code, ok.stderr).toBe(0);
    const bake = JSON.parse(read(plain, "docker-bake.json")) as { target: Record<string, { secret?: string[] }> };
    expect(bake.target.trtllm!.secret).toEqual(["id=tok,env=TOK"]);
    expect(bake.target.vllm!.secret).toBeUndefined();
  });

  it("images: refuses {derived: ...} and says to write it under args, where FROM ${X} is still resolved", async () => {
    const yaml = CONTEXT.replace(
      "BASE_IMAGE: docker.io/library/ubuntu:24.04",
      'BASE_IMAGE: { derived: "docker.io/library/ubuntu:${UBUNTU}" }',
    );
    const dir = project(yaml);
    const res = await runCli(["plan"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "context.yaml:13:17: defaults.images.BASE_IMAGE: BASE_IMAGE: images holds image references, which bakeplan checks as they are; a {derived: ...} default is for args. Move it there (args: {BASE_IMAGE: {derived: ...}}): images, preflight and lock resolve a FROM ${BASE_IMAGE} through it",
    );
    expect(() => read(dir, "docker-bake.json")).toThrow();
  });
});

describe("the derived-default writer", () => {
  // Texts the grammar accepts: literal text of every printable kind around every form.
  const LITERALS = ["", "a", "nvcr.io/x:", 'q "quoted" ', "it's", "a\\b", "tab\there", "#%*?=,", "ünï"];
  const FORMS = [
    "${A}",
    "${A:-d}",
    "${A-d}",
    "${A:+s}",
    "${A+s}",
    "${A#*==}",
    "${A##*=}",
    "${A%=*}",
    "${A%%.*}",
    "${A:-${B}}",
  ];

  it("writes every accepted text so that BuildKit's ARG reader gets it back as one ARG, unchanged", () => {
    for (const before of LITERALS)
      for (const form of FORMS)
        for (const after of LITERALS) {
          const text = `${before}${form}${after}`;
          expect(derivedProblem(text), text).toBeUndefined();
          const back = argDeclarations(`X=${derivedArgValue(text)}`);
          expect(back, text).toEqual([{ name: "X", value: text }]);
        }
  });

  it("expands as BuildKit does, per expandWord (checked against BuildKit in test/itg/derived-args.test.ts)", () => {
    const env = (n: string) => ({ A: "tensorrt-llm==1.3.0rc11", B: "b" })[n];
    expect(expandWord("release:${A#*==}", env).value).toBe("release:1.3.0rc11");
    expect(expandWord("${A%%==*}", env).value).toBe("tensorrt-llm");
    expect(expandWord("${NONE:-${B}}", env).value).toBe("b");
  });

  it("knows which names a form guards with a value for when they are unset", () => {
    expect(derivedNames("${A}${B:-x}${C+y}${D#p}${E:-${F}}")).toEqual([
      { name: "A", guarded: false },
      { name: "B", guarded: true },
      { name: "C", guarded: true },
      { name: "D", guarded: false },
      { name: "E", guarded: true },
      { name: "F", guarded: false },
    ]);
  });
});
