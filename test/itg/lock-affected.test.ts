// A locked project in a real git repository against the loopback registry: `lock` resolves the
// images, a tag moves in the registry, `lock --update IMAGE` refreshes only that one, and
// `affected` / `bake --affected` then build exactly the targets of the moved image (BASE planned
// with its own committed lock, from git objects).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { gitRepo, isolateGit, type Repo } from "../git-helpers.js";
import { testdir } from "../helpers.js";
import { describeWithDocker, REGISTRY } from "./docker.js";
import { bakeplan, deleteRepository, docker, localEnv, registry, registryTags, type Run } from "./e2e.js";

isolateGit();

const id = randomBytes(4).toString("hex");
const BASES = `bakeplan-la-${id}/base`;
const OUT = `bakeplan-la-${id}/out`;
const A = `${REGISTRY}/${BASES}:a`;
const B = `${REGISTRY}/${BASES}:b`;

const CONTEXT = `project:
  name: la
axes:
  framework:
    alpha:
      images:
        BASE_IMAGE: ${A}
    beta:
      images:
        BASE_IMAGE: ${B}
  target:
    runtime:
      name: ""
stage_axis: target
defaults:
  platforms: [linux/amd64]
publish:
  registry: ${REGISTRY}
  repository: ${OUT}
  tags: ["latest-{name}"]
build:
  locked: true
  network: none
`;

function ok(run: Run): Run {
  expect(run.code, `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-3000)}`).toBe(0);
  return run;
}

async function digestOf(tag: string): Promise<string> {
  return (await registry(`/v2/${BASES}/manifests/${tag}`, "HEAD")).headers.get("docker-content-digest")!;
}

describeWithDocker("engine", "a locked project: lock --update and affected against the loopback registry", () => {
  let repo: Repo;
  // A developer's shell with a Docker config of its own (no test reads the user's).
  const env = () => ({ ...localEnv(), DOCKER_CONFIG: testdir({ "config.json": "{}" }) });

  beforeAll(() => {
    for (const ref of [A, B]) {
      docker(["tag", "local/busybox:1", ref]);
      docker(["push", "-q", ref]);
      docker(["image", "rm", ref]);
    }
  });

  afterAll(() => {
    deleteRepository(BASES);
    deleteRepository(OUT);
    for (const line of docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n"))
      if (line.startsWith(`${REGISTRY}/bakeplan-la-${id}/`)) docker(["image", "rm", "--force", line]);
  });

  it("lock --update IMAGE refreshes only that image; affected and bake --affected then build exactly its targets", async () => {
    repo = gitRepo({
      "context.yaml": CONTEXT,
      "templates/Dockerfile.liquid": "{% arg BASE_IMAGE %}\nFROM ${BASE_IMAGE} AS runtime\nRUN echo ok > /ok.txt\n",
    });
    const dir = repo.dir;
    const aBefore = await digestOf("a");
    ok(await bakeplan(["lock"], { cwd: dir, env: env() }));
    ok(await bakeplan(["plan"], { cwd: dir, env: env() }));
    repo.commit("lock and plan");
    repo.git("checkout", "-q", "-b", "bump-a");
    const lockFile = join(dir, "bakeplan.lock.json");
    const locked = readFileSync(lockFile, "utf8");
    expect(locked).toContain(`"${A}": {\n      "digest": "${aBefore}"`);

    // The tag a moves in the registry: an image with one more label, pushed over it.
    const container = docker(["create", "local/busybox:1", "true"]).trim();
    docker(["commit", "--change", `LABEL moved=${id}`, container, A]);
    docker(["rm", container]);
    docker(["push", "-q", A]);
    docker(["image", "rm", A]);
    const aAfter = await digestOf("a");
    expect(aAfter).not.toBe(aBefore);

    // Without --update the lock keeps what it has; an image no target uses is refused.
    expect(ok(await bakeplan(["lock"], { cwd: dir, env: env() })).stdout).toContain(
      "2 images, 0 resolved anew, 0 dropped (unchanged)",
    );
    expect(ok(await bakeplan(["lock", "--update", B], { cwd: dir, env: env() })).stdout).toContain(
      "0 resolved anew, 0 dropped (unchanged)",
    );
    expect(readFileSync(lockFile, "utf8")).toBe(locked);
    const unknown = await bakeplan(["lock", "--update", `${REGISTRY}/${BASES}:c`], { cwd: dir, env: env() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`--update ${REGISTRY}/${BASES}:c: no target uses this image. Images: ${A}, ${B}`);

    expect(ok(await bakeplan(["lock", "--update", A], { cwd: dir, env: env() })).stdout).toContain(
      "2 images, 1 resolved anew, 0 dropped\n",
    );
    type LockJson = { images: Record<string, { digest: string; platforms: Record<string, string> }> };
    const before = JSON.parse(locked) as LockJson;
    const after = JSON.parse(readFileSync(lockFile, "utf8")) as LockJson;
    expect(after.images[A]!.digest).toBe(aAfter);
    expect(after.images[B]).toEqual(before.images[B]);

    // The working tree against main: only alpha's base moved.
    const affected = ok(await bakeplan(["affected", "--base", "main", "--explain"], { cwd: dir, env: env() }));
    expect(affected.stdout).toBe(`alpha\n  image ${A}: ${aBefore} -> ${aAfter} (bakeplan.lock.json)\n`);

    ok(await bakeplan(["plan"], { cwd: dir, env: env() }));
    repo.commit("bump a");
    const run = ok(await bakeplan(["bake", "--affected", "main", "--push"], { cwd: dir, env: env() }));
    expect(run.stderr).toContain("bakeplan: building 1 affected target: alpha\n");
    expect(await registryTags(OUT)).toEqual(["latest-alpha"]);
    // Built FROM the moved base, by digest: the pushed image names it.
    const index = JSON.parse((await registry(`/v2/${OUT}/manifests/latest-alpha`)).body) as {
      manifests?: { digest: string; platform?: { architecture: string } }[];
    };
    const manifest = index.manifests
      ? index.manifests.find((m) => m.platform?.architecture === "amd64")!.digest
      : "latest-alpha";
    const annotations = (
      JSON.parse((await registry(`/v2/${OUT}/manifests/${manifest}`)).body) as {
        annotations?: Record<string, string>;
      }
    ).annotations;
    expect(annotations?.["org.opencontainers.image.base.name"]).toBe(A);
    expect(annotations?.["org.opencontainers.image.base.digest"]).toBe(after.images[A]!.platforms["linux/amd64"]);
  });
});
