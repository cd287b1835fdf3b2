import { test } from "node:test";
import assert from "node:assert/strict";
import { describeStatus } from "./status.js";
import { clock, roughly } from "./format.js";

test("reconnecting says which attempt and when the next one is", () => {
  const s = describeStatus({ state: "reconnecting", attempt: 3, next_try_in_ms: 4000, reason: "connection reset" });
  assert.equal(s.label, "Reconnecting");
  assert.match(s.detail, /attempt 3, next in 4 s/);
  assert.equal(s.tone, "warn");
});

test("offline reassures that the audio is safe", () => {
  const s = describeStatus({ state: "offline", buffered_secs: 125, attempt: 7, next_try_in_ms: 30000 });
  assert.match(s.detail, /2 min recorded on this computer, safe/);
});

test("sign-in needed says recording continues", () => {
  const s = describeStatus({ state: "sign_in_required" });
  assert.match(s.detail, /Recording continues/);
});

test("backlog shows the time left, failures show the reason", () => {
  assert.match(describeStatus({ state: "uploading_backlog", seconds_left: 40 }).detail, /40 s left/);
  const failed = describeStatus({ state: "failed", reason: "the disk is full" });
  assert.equal(failed.tone, "error");
  assert.equal(failed.detail, "the disk is full");
  assert.equal(describeStatus(null).label, "Ready");
});

test("durations read naturally", () => {
  assert.equal(clock(0), "0:00");
  assert.equal(clock(245), "4:05");
  assert.equal(clock(3723), "1:02:03");
  assert.equal(roughly(12.4), "12 s");
  assert.equal(roughly(3900), "1 h 5 min");
});

test("a seed session ends as sent, never as uploaded: that server confirms nothing", () => {
  const sent = describeStatus({ state: "sent" });
  assert.equal(sent.label, "Sent");
  assert.match(sent.detail, /does not confirm/);
  assert.doesNotMatch(sent.detail, /confirmed the whole/);
  assert.equal(describeStatus({ state: "complete" }).label, "Uploaded");
});
