import { test } from "node:test";
import assert from "node:assert/strict";
import { describeStatus, isNewState, outageBanner } from "./status.js";
import { clock, roughly } from "./format.js";

test("reconnecting says when the next try is, without an attempt counter", () => {
  const s = describeStatus({ state: "reconnecting", attempt: 3, next_try_in_ms: 4000, reason: "connection reset" });
  assert.equal(s.label, "Reconnecting");
  assert.match(s.detail, /next try in 4 s/);
  assert.doesNotMatch(s.detail, /attempt/);
  assert.equal(s.tone, "warn");
});

test("an outage is stated in the banner in fixed words, while recording or after", () => {
  const retry = (attempt: number) =>
    outageBanner({ state: "reconnecting", attempt, next_try_in_ms: 1000 * attempt, reason: "refused" }, true);
  assert.equal(retry(1), retry(7), "retries do not change the sentence");
  assert.match(retry(1) ?? "", /^Connection lost — still recording safely on this computer; the text will catch up/);
  const later = outageBanner({ state: "offline", buffered_secs: 40, attempt: 9, next_try_in_ms: 5000 }, false);
  assert.match(later ?? "", /kept safely on this computer and will be sent/);
  assert.equal(outageBanner({ state: "connected" }, true), null);
  assert.equal(outageBanner({ state: "uploading_backlog", seconds_left: 3 }, true), null);
  assert.equal(outageBanner(null, false), null);
});

test("only a change of state is said aloud, not each retry", () => {
  const retry = { state: "reconnecting", attempt: 2, next_try_in_ms: 1000, reason: "x" } as const;
  assert.equal(isNewState({ ...retry, attempt: 1 }, retry), false);
  assert.equal(isNewState({ state: "connected" }, retry), true);
  assert.equal(isNewState(null, { state: "connected" }), true);
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
