import { createRequire } from "node:module";
import type * as LiquidJS from "liquidjs";

let loaded: typeof LiquidJS | undefined;

/**
 * liquidjs, loaded on first use (only renders that need it do: a compiled template set never
 * loads it), with require(): it is CommonJS, and through import() Node's ESM loader first scans
 * its 200 KB for export names (~30 ms).
 */
export function liquidjs(): typeof LiquidJS {
  return (loaded ??= createRequire(import.meta.url)("liquidjs") as typeof LiquidJS);
}
