// src/schedule.ts: a worker still starting up takes no jobs, so a short run is not held up by it.

import { describe, expect, it } from "vitest";
import type { Job } from "../src/jobs.js";
import { runOnPorts, type JobPort } from "../src/schedule.js";

const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i }) as unknown as Job);
const tick = () => new Promise((r) => setTimeout(r, 1));

function port(name: string, log: string[], ready?: Promise<unknown>, fail = false): JobPort {
  return { ready, run: async (job) => { await tick(); if (fail) throw new Error(`${name} cannot start`); log.push(`${name}:${(job as unknown as { id: number }).id}`); } };
}

describe("runOnPorts", () => {
  it("hands nothing to a port before it is ready", async () => {
    const log: string[] = [];
    let ready!: () => void;
    const late = new Promise<void>((r) => { ready = r; });
    const done: number[] = [];
    const run = runOnPorts([port("main", log), port("worker", log, late)], jobs(6), (j) => done.push((j as unknown as { id: number }).id), undefined, 2);
    // the ready port runs every job while the other is still starting
    await new Promise((r) => setTimeout(r, 50));
    ready();
    await run;
    expect(log.every((l) => l.startsWith("main:"))).toBe(true);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("a ready port shares the jobs", async () => {
    const log: string[] = [];
    await runOnPorts([port("a", log), port("b", log, Promise.resolve())], jobs(8), () => {}, undefined, 1);
    expect(log.some((l) => l.startsWith("a:"))).toBe(true);
    expect(log.some((l) => l.startsWith("b:"))).toBe(true);
    expect(log).toHaveLength(8);
  });

  it("a port that failed to start fails the run when it is handed a job", async () => {
    const log: string[] = [];
    await expect(runOnPorts([port("broken", log, Promise.resolve(), true)], jobs(3), () => {})).rejects.toThrow(/cannot start/);
  });
});
