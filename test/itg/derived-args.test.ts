// Derived ARG defaults against the real engine: BuildKit expands what bakeplan writes, with the
// source ARG's default and with the source ARG overridden through bake; bakeplan's own reading
// of the forms (expandWord, used by explain and the image list) agrees with BuildKit's.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { expandWord } from "../../src/render/instructions.js";
import { describeWithDocker } from "./docker.js";
import { bakeplan, suiteProject } from "./e2e.js";

// Dynamo's TRTLLM_WHEEL_IMAGE, and one ARG per form bakeplan keeps for BuildKit to expand.
const DERIVED: Record<string, string> = {
  TRTLLM_WHEEL_IMAGE: "nvcr.io/nvidia/tensorrt-llm/release:${TENSORRTLLM_PIP_WHEEL#*==}",
  LONGEST_PREFIX: "${TENSORRTLLM_PIP_WHEEL##*=}",
  SHORTEST_SUFFIX: "${TENSORRTLLM_PIP_WHEEL%=*}",
  PACKAGE: "${TENSORRTLLM_PIP_WHEEL%%==*}",
  UNSET_DEFAULT: "${NOT_DECLARED_ANYWHERE:-fallback}",
  EMPTY_DEFAULT: "${EMPTY:-empty-fallback}|${EMPTY-kept-empty}",
  ALTERNATIVE: "${TENSORRTLLM_PIP_WHEEL:+pinned}|${EMPTY+declared}|${EMPTY:+not-this}",
  NESTED: "${NOT_DECLARED_ANYWHERE:-${TENSORRTLLM_PIP_WHEEL%rc*}}",
  QUOTED: 'wheel "${TENSORRTLLM_PIP_WHEEL#*==}" it\'s',
};

const CONTEXT = `project: { name: derived }
build: { network: none }
axes:
  os: [busybox]
defaults:
  platforms: [linux/amd64]
  images:
    BASE_IMAGE: local/busybox:1
  args:
    TENSORRTLLM_PIP_WHEEL: tensorrt-llm==1.3.0rc11
    EMPTY: ""
${Object.entries(DERIVED)
  .map(([k, v]) => `    ${k}: { derived: ${JSON.stringify(v)} }`)
  .join("\n")}
publish:
  registry: 127.0.0.1:5000
  repository: bakeplan-derived/app
  tags: ["{name}"]
`;

const NAMES = Object.keys(DERIVED);
const TEMPLATE = `{% arg BASE_IMAGE %}
FROM \${BASE_IMAGE} AS final
{% arg TENSORRTLLM_PIP_WHEEL EMPTY ${NAMES.join(" ")} %}
RUN { ${NAMES.map((n) => `echo "${n}=$${n}"`).join(" && ")}; } > /derived.txt
`;

describeWithDocker("engine", "derived ARG defaults: BuildKit expands them", () => {
  // Planned once, built twice.
  const { dir, out } = suiteProject("bakeplan-derived-", CONTEXT, TEMPLATE);

  /** Builds the target into a local directory (nothing left in the engine's image store) and reads what the RUN wrote. */
  function build(name: string, set: string[] = []): Map<string, string> {
    const dest = join(out, name);
    execFileSync(
      "docker",
      [
        "buildx",
        "bake",
        "-f",
        "docker-bake.json",
        "--set",
        `busybox.output=type=local,dest=${dest}`,
        "--set",
        "busybox.tags=",
        ...set.flatMap((s) => ["--set", s]),
        "busybox",
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 },
    );
    const text = readFileSync(join(dest, "derived.txt"), "utf8");
    const lines = text.trimEnd().split("\n");
    return new Map(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  }

  /** What bakeplan's expander says BuildKit makes of each derived default, given the source ARG. */
  function predicted(wheel: string): Map<string, string> {
    const env = (n: string) => ({ TENSORRTLLM_PIP_WHEEL: wheel, EMPTY: "" })[n];
    return new Map(NAMES.map((n) => [n, expandWord(DERIVED[n]!, env).value]));
  }

  it("plans them unescaped, and not as bake args", async () => {
    const run = await bakeplan(["plan"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    const bake = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as {
      target: { busybox: { args: Record<string, string> } };
    };
    expect(Object.keys(bake.target.busybox.args).sort()).toEqual(["BASE_IMAGE", "EMPTY", "TENSORRTLLM_PIP_WHEEL"]);
  });

  it("expands each with the source ARG's default, as bakeplan's expander predicts", () => {
    const got = build("default");
    expect(got.get("TRTLLM_WHEEL_IMAGE")).toBe("nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc11");
    expect(got.get("QUOTED")).toBe('wheel "1.3.0rc11" it\'s');
    expect(got.get("UNSET_DEFAULT")).toBe("fallback");
    expect(got.get("EMPTY_DEFAULT")).toBe("empty-fallback|");
    expect(got.get("ALTERNATIVE")).toBe("pinned|declared|");
    expect(got.get("NESTED")).toBe("tensorrt-llm==1.3.0");
    expect(got).toEqual(predicted("tensorrt-llm==1.3.0rc11"));
  }, 300_000);

  it("expands each from the source ARG overridden through bake (the derived one is no build arg to override it)", () => {
    const got = build("overridden", ["busybox.args.TENSORRTLLM_PIP_WHEEL=tensorrt-llm==2.0.0"]);
    expect(got.get("TRTLLM_WHEEL_IMAGE")).toBe("nvcr.io/nvidia/tensorrt-llm/release:2.0.0");
    expect(got.get("PACKAGE")).toBe("tensorrt-llm");
    expect(got).toEqual(predicted("tensorrt-llm==2.0.0"));
  }, 300_000);
});
