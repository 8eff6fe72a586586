// How a skipped end-to-end suite carries its reason in its name, read back by the reporter.
const MARK = /\(skipped: (.+)\)$/;

/** The name of a suite skipped because `missing`: `bakeplan bake (skipped: no Docker engine answers; run `make docker-up`)`. */
export function skippedSuiteName(name: string, missing: string): string {
  return `${name} (skipped: ${missing}; run \`make docker-up\`)`;
}

/** The reason in a skipped suite's name, if it has one. */
export function skipReason(suiteName: string): string | undefined {
  return MARK.exec(suiteName)?.[1];
}
