import type { PackageManager } from "../config/normalize.js";

// One RUN per package manager: a BuildKit cache mount for downloads, and no package index or
// logs left in the layer. A package may be limited to one manager with a prefix: `apt:libssl-dev`.

const FAMILY_PREFIX: Record<PackageManager, string[]> = {
  apt: ["apt", "deb"],
  dnf: ["dnf", "rpm"],
  microdnf: ["microdnf", "dnf", "rpm"],
  yum: ["yum", "rpm"],
  apk: ["apk"],
};

export function packagesFor(pm: PackageManager, requested: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of requested) {
    const m = /^([a-z]+):(.+)$/.exec(p);
    if (!m) out.push(p);
    else if (FAMILY_PREFIX[pm].includes(m[1]!)) out.push(m[2]!);
  }
  return out;
}

export function installPackages(pm: PackageManager, requested: readonly string[]): string {
  const pkgs = packagesFor(pm, requested);
  if (pkgs.length === 0) return `# install_packages: nothing to install with ${pm}`;
  const list = pkgs.join(" ");
  switch (pm) {
    case "apt":
      return [
        "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\",
        "    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \\",
        "    rm -f /etc/apt/apt.conf.d/docker-clean && \\",
        "    apt-get update && \\",
        `    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${list}`,
      ].join("\n");
    case "dnf":
      return [
        "RUN --mount=type=cache,target=/var/cache/dnf,sharing=locked \\",
        `    dnf install -y --setopt=keepcache=1 --setopt=install_weak_deps=0 --nodocs ${list} && \\`,
        "    rm -rf /var/log/dnf* /var/log/hawkey.log",
      ].join("\n");
    case "microdnf":
      return [
        "RUN --mount=type=cache,target=/var/cache/yum,sharing=locked \\",
        `    microdnf install -y --setopt=keepcache=1 --setopt=install_weak_deps=0 --nodocs ${list} && \\`,
        "    rm -rf /var/log/dnf* /var/log/hawkey.log",
      ].join("\n");
    case "yum":
      return [
        "RUN --mount=type=cache,target=/var/cache/yum,sharing=locked \\",
        `    yum install -y --setopt=keepcache=1 --setopt=tsflags=nodocs ${list} && \\`,
        "    rm -rf /var/log/yum.log",
      ].join("\n");
    case "apk":
      return `RUN --mount=type=cache,target=/var/cache/apk,sharing=locked \\\n    apk add --cache-dir /var/cache/apk ${list}`;
  }
}

/**
 * The install command alone, for inside a RUN the template writes (docker-library's build
 * dependencies): the manager's flags, one package per line, no cache mount and no cleanup, which
 * the template writes around it. The last package ends the line, so `; \` or `&& \` can follow.
 */
export function installCommand(
  pm: PackageManager,
  requested: readonly string[],
  opts: { indent: string; virtual?: string },
): string {
  const pkgs = packagesFor(pm, requested);
  // A no-op command keeps a `...; \` chain a valid shell line.
  if (pkgs.length === 0) return `: install_packages: nothing to install with ${pm}`;
  const command: Record<PackageManager, string> = {
    apt: "apt-get install -y --no-install-recommends",
    dnf: "dnf install -y --setopt=install_weak_deps=0 --nodocs",
    microdnf: "microdnf install -y --setopt=install_weak_deps=0 --nodocs",
    yum: "yum install -y --setopt=tsflags=nodocs",
    apk: `apk add --no-cache${opts.virtual === undefined ? "" : ` --virtual ${opts.virtual}`}`,
  };
  return [command[pm], ...pkgs.map((p) => `${opts.indent}${p}`)].join(" \\\n");
}
