// `bakeplan images` as a user sees it: the table and the --json document, for the targets the
// command line selects, from a project whose images come from every place images looks (images:
// values per axis and default, FROM with ARGs substituted, a --platform pin, COPY --from and
// RUN --mount from= images, the # syntax= frontend), and one run of the real CLI.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Output } from "../../src/command-support/types.js";
import { images, type ImagesOptions } from "../../src/commands/images.js";
import { exampleCopy, REPO, runCli, testdir } from "../helpers.js";

const CONTEXT = `project:
  name: demo
build:
  syntax: docker/dockerfile:1.10
axes:
  framework:
    vllm:
      args:
        FW_REF: v1
    sglang:
      args:
        FW_REF: s1
      images:
        BASE_IMAGE: docker.io/library/debian:12
  target:
    runtime:
      name: ""
    dev: {}
stage_axis: target
defaults:
  platforms: [linux/amd64, linux/arm64]
  images:
    BASE_IMAGE: docker.io/library/ubuntu:24.04
    UV_IMAGE: ghcr.io/astral-sh/uv:0.8.22
publish:
  registry: registry.example.com
  repository: demo/app
  tags: ["{name}"]
`;

const TEMPLATE = `{% arg BASE_IMAGE %}
{% arg UV_IMAGE %}
FROM \${UV_IMAGE} AS uv
FROM --platform=linux/amd64 quay.io/pypa/manylinux_2_28_x86_64:2025.10.10-1 AS wheels
RUN echo wheels
FROM \${BASE_IMAGE} AS runtime
{% arg FW_REF %}
COPY --from=uv /uv /usr/local/bin/
COPY --from=wheels /wheels /wheels
RUN --mount=type=bind,from=busybox:1.36,source=/bin/busybox,target=/bb /bb true
FROM runtime AS dev
COPY --from=docker.io/library/alpine:3.20 /etc/os-release /alpine-release
FROM scratch AS empty
`;

const project = (files: Record<string, string> = {}) =>
  testdir({ "context.yaml": CONTEXT, "templates/Dockerfile.liquid": TEMPLATE, ...files });

function captured(): Output & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    stdout: () => out,
    stderr: () => err,
  };
}

/** `bakeplan images` with these options, run in `dir` as the CLI runs it (paths in messages are relative to the cwd). */
function imagesIn(dir: string, o: Partial<ImagesOptions> = {}) {
  const output = captured();
  const previous = process.cwd();
  process.chdir(dir);
  try {
    images(options(o), output);
  } finally {
    process.chdir(previous);
  }
  return { stdout: output.stdout(), stderr: output.stderr() };
}

const options = (o: Partial<ImagesOptions> = {}): ImagesOptions => ({
  config: "context.yaml",
  set: [],
  only: [],
  inputs: {},
  inputVariables: {},
  strict: false,
  verbose: false,
  locked: false,
  targets: [],
  json: false,
  ...o,
});

describe("bakeplan images: the table", () => {
  it("one row per image, sorted: platforms, who needs it, where it comes from", () => {
    const output = imagesIn(project());
    expect(output.stderr).toBe("");
    expect(output.stdout).toBe(
      [
        "IMAGE                                            PLATFORMS                 TARGETS                  SOURCE",
        "busybox:1.36                                     linux/amd64, linux/arm64  4 targets (sglang, ...)  bake/sglang.Dockerfile:15 (RUN --mount from= in stage runtime, templates/Dockerfile.liquid:10); bake/vllm.Dockerfile:15 (RUN --mount from= in stage runtime, templates/Dockerfile.liquid:10)",
        "docker.io/library/alpine:3.20                    linux/amd64, linux/arm64  sglang-dev, vllm-dev     bake/sglang.Dockerfile:17 (COPY --from in stage dev, templates/Dockerfile.liquid:12); bake/vllm.Dockerfile:17 (COPY --from in stage dev, templates/Dockerfile.liquid:12)",
        "docker.io/library/debian:12                      linux/amd64, linux/arm64  sglang, sglang-dev       context.yaml:14:21: axes.framework.sglang.images.BASE_IMAGE",
        "docker.io/library/ubuntu:24.04                   linux/amd64, linux/arm64  vllm, vllm-dev           context.yaml:23:17: defaults.images.BASE_IMAGE",
        "docker/dockerfile:1.10                           (builder's)               4 targets (sglang, ...)  context.yaml:4:11: build.syntax (# syntax= frontend)",
        "ghcr.io/astral-sh/uv:0.8.22                      linux/amd64, linux/arm64  4 targets (sglang, ...)  context.yaml:24:15: defaults.images.UV_IMAGE",
        "quay.io/pypa/manylinux_2_28_x86_64:2025.10.10-1  linux/amd64               4 targets (sglang, ...)  bake/sglang.Dockerfile:9 (FROM in stage wheels, templates/Dockerfile.liquid:4); bake/vllm.Dockerfile:9 (FROM in stage wheels, templates/Dockerfile.liquid:4)",
        "",
      ].join("\n"),
    );
  });

  it("a target, a group or --only narrows the list to what those targets pull (argv through the CLI)", async () => {
    const dir = project();
    const one = await runCli(["images", "vllm-dev"], dir);
    expect(one.code, one.stderr).toBe(0);
    const rows = (stdout: string) =>
      stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(/ {2,}/).slice(0, 3));
    expect(rows(one.stdout)).toEqual([
      ["busybox:1.36", "linux/amd64, linux/arm64", "vllm-dev"],
      ["docker.io/library/alpine:3.20", "linux/amd64, linux/arm64", "vllm-dev"],
      ["docker.io/library/ubuntu:24.04", "linux/amd64, linux/arm64", "vllm-dev"],
      ["docker/dockerfile:1.10", "(builder's)", "vllm-dev"],
      ["ghcr.io/astral-sh/uv:0.8.22", "linux/amd64, linux/arm64", "vllm-dev"],
      ["quay.io/pypa/manylinux_2_28_x86_64:2025.10.10-1", "linux/amd64", "vllm-dev"],
    ]);
    // The runtime targets do not pull the image only dev copies from.
    const runtime = await runCli(["images", "--only", "target=runtime"], dir);
    expect(runtime.code, runtime.stderr).toBe(0);
    expect(rows(runtime.stdout).map((r) => r[0])).not.toContain("docker.io/library/alpine:3.20");
    expect(rows(runtime.stdout).find((r) => r[0] === "busybox:1.36")).toEqual([
      "busybox:1.36",
      "linux/amd64, linux/arm64",
      "sglang, vllm",
    ]);
    // Group all: every target, so the same table as no selection.
    const all = await runCli(["images", "all"], dir);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe((await runCli(["images"], dir)).stdout);
    const unknown = await runCli(["images", "nope"], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown target or group "nope"');
  });

  it("an image that names nothing after ARG substitution is a warning on stderr; the rest is listed", () => {
    const dir = project({
      "templates/Dockerfile.liquid": `ARG EXTRA_IMAGE\n${TEMPLATE.replace("FROM runtime AS dev\n", "FROM ${EXTRA_IMAGE} AS extra\nFROM runtime AS dev\nCOPY --from=extra / /extra\n")}`,
    });
    const output = imagesIn(dir, { targets: ["vllm-dev"] });
    expect(output.stderr).toMatch(
      /^bakeplan: warning: bake\/vllm\.Dockerfile:\d+: FROM names no image after ARG substitution \(ARG EXTRA_IMAGE has no value\)\n$/,
    );
    expect(output.stdout.split("\n")[1]).toMatch(/^busybox:1\.36 /);
  });
});

describe("bakeplan images --json", () => {
  it("per image: platforms, each target's platforms, sources and the images: ARGs it is the value of", () => {
    const output = imagesIn(project(), { json: true, only: ["framework=sglang"] });
    expect(output.stderr).toBe("");
    const doc = JSON.parse(output.stdout) as { images: Record<string, unknown>[] };
    expect(doc.images.map((i) => i.ref)).toEqual([
      "busybox:1.36",
      "docker.io/library/alpine:3.20",
      "docker.io/library/debian:12",
      "docker/dockerfile:1.10",
      "ghcr.io/astral-sh/uv:0.8.22",
      "quay.io/pypa/manylinux_2_28_x86_64:2025.10.10-1",
    ]);
    const both = ["linux/amd64", "linux/arm64"];
    expect(doc.images[2]).toEqual({
      ref: "docker.io/library/debian:12",
      platforms: both,
      targets: { sglang: both, "sglang-dev": both },
      sources: ["context.yaml:14:21: axes.framework.sglang.images.BASE_IMAGE"],
      args: ["BASE_IMAGE"],
    });
    // The frontend is pulled by the builder for itself: no platform, no ARG.
    expect(doc.images[3]).toEqual({
      ref: "docker/dockerfile:1.10",
      platforms: [],
      targets: { sglang: [], "sglang-dev": [] },
      sources: ["context.yaml:4:11: build.syntax (# syntax= frontend)"],
    });
    // A --platform pin: only that platform, whatever the target builds.
    expect(doc.images[5]).toMatchObject({
      platforms: ["linux/amd64"],
      targets: { sglang: ["linux/amd64"], "sglang-dev": ["linux/amd64"] },
    });
    expect(doc.images[1]).toMatchObject({ targets: { "sglang-dev": both } });
    expect(output.stdout.endsWith("}\n")).toBe(true);
  });
});

describe("bakeplan images, the real CLI on the bundled example", () => {
  it("lists every image of the 18 targets; --json says the same; nothing is written", () => {
    const dir = exampleCopy();
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(REPO, "bin/bakeplan.js"), "images", ...args], { cwd: dir, encoding: "utf8" });
    const table = run();
    expect(table.status, table.stderr).toBe(0);
    expect(table.stderr).toBe("");
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^IMAGE +PLATFORMS +TARGETS +SOURCE$/);
    const json = run("--json");
    expect(json.status, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      images: { ref: string; platforms: string[]; targets: Record<string, string[]>; sources: string[] }[];
    };
    expect(lines.slice(1).map((l) => l.split(/ +/)[0])).toEqual(doc.images.map((i) => i.ref));
    expect(doc.images.find((i) => i.ref === "ghcr.io/astral-sh/uv:0.8.22")).toMatchObject({
      platforms: ["linux/amd64", "linux/arm64"],
      sources: ["context.yaml:75:15: defaults.images.UV_IMAGE"],
    });
    expect(Object.keys(doc.images.find((i) => i.ref === "ghcr.io/astral-sh/uv:0.8.22")!.targets)).toHaveLength(18);
    // The arm64-only manylinux image is needed for arm64 only.
    const arm = doc.images.find((i) => i.ref.startsWith("quay.io/pypa/manylinux_2_28_aarch64"))!;
    expect(arm.platforms).toEqual(["linux/arm64"]);
    expect(new Set(Object.values(arm.targets).flat())).toEqual(new Set(["linux/arm64"]));
    expect(spawnSync("ls", ["-A", dir], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).sort()).toEqual([
      "context.yaml",
      "templates",
    ]);
  });
});
