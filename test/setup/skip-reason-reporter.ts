import type { Reporter, TestModule } from "vitest/node";
import { skipReason } from "./skip-reason.js";

/**
 * Ends a run whose end-to-end tests were skipped with the one-line reason, after vitest's summary
 * ("N skipped" alone does not say why). Never in CI, where a missing engine fails instead.
 */
export default class SkipReasonReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    if (process.env.CI === "true") return;
    const reasons = new Set<string>();
    for (const module of testModules)
      for (const suite of module.children.allSuites()) {
        const reason = skipReason(suite.name);
        if (reason !== undefined && suite.state() === "skipped") reasons.add(reason);
      }
    for (const reason of reasons) process.stdout.write(`end-to-end tests skipped: ${reason}\n`);
  }
}
