import { createRequire } from "node:module";
import type * as LiquidJS from "liquidjs";

/**
 * liquidjs, loaded with require(): it is CommonJS, and through import() Node's ESM loader first
 * scans its 200 KB for export names (~30 ms of every run that renders). Same module instance.
 */
export const liquidjs = createRequire(import.meta.url)("liquidjs") as typeof LiquidJS;
