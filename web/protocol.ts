// Messages between the page (web/main.ts) and its run worker (web/run-worker.ts).

import type { ErrorCode, PlanJson, PlanSettings } from "../src/index.js";

/** Plan settings that can be posted (the imatrix travels as a File beside them). */
export type PostedSettings = Omit<PlanSettings, "imatrix" | "rules">;

export interface Inputs {
  /** the model: one file, or every shard of a split model */
  readonly files: File[];
  readonly imatrix?: File;
  readonly settings: PostedSettings;
}

export type ToWorker =
  | { type: "plan"; id: number; inputs: Inputs }
  | { type: "run"; id: number; inputs: Inputs; threads: number; output: string }
  | { type: "cancel" };

export interface Failure {
  readonly message: string;
  readonly code?: ErrorCode;
}

export type FromWorker =
  | { type: "plan"; id: number; plan: PlanJson; summary: string[]; rules: string[]; log: string[] }
  | { type: "progress"; id: number; done: number; total: number }
  | { type: "done"; id: number; output: string; bytes: number; ms: number }
  | { type: "cancelled"; id: number }
  | { type: "error"; id: number; error: Failure };
