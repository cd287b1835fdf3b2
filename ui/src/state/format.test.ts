import { test } from "node:test";
import assert from "node:assert/strict";
import { levelWords, lineTime, recordedSecs } from "./format.js";

test("a line's time counts from the start of the consultation", () => {
  assert.deepEqual(lineTime(0), { label: "0:00", iso: "PT0S" });
  assert.deepEqual(lineTime(16_000 * 65 + 15_999), { label: "1:05", iso: "PT1M5S" });
  assert.deepEqual(lineTime(16_000 * (3600 + 2 * 60 + 3)), { label: "1:02:03", iso: "PT1H2M3S" });
  assert.deepEqual(lineTime(16_000 * 3600), { label: "1:00:00", iso: "PT1H0M0S" });
});

test("the level meter's words follow its colours", () => {
  assert.equal(levelWords(-60), "No sound");
  assert.equal(levelWords(-40), "Quiet");
  assert.equal(levelWords(-18), "Good");
  assert.equal(levelWords(-6), "Good");
  assert.equal(levelWords(-2), "Loud");
});

test("the elapsed time stops while paused and leaves earlier pauses out", () => {
  const view = { started_at: 1_000_000, paused_since: null, paused_ms: 0 };
  assert.equal(recordedSecs(view, 1_065_000), 65);
  const paused = { ...view, paused_since: 1_065_000 };
  assert.equal(recordedSecs(paused, 1_200_000), 65, "stopped while paused");
  const resumed = { ...view, paused_ms: 135_000 };
  assert.equal(recordedSecs(resumed, 1_210_000), 75, "after the pause, on from where it stopped");
});
