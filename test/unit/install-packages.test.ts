// {% install_packages %}: the whole RUN, and the inline form for inside a RUN the template writes.
import { describe, expect, it } from "vitest";
import type { PackageManager } from "../../src/config/normalize.js";
import { TemplateEngine } from "../../src/render/templates.js";
import { templateFiles } from "../helpers.js";

/** docker-library's build-dependency block, written once for apt and apk. */
const BLOCK = `FROM base
RUN set -eux; \\
\t{% if vars.alpine %}apk add --no-cache ca-certificates; \\
\t{% else %}apt-get update; \\
\t{% endif %}{% install_packages inline virtual=.build-deps gcc make apt:libssl-dev apk:openssl-dev %}; \\
\tmake install; \\
\t{% if vars.alpine %}apk del --no-network .build-deps{% else %}apt-mark auto '.*' > /dev/null; apt-get purge -y --auto-remove{% endif %}
`;

function both(template: string, packageManager: PackageManager, alpine: boolean): string {
  const files = templateFiles({ "Dockerfile.liquid": template });
  const input = {
    scope: { vars: { alpine: alpine || null } },
    args: new Map<string, string>(),
    packageManager,
    variantLabel: "t",
  };
  const compiled = new TemplateEngine(files, "templates").render("Dockerfile.liquid", input);
  const liquid = new TemplateEngine(files, "templates", { compile: false }).render("Dockerfile.liquid", input);
  expect(compiled.text).toBe(liquid.text);
  return compiled.text.replace(/^# --- .* ---\n/, "");
}

describe("{% install_packages inline %}", () => {
  it("writes apk add with --virtual, one package per line, indented one level below the tag's line", () => {
    expect(both(BLOCK, "apk", true)).toBe(
      "FROM base\nRUN set -eux; \\\n\tapk add --no-cache ca-certificates; \\\n" +
        "\tapk add --no-cache --virtual .build-deps \\\n\t\tgcc \\\n\t\tmake \\\n\t\topenssl-dev; \\\n" +
        "\tmake install; \\\n\tapk del --no-network .build-deps\n",
    );
  });

  it("writes apt-get install with its flags, no cache mount and no apt-get update of its own", () => {
    expect(both(BLOCK, "apt", false)).toBe(
      "FROM base\nRUN set -eux; \\\n\tapt-get update; \\\n" +
        "\tapt-get install -y --no-install-recommends \\\n\t\tgcc \\\n\t\tmake \\\n\t\tlibssl-dev; \\\n" +
        "\tmake install; \\\n\tapt-mark auto '.*' > /dev/null; apt-get purge -y --auto-remove\n",
    );
  });

  it("indents with four spaces under a line indented with spaces, and the dnf family's flags", () => {
    const text = both("RUN set -eux; \\\n  {% install_packages inline gcc rpm:make %} && \\\n  true\n", "dnf", false);
    expect(text).toBe(
      "RUN set -eux; \\\n  dnf install -y --setopt=install_weak_deps=0 --nodocs \\\n      gcc \\\n      make && \\\n  true\n",
    );
    expect(both("RUN {% install_packages inline yum:x %}\n", "yum", false)).toBe(
      "RUN yum install -y --setopt=tsflags=nodocs \\\n    x\n",
    );
  });

  it("keeps the chain valid when nothing is left for the manager", () => {
    expect(both("RUN {% install_packages inline apk:musl-dev %}; true\n", "apt", false)).toBe(
      "RUN : install_packages: nothing to install with apt; true\n",
    );
  });

  it("refuses virtual= without inline, and a bad group name", () => {
    const render = (t: string) => () => both(t, "apk", true);
    expect(render("{% install_packages virtual=.b gcc %}\n")).toThrow("virtual= is for the inline form");
    expect(render("{% install_packages inline virtual=a/b gcc %}\n")).toThrow("virtual=a/b is not a group name");
  });
});
