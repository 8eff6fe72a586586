// The projects under examples/: their committed plans are current, and they plan what their
// READMEs say (Dynamo's CI strings, docker-library's tag set). test/itg/examples.test.ts reads
// every target back through real `docker buildx bake --print`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exampleCopy, REPO, runCli } from "../helpers.js";

const ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo";
const SHA = "0123456789abcdef0123456789abcdef01234567";

interface Target {
  target?: string;
  tags: string[];
  platforms: string[];
  args?: Record<string, string>;
  labels?: Record<string, string>;
  "cache-from"?: string[];
  "cache-to"?: string[];
  secret?: string[];
}
interface BakeFile {
  group: Record<string, { targets: string[] }>;
  target: Record<string, Target>;
  variable?: Record<string, unknown>;
}

async function planned(example: string, flags: string[] = []): Promise<BakeFile> {
  const dir = exampleCopy(example);
  const res = await runCli(["plan", ...flags], dir);
  expect(res.code, res.stderr).toBe(0);
  expect(res.stderr).toBe("");
  return JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as BakeFile;
}

describe("examples/", () => {
  it("holds the Dynamo-shaped and the docker-library-shaped projects, each with a README", () => {
    expect(readdirSync(join(REPO, "examples")).sort()).toEqual(["README.md", "dynamo", "python"]);
    for (const e of ["dynamo", "python"])
      expect(readFileSync(join(REPO, "examples", e, "README.md"), "utf8")).toBeTruthy();
  });

  it.each(["dynamo", "python"])("examples/%s: the committed plan is what bakeplan plans", async (example) => {
    const res = await runCli(["check", "-c", join(REPO, "examples", example, "context.yaml")]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
  });
});

describe("examples/dynamo: Dynamo's CI conventions", () => {
  const cacheRef = (kind: string, rest: string) => `${ECR}:${kind}-${rest}-cache`;
  const writes = (kind: string, rest: string) =>
    `type=registry,ref=${cacheRef(kind, rest)},mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true`;

  it("a release branch reads main- and release- refs shared by runtime and dev, and writes the release- one", async () => {
    const plan = await planned("dynamo", ["--branch", "release/1.0", "--sha", SHA]);
    for (const name of ["vllm-cuda12", "vllm-cuda12-dev"]) {
      const t = plan.target[name]!;
      // actions/docker-remote-build: main-${CACHE_TAG} and release-${CACHE_TAG}, CACHE_TAG=vllm-cuda12-amd64-arm64-cache
      expect(t["cache-from"]).toEqual([
        `type=registry,ref=${cacheRef("main", "vllm-cuda12-amd64-arm64")}`,
        `type=registry,ref=${cacheRef("release", "vllm-cuda12-amd64-arm64")}`,
      ]);
      expect(t["cache-to"]).toEqual([writes("release", "vllm-cuda12-amd64-arm64")]);
    }
    // The per-arch runtime and the EFA runtime (amd64) share the amd64 ref.
    expect(plan.target["vllm-cuda12-amd64"]!["cache-to"]).toEqual([writes("release", "vllm-cuda12-amd64")]);
    expect(plan.target["vllm-cuda12-efa-amd64"]!["cache-to"]).toEqual([writes("release", "vllm-cuda12-amd64")]);
    // No main- tags off main.
    expect(plan.target["vllm-cuda12"]!.tags).toEqual([`${ECR}:${SHA}-vllm-runtime-cuda12`]);
  });

  it("main writes the main- ref and adds the post-merge tags to the multi-arch runtime images only", async () => {
    const plan = await planned("dynamo", ["--branch", "main", "--sha", SHA]);
    expect(plan.target["trtllm-cuda13"]!["cache-to"]).toEqual([writes("main", "trtllm-cuda13-amd64-arm64")]);
    expect(plan.target["vllm-cuda13"]!.tags).toEqual([
      `${ECR}:${SHA}-vllm-runtime-cuda13`,
      `${ECR}:main-vllm-cuda13`,
      `${ECR}:main-vllm-${SHA}-cuda13`,
    ]);
    expect(plan.target["vllm-cuda12-dev"]!.tags).toEqual([`${ECR}:${SHA}-vllm-dev-cuda12`]);
    expect(plan.target["vllm-cuda12-efa-amd64"]!.tags).toEqual([`${ECR}:${SHA}-vllm-runtime-efa-cuda12-amd64`]);
    expect(plan.target["sglang-cuda12-arm64"]!.tags).toEqual([`${ECR}:${SHA}-sglang-runtime-cuda12-arm64`]);
  });

  it("a feature branch reads both refs and writes none", async () => {
    const plan = await planned("dynamo", ["--branch", "feat/x"]);
    expect(plan.target["sglang-cuda13-dev"]!["cache-from"]).toHaveLength(2);
    expect(plan.target["sglang-cuda13-dev"]!["cache-to"]).toBeUndefined();
  });

  it("EFA runtime images build the aws stage; templates branch on target and platform", async () => {
    const plan = await planned("dynamo");
    expect(plan.target["vllm-cuda12-efa-amd64"]!.target).toBe("aws");
    expect(plan.target["vllm-cuda12-efa-amd64"]!.platforms).toEqual(["linux/amd64"]);
    expect(plan.target["vllm-cuda12-efa-amd64"]!.args?.EFA_VERSION).toBe("1.45.1");
    expect(plan.target["vllm-cuda12"]!.args?.EFA_VERSION).toBeUndefined();
    expect(plan.target["vllm-cuda12-dev"]!.target).toBe("dev");
    const dockerfile = (name: string) => readFileSync(join(REPO, "examples/dynamo/bake", `${name}.Dockerfile`), "utf8");
    expect(dockerfile("vllm-cuda12-dev")).toContain("FROM runtime AS dev\n");
    expect(dockerfile("vllm-cuda12")).not.toContain(" AS dev\n");
    expect(dockerfile("vllm-cuda12")).toContain("ENV ARCH=${TARGETARCH}\n");
    expect(dockerfile("vllm-cuda12-arm64")).toContain("ENV ARCH=arm64\n");
  });

  it("TRTLLM_WHEEL_IMAGE is a derived default: unescaped in the Dockerfile, no bake arg, derived in explain and images", async () => {
    const plan = await planned("dynamo");
    const dockerfile = readFileSync(join(REPO, "examples/dynamo/bake/trtllm-cuda13.Dockerfile"), "utf8");
    expect(dockerfile).toContain(
      "ARG TENSORRTLLM_PIP_WHEEL=tensorrt-llm==1.3.0rc11\nARG TRTLLM_WHEEL_IMAGE=nvcr.io/nvidia/tensorrt-llm/release:${TENSORRTLLM_PIP_WHEEL#*==}\n",
    );
    expect(dockerfile).toContain("FROM ${TRTLLM_WHEEL_IMAGE} AS trtllm_wheel_image\n");
    for (const name of ["trtllm-cuda13", "trtllm-cuda13-dev", "trtllm-cuda13-efa-amd64"]) {
      expect(plan.target[name]!.args?.TENSORRTLLM_PIP_WHEEL).toBe("tensorrt-llm==1.3.0rc11");
      expect(plan.target[name]!.args).not.toHaveProperty("TRTLLM_WHEEL_IMAGE");
    }
    const c = join(REPO, "examples/dynamo/context.yaml");
    const explain = await runCli(["explain", "-c", c, "trtllm-cuda13", "TRTLLM_WHEEL_IMAGE"]);
    expect(explain.stdout).toContain(
      'derived "nvcr.io/nvidia/tensorrt-llm/release:${TENSORRTLLM_PIP_WHEEL#*==}" = "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc11"',
    );
    expect(explain.stdout).toContain("BuildKit expands it (not a build arg)");
    const images = await runCli(["images", "-c", c, "trtllm-cuda13"]);
    expect(images.stdout).toMatch(/^nvcr\.io\/nvidia\/tensorrt-llm\/release:1\.3\.0rc11 /m);
  });

  it("sccache credentials reach only sccache builds; the IRSA token file comes from the environment", async () => {
    const ids = (t: Target) => (t.secret ?? []).map((s) => s.split(",")[0]);
    const off = await planned("dynamo");
    expect(ids(off.target["vllm-cuda12"]!)).toEqual(["id=aws-role-arn", "id=aws-web-identity-token"]);
    expect(off.target["vllm-cuda12"]!.secret).toContain("id=aws-web-identity-token,src=${AWS_WEB_IDENTITY_TOKEN_FILE}");
    expect(off.variable).toEqual({ AWS_WEB_IDENTITY_TOKEN_FILE: { default: "" } });
    const on = await planned("dynamo", ["--set", "USE_SCCACHE=true"]);
    expect(ids(on.target["vllm-cuda12"]!)).toEqual([
      "id=aws-key-id",
      "id=aws-role-arn",
      "id=aws-secret-id",
      "id=aws-web-identity-token",
    ]);
  });

  it("the pr group is the union of every framework's runtime and dev image and the planner", async () => {
    const plan = await planned("dynamo");
    const frameworks = ["sglang-cuda12", "sglang-cuda13", "trtllm-cuda13", "vllm-cuda12", "vllm-cuda13"];
    const pr = ["dynamo-cpu-planner", ...frameworks.flatMap((t) => [t, `${t}-dev`])].sort();
    expect(plan.group.pr!.targets).toEqual(pr);
    expect(plan.group["post-merge"]!.targets).toEqual(
      [...pr, "trtllm-cuda13-efa-amd64", "vllm-cuda12-efa-amd64"].sort(),
    );
  });
});

describe("examples/dynamo: the device axis, with a CUDA version only for cuda", () => {
  it("XPU and CPU builds exist once each, with no CUDA token, tag part or cache-ref part", async () => {
    const plan = await planned("dynamo", ["--branch", "main", "--sha", SHA]);
    const names = Object.keys(plan.target);
    expect(names).toHaveLength(25);
    expect(names.filter((n) => /xpu|cpu/.test(n)).sort()).toEqual([
      "dynamo-cpu-planner",
      "vllm-cpu-amd64",
      "vllm-xpu-amd64",
    ]);
    expect(plan.target["vllm-xpu-amd64"]!.tags).toEqual([`${ECR}:${SHA}-vllm-runtime-xpu-amd64`]);
    // As Dynamo's build-flavor tags the planner: -cpu, no CUDA major.
    expect(plan.target["dynamo-cpu-planner"]!.tags).toEqual([`${ECR}:${SHA}-dynamo-planner-cpu`]);
    expect(plan.target["vllm-cpu-amd64"]!["cache-to"]).toEqual([
      `type=registry,ref=${ECR}:main-vllm-cpu-amd64-cache,mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true`,
    ]);
    // CUDA targets keep Dynamo's exact strings.
    expect(plan.target["vllm-cuda12"]!.tags).toEqual([
      `${ECR}:${SHA}-vllm-runtime-cuda12`,
      `${ECR}:main-vllm-cuda12`,
      `${ECR}:main-vllm-${SHA}-cuda12`,
    ]);
    expect(plan.target["vllm-xpu-amd64"]!.args).toMatchObject({
      BASE_IMAGE: "intel/deep-learning-essentials:2025.3.2-0-devel-ubuntu24.04",
      VLLM_REF: "v0.17.1",
    });
    expect(plan.target["vllm-cpu-amd64"]!.args).toMatchObject({ BASE_IMAGE: "ubuntu:24.04", VLLM_CPU_AVX512: "true" });
    expect(plan.target["vllm-cuda12"]!.args?.VLLM_CPU_AVX512).toBeUndefined();
  });

  it("templates test for CUDA with {% if cuda %}; list and explain show it absent", async () => {
    const dockerfile = (name: string) => readFileSync(join(REPO, "examples/dynamo/bake", `${name}.Dockerfile`), "utf8");
    expect(dockerfile("vllm-xpu-amd64")).toContain("    VLLM_TARGET_DEVICE=xpu MAX_JOBS=");
    expect(dockerfile("vllm-cuda12")).not.toContain("VLLM_TARGET_DEVICE");
    const config = join(REPO, "examples/dynamo/context.yaml");
    const list = await runCli(["list", "-c", config]);
    expect(list.stdout).toMatch(/\nvllm-xpu-amd64 +vllm +xpu +- +runtime +off +amd64 /);
    const explain = await runCli(["explain", "-c", config, "vllm-xpu-amd64"]);
    expect(explain.stdout).toMatch(
      /^vllm-xpu-amd64 \(framework=vllm, device=xpu, target=runtime, efa=off, platform=amd64\)\n {2}cuda: absent, applies only where device=cuda \(.*context\.yaml:\d+:5: axes\.cuda\.when\)\n/,
    );
  });
});

describe("examples/python: docker-library's official python image", () => {
  it("single-stage targets with bake-safe names from dotted values, tags from template values", async () => {
    const plan = await planned("python");
    const tags = (name: string) => plan.target[name]!.tags.map((t) => t.replace("docker.io/library/python:", ""));
    expect(Object.keys(plan.target)).toHaveLength(9);
    for (const t of Object.values(plan.target)) expect(t.target).toBeUndefined();
    // As docker-library/official-images' library/python lists them.
    expect(tags("3_14-trixie")).toEqual([
      "3.14.2-trixie",
      "3.14-trixie",
      "3.14.2",
      "3.14",
      "3-trixie",
      "3",
      "trixie",
      "latest",
    ]);
    expect(tags("3_14-alpine3_23")).toEqual([
      "3.14.2-alpine3.23",
      "3.14-alpine3.23",
      "3.14.2-alpine",
      "3.14-alpine",
      "3-alpine3.23",
      "3-alpine",
      "alpine3.23",
      "alpine",
    ]);
    // The title keeps the real values; only the target name needs the bake-safe tokens.
    expect(plan.target["3_14-alpine3_23"]!.labels?.["org.opencontainers.image.title"]).toBe("Python 3.14-alpine3.23");
    expect(tags("3_12-slim-trixie")).toEqual(["3.12.13-slim-trixie", "3.12-slim-trixie", "3.12.13-slim", "3.12-slim"]);
    // Every tag lands on exactly one variant.
    const all = Object.values(plan.target).flatMap((t) => t.tags);
    expect(new Set(all).size).toBe(all.length);
  });

  it("tags follow the resolved template values: --set vars.full moves the version's tags", async () => {
    const plan = await planned("python", ["--only", "version=3.14", "--set", "vars.full=3.14.3"]);
    expect(plan.target["3_14-trixie"]!.tags.slice(0, 3)).toEqual(
      ["3.14.3-trixie", "3.14-trixie", "3.14.3"].map((t) => `docker.io/library/python:${t}`),
    );
  });

  it("optional values and one install block for apt and apk", () => {
    const dockerfile = (name: string) => readFileSync(join(REPO, "examples/python/bake", `${name}.Dockerfile`), "utf8");
    expect(dockerfile("3_12-trixie")).toContain("ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305\n");
    expect(dockerfile("3_14-trixie")).not.toContain("GPG_KEY");
    expect(dockerfile("3_14-trixie")).not.toContain(".build-deps");
    expect(dockerfile("3_14-alpine3_23")).toContain("\tapk add --no-cache --virtual .build-deps \\\n\t\tdpkg-dev \\\n");
    expect(dockerfile("3_14-alpine3_23")).toContain("\tapk del --no-network .build-deps; \\\n");
    expect(dockerfile("3_14-slim-trixie")).toContain(
      "\tapt-get install -y --no-install-recommends \\\n\t\tdpkg-dev \\\n",
    );
  });
});
