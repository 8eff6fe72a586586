// Synthetic bakeplan projects for the planning benchmark (bench/plan.mjs).
//
// Each project is the bundled example (templates/ and the values of context.yaml) scaled up:
//   axes framework (vllm, sglang, trtllm) x cuda x os x python x flavor x target (the stage axis).
//   vllm builds runtime, dev and local-dev; sglang and trtllm build runtime only (an exclude), so
//   every "unit" (one cuda x os x python x flavor) gives 3 Dockerfiles and 5 variants, the
//   0.6 Dockerfiles per variant of Dynamo's real matrix (239 / 396). Shape "5000b" keeps the
//   bundled example's ratio instead (all three stages for every framework: 1 Dockerfile per 3).
// Every template gets stage bodies padded with realistic RUN/ENV/COPY/ARG lines and liquid
// branches, so rendered Dockerfiles are ~1,150 (vllm), ~450 (sglang) and ~850 (trtllm) lines:
// ~945 lines per variant on average, as Dynamo's (124 to 1,492 lines, ~940 on average).
//
// Next to context.yaml it writes docker-bake.hcl: the same targets written with bake's own
// `matrix` (one matrix block per framework), for `docker buildx bake --print`.

import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";

export const REPO = resolve(import.meta.dirname, "..");

const CUDA = [
  {
    value: "12.9",
    name: "cu129",
    base: "nvcr.io/nvidia/cuda-dl-base:25.06-cuda12.9-devel-ubuntu24.04",
    runtime: "nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04",
  },
  {
    value: "13.0",
    name: "cu130",
    base: "nvcr.io/nvidia/cuda-dl-base:25.11-cuda13.0-devel-ubuntu24.04",
    runtime: "nvcr.io/nvidia/cuda:13.0.2-runtime-ubuntu24.04",
  },
  {
    value: "12.8",
    name: "cu128",
    base: "nvcr.io/nvidia/cuda-dl-base:25.03-cuda12.8-devel-ubuntu24.04",
    runtime: "nvcr.io/nvidia/cuda:12.8.1-runtime-ubuntu24.04",
  },
  {
    value: "13.1",
    name: "cu131",
    base: "nvcr.io/nvidia/cuda-dl-base:26.02-cuda13.1-devel-ubuntu24.04",
    runtime: "nvcr.io/nvidia/cuda-dl-base:26.02-cuda13.1-runtime-ubuntu24.04",
  },
];
const OS = [
  { value: "ubuntu24.04", name: "", pm: "apt" },
  { value: "ubi9", name: "ubi9", pm: "dnf" },
];
const PYTHON = ["3.12", "3.11", "3.10", "3.13", "3.14"].map((v) => ({ value: v, name: `py${v.replace(".", "")}` }));
const flavors = (n) =>
  Array.from({ length: n }, (_, i) => ({
    value: `f${String(i).padStart(2, "0")}`,
    name: `f${String(i).padStart(2, "0")}`,
    ref: `release/2026.${i}`,
  }));
const TARGETS = [
  { value: "runtime", name: "" },
  { value: "dev", name: "dev" },
  { value: "local-dev", name: "local-dev" },
];
const STAGES_OF = { vllm: ["runtime", "dev", "local-dev"], sglang: ["runtime"], trtllm: ["runtime"] };

/**
 * Sizes of the benchmark. variants = 5 x cuda x os x python x flavor; Dockerfiles = 3 x the same.
 * "dynamo" is Dynamo's real shape: 396 variants, 239 distinct Dockerfiles (three extra excludes).
 * "5000b" has the bundled example's ratio instead (every framework builds all three stages from
 * one Dockerfile): 4,995 variants, 1,665 Dockerfiles.
 */
export const SHAPES = {
  10: { cuda: 2, os: 1, python: 1, flavor: 1 },
  100: { cuda: 2, os: 2, python: 5, flavor: 1 },
  1000: { cuda: 2, os: 2, python: 5, flavor: 10 },
  5000: { cuda: 4, os: 2, python: 5, flavor: 25 },
  dynamo: { cuda: 2, os: 2, python: 4, flavor: 5, trim: true },
  "5000b": { cuda: 3, os: 1, python: 5, flavor: 37, allStages: true },
};

const stagesOf = (shape, fw) => (shape.allStages ? STAGES_OF.vllm : STAGES_OF[fw]);

/** Padding: how many blocks (11 or 12 rendered lines each) are appended to each bundled template. */
const PADDING = {
  "dynamo_base.liquid": 12,
  "wheel_builder.liquid": 10,
  "dev.liquid": 2,
  "local_dev.liquid": 1,
  "vllm_framework.liquid": 42,
  "vllm_runtime.liquid": 22,
  "sglang_runtime.liquid": 4,
  "trtllm_framework.liquid": 26,
  "trtllm_runtime.liquid": 12,
};

/** One padding block: a Dynamo-like step with an ARG now and then, ENV, a multi-line RUN with a per-OS branch, COPY, WORKDIR. */
function block(tag, i) {
  const id = `${tag}-${i}`;
  const env = `${tag.toUpperCase()}_${i}`;
  return [
    `# ${tag} step ${i}: component ${id} for {{ framework }} on CUDA {{ cuda }} ({{ os }}, Python {{ python }})`,
    ...(i % 4 === 0 ? [`ARG ${env}_JOBS=8`] : []),
    `ENV ${env}_HOME=/opt/{{ framework }}/${id} \\`,
    `    ${env}_CUDA={{ cuda }}`,
    `RUN --mount=type=cache,target=/root/.cache/uv \\`,
    `    --mount=type=bind,from=uv,source=/uv,target=/usr/local/bin/uv \\`,
    `    uv pip install --python "\${PYTHON_VERSION}" "${tag}-component-${i}==1.${i}.0" && \\`,
    `{% if os == "ubi9" %}    dnf install -y --setopt=install_weak_deps=0 lib${tag}${i}-devel && \\`,
    `{% else %}    apt-get install -y --no-install-recommends lib${tag}${i}-dev && \\`,
    `{% endif %}    mkdir -p /opt/{{ framework }}/${id} && \\`,
    `    echo "{{ framework }}-{{ cuda }}-{{ python }}-{{ flavor }} {{ vars.flavor_ref }}" > /opt/{{ framework }}/${id}/BUILD_INFO`,
    `COPY scripts/${id}.sh /opt/{{ framework }}/${id}/`,
    `WORKDIR /opt/{{ framework }}/${id}`,
  ].join("\n");
}

function axisValues(shape) {
  return {
    cuda: CUDA.slice(0, shape.cuda),
    os: OS.slice(0, shape.os),
    python: PYTHON.slice(0, shape.python),
    flavor: flavors(shape.flavor),
  };
}

/** Extra excludes that bring the dynamo shape from 400/240 to exactly 396 variants / 239 Dockerfiles. */
function trimExcludes(ax) {
  const unit = (f) => ({
    cuda: ax.cuda[0].value,
    os: ax.os[0].value,
    python: ax.python[0].value,
    flavor: ax.flavor[f].value,
  });
  return [
    { when: { framework: "sglang", ...unit(0) }, reason: "benchmark shape: one sglang image less" },
    { when: { framework: "vllm", ...unit(0), target: ["dev", "local-dev"] }, reason: "benchmark shape: runtime only" },
    { when: { framework: "vllm", ...unit(1), target: "local-dev" }, reason: "benchmark shape: no local-dev" },
  ];
}

function contextYaml(shape) {
  const bundled = readFileSync(join(REPO, "context.yaml"), "utf8");
  // The values of the bundled example, reused as they are.
  const base = parse(bundled);
  const ax = axisValues(shape);
  const ctx = {
    project: base.project,
    build: base.build,
    axes: {
      framework: base.axes.framework,
      cuda: Object.fromEntries(ax.cuda.map((c) => [c.value, { name: c.name, images: { BASE_IMAGE: c.base } }])),
      os: Object.fromEntries(ax.os.map((o) => [o.value, { name: o.name, package_manager: o.pm }])),
      python: Object.fromEntries(ax.python.map((p) => [p.value, { name: p.name, args: { PYTHON_VERSION: p.value } }])),
      flavor: Object.fromEntries(
        ax.flavor.map((f) => [f.value, { args: { FLAVOR_REF: f.ref }, vars: { flavor_ref: f.ref } }]),
      ),
      target: base.axes.target,
    },
    stage_axis: "target",
    defaults: base.defaults,
    combinations: ["vllm", "sglang", "trtllm"].flatMap((fw) =>
      ax.cuda.map((c) => ({
        when: { framework: fw, cuda: c.value },
        images: { RUNTIME_IMAGE: fw === "sglang" ? `lmsysorg/sglang:v0.5.10.post1-${c.name}-runtime` : c.runtime },
      })),
    ),
    exclude: [
      ...(shape.allStages
        ? []
        : [
            {
              when: { framework: ["sglang", "trtllm"], target: ["dev", "local-dev"] },
              reason: "dev images are built for vLLM only",
            },
          ]),
      ...(shape.trim ? trimExcludes(ax) : []),
    ],
    groups: base.groups,
    publish: base.publish,
    cache: base.cache,
  };
  return `# Synthetic benchmark matrix generated by bench/generate.mjs from the bundled example.\n${stringify(ctx, { lineWidth: 0 })}`;
}

/** Writes context.yaml, templates/ and docker-bake.hcl for one shape into `dir` (emptied first). */
export function generate(dir, shape) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "templates"), { recursive: true });
  writeFileSync(join(dir, "context.yaml"), contextYaml(shape));
  for (const name of readdirSync(join(REPO, "templates"))) {
    const text = readFileSync(join(REPO, "templates", name), "utf8");
    const n = PADDING[name] ?? 0;
    const tag = name.replace(/\.liquid$/, "").replace(/_/g, "");
    const padding = Array.from({ length: n }, (_, i) => block(tag, i)).join("\n");
    const extra = name === "vllm_framework.liquid" ? "{% arg FLAVOR_REF %}\n" : "";
    writeFileSync(join(dir, "templates", name), n ? `${text.trimEnd()}\n${extra}${padding}\n` : text);
  }
  writeFileSync(join(dir, "docker-bake.hcl"), bakeMatrixHcl(shape));
  settle(dir);
}

/**
 * Dates the inputs a minute back, as in a checkout edited earlier: bakeplan does not trust the
 * stamp of a context.yaml changed within a clock tick (~100 ms) of a plan for its up-to-date check.
 */
function settle(dir) {
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, "context.yaml"), past, past);
  for (const name of readdirSync(join(dir, "templates"))) utimesSync(join(dir, "templates", name), past, past);
}

export function copyBundled(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(REPO, "context.yaml"), join(dir, "context.yaml"));
  cpSync(join(REPO, "templates"), join(dir, "templates"), { recursive: true });
  settle(dir);
}

export function expectedCounts(shape) {
  const units = shape.cuda * shape.os * shape.python * shape.flavor;
  if (shape.allStages) return { variants: units * 9, files: units * 3 };
  return shape.trim ? { variants: units * 5 - 4, files: units * 3 - 1 } : { variants: units * 5, files: units * 3 };
}

// --- the alternative: the same targets with bake's own matrix -------------------------------------

const hclString = (s) => JSON.stringify(s).replaceAll("${", "$${").replaceAll("%{", "%%{");
function hclValue(v, indent = "  ") {
  if (typeof v === "string") return hclString(v);
  if (Array.isArray(v)) return `[${v.map((x) => hclValue(x, indent)).join(", ")}]`;
  const inner = `${indent}  `;
  return `{\n${Object.entries(v)
    .map(([k, x]) => `${inner}${hclString(k)} = ${hclValue(x, inner)}`)
    .join("\n")}\n${indent}}`;
}

/**
 * The bake-native way to write the same matrix: layered values become merge() of per-axis-value
 * objects, names and tags a function of the matrix values, one matrix block per framework
 * (bake's matrix has no exclude). Prints the same targets bakeplan writes (args, platforms,
 * tags, labels, cache-from, secrets) but renders no Dockerfile.
 */
export function bakeMatrixHcl(shape) {
  const base = parse(readFileSync(join(REPO, "context.yaml"), "utf8"));
  const ax = axisValues(shape);
  const defaults = { ...base.defaults.args, ...base.defaults.images };
  const obj = (o) => hclValue(o, "    ");
  const out = [];
  out.push("# Generated by bench/generate.mjs: the benchmark matrix written with bake's own `matrix`.");
  out.push(`variable "REGISTRY" { default = ${hclString(base.publish.registry)} }`);
  out.push(`variable "DEFAULT_ARGS" {\n  default = ${hclValue(defaults)}\n}`);
  out.push(`variable "FRAMEWORK_ARGS" {\n  default = ${hclValue(base.axes.framework)}\n}`);
  out.push(
    `variable "RUNTIME_IMAGE" {\n  default = ${hclValue(Object.fromEntries(["vllm", "sglang", "trtllm"].flatMap((fw) => ax.cuda.map((c) => [`${fw}/${c.value}`, fw === "sglang" ? `lmsysorg/sglang:v0.5.10.post1-${c.name}-runtime` : c.runtime]))))}\n}`,
  );
  out.push(`variable "LABELS" {\n  default = ${hclValue(base.defaults.labels)}\n}`);
  out.push(`function "tname" {\n  params = [parts]\n  result = join("-", compact(parts))\n}`);
  const matrix = {
    cu: ax.cuda.map((c) => ({ value: c.value, name: c.name, base: c.base })),
    os: ax.os.map((o) => ({ value: o.value, name: o.name })),
    py: ax.python.map((p) => ({ value: p.value, name: p.name })),
    fl: ax.flavor.map((f) => ({ value: f.value, name: f.value, ref: f.ref })),
  };
  for (const fw of ["vllm", "sglang", "trtllm"]) {
    const tgt = TARGETS.filter((t) => stagesOf(shape, fw).includes(t.value)).map((t) => ({
      stage: t.value,
      name: t.name,
    }));
    const parts = `["${fw}", cu.name, os.name, py.name, fl.name, tgt.name]`;
    out.push(`target "${fw}" {
  name = tname(${parts})
  matrix = {
    cu = ${obj(matrix.cu)}
    os = ${obj(matrix.os)}
    py = ${obj(matrix.py)}
    fl = ${obj(matrix.fl)}
    tgt = ${obj(tgt)}
  }
  context = "."
  dockerfile = "bake/\${tname(["${fw}", cu.name, os.name, py.name, fl.name])}.Dockerfile"
  target = tgt.stage
  args = merge(DEFAULT_ARGS, FRAMEWORK_ARGS["${fw}"].args, { BASE_IMAGE = cu.base, RUNTIME_IMAGE = RUNTIME_IMAGE["${fw}/\${cu.value}"], PYTHON_VERSION = py.value, FLAVOR_REF = fl.ref })
  platforms = ${hclValue(base.defaults.platforms)}
  tags = ["\${REGISTRY}/${base.publish.repository}:latest-\${tname(${parts})}"]
  labels = merge(LABELS, { "org.opencontainers.image.title" = "${base.project.title} \${tname(${parts})}", "org.opencontainers.image.source" = ${hclString(base.project.source)} })
  cache-from = ["type=registry,ref=\${REGISTRY}/${base.cache.repository}:\${tname(${parts})}-main"]
  secret = ["id=aws-key-id,env=AWS_ACCESS_KEY_ID", "id=aws-secret-id,env=AWS_SECRET_ACCESS_KEY"]
}`);
  }
  out.push(`group "default" {\n  targets = ["vllm", "sglang", "trtllm"]\n}`);
  return `${out.join("\n\n")}\n`;
}
