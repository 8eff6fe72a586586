// The affected benchmark (npm run bench:affected): `bakeplan affected --base main` against one
// `bakeplan plan` on the Dynamo-shape matrix of bench/generate.mjs (396 variants, 239 Dockerfiles),
// in a git repository made here: main holds the matrix, branch `bump` bumps one framework's ARG,
// branch `template` changes one line of a template only that framework includes. Prints the
// figures; asserts nothing. Goal: affected costs at most 2x one plan.
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt } from "../scripts/build-dist.mjs";
import { generate, REPO, SHAPES } from "./generate.mjs";

await ensureBuilt();

const REPS = Number(process.argv[process.argv.indexOf("--reps") + 1]) || 5;
const dir = join(REPO, ".bench", "affected");
const env = {
  ...process.env,
  BAKEPLAN_CACHE_DIR: join(REPO, ".bench", "state"),
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@example.invalid",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@example.invalid",
};
const git = (...args) => execFileSync("git", args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] }).toString();

generate(dir, SHAPES.dynamo);
// As a real project would: generated files and bakeplan's inputs are not build-context files.
writeFileSync(join(dir, ".dockerignore"), "bake/\ndocker-bake*.json\ndocker-bake.hcl\ncontext.yaml\ntemplates/\n");
git("init", "-q", "-b", "main");
git("add", "-A");
git("commit", "-q", "-m", "matrix");
git("checkout", "-q", "-b", "bump");
const cfg = join(dir, "context.yaml");
const yaml = readFileSync(cfg, "utf8");
if (!yaml.includes("VLLM_REF: v0.19.1")) throw new Error("the generated context.yaml has no VLLM_REF: v0.19.1");
writeFileSync(cfg, yaml.replace("VLLM_REF: v0.19.1", "VLLM_REF: v0.20.0"));
git("commit", "-q", "-am", "bump vLLM");
git("checkout", "-q", "-b", "template", "main");
const runtime = join(dir, "templates", "vllm_runtime.liquid");
const MOUNT = "RUN --mount=type=cache,target=/root/.cache/uv \\\n    --mount=type=bind,from=wheel_builder";
const text = readFileSync(runtime, "utf8");
if (!text.includes(MOUNT)) throw new Error("templates/vllm_runtime.liquid has no wheel install RUN");
writeFileSync(runtime, text.replace(MOUNT, MOUNT.replace("/root/.cache/uv", "/root/.cache/uv,id=uv-runtime")));
git("commit", "-q", "-am", "vLLM runtime: its own uv cache");
const SCENARIOS = [
  { branch: "bump", label: "one framework's ARG bumped" },
  { branch: "template", label: "one line of vllm_runtime.liquid changed" },
];

// The CLI in a wrapper that reports its own CPU time at exit: on a shared machine the wall clock
// mostly measures the other processes.
const WRAPPER = `const { main } = await import(${JSON.stringify(join(REPO, "dist", "bin.js"))}); process.on("exit", () => { const u = process.resourceUsage(); process.stderr.write("BENCH_CPU " + (u.userCPUTime + u.systemCPUTime) / 1000 + "\\n"); }); process.exitCode = await main(process.argv);`;

function run(args, extraEnv = {}) {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, ["--input-type=module", "-e", WRAPPER, "bakeplan", ...args], {
    cwd: dir,
    env: { ...env, ...extraEnv },
    encoding: "utf8",
  });
  const wall = performance.now() - t0;
  if (res.status !== 0) throw new Error(`bakeplan ${args.join(" ")}: exit ${res.status}\n${res.stderr}`);
  const cpu = Number(/BENCH_CPU ([\d.]+)/.exec(res.stderr)?.[1] ?? NaN);
  return { wall, cpu, stdout: res.stdout, stderr: res.stderr.replace(/^BENCH_CPU .*\n/m, "") };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = Object.fromEntries(SCENARIOS.map((c) => [c.branch, { plan: [], replan: [], affected: [] }]));
const last = {};
// Interleaved: each repetition runs every scenario, so the machine's drift touches them alike.
for (let i = 0; i < REPS; i++) {
  for (const { branch } of SCENARIOS) {
    git("checkout", "-q", branch);
    rmSync(join(dir, "bake"), { recursive: true, force: true });
    rmSync(join(dir, "docker-bake.json"), { force: true });
    runs[branch].plan.push(run(["plan"], { BAKEPLAN_NO_CACHE: "1" }));
    runs[branch].replan.push(run(["plan"], { BAKEPLAN_NO_CACHE: "1" }));
    last[branch] = run(["affected", "--base", "main"]);
    runs[branch].affected.push(last[branch]);
  }
}
for (const { branch, label } of SCENARIOS) {
  const names = last[branch].stdout.split("\n").filter(Boolean);
  const m = (key, field) => median(runs[branch][key].map((r) => r[field]));
  const row = (text, key) =>
    console.log(
      `  ${text.padEnd(40)} ${m(key, "wall").toFixed(0).padStart(6)} ms wall ${m(key, "cpu").toFixed(0).padStart(6)} ms CPU`,
    );
  console.log(`affected on the Dynamo shape (${REPS} repetitions, medians; ${label})`);
  row("bakeplan plan, fresh output:", "plan");
  row("bakeplan plan over existing files:", "replan");
  row(`bakeplan affected --base main (${names.length} affected):`, "affected");
  const ratio = (field) => (m("affected", field) / m("plan", field)).toFixed(2);
  console.log(`  affected / fresh plan: ${ratio("wall")}x wall, ${ratio("cpu")}x CPU (goal: at most 2x)`);
  console.log(`  ${last[branch].stderr.trim().split("\n").pop()}`);
}
