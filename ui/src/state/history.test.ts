import { test } from "node:test";
import assert from "node:assert/strict";
import type { SessionView } from "../bindings/SessionView";
import { uploadText } from "./history.js";
import { humanDate } from "./format.js";

const session = (over: Partial<SessionView>): SessionView =>
  ({
    id: "ENC-1",
    reference: "Room 3",
    started_at: Date.UTC(2026, 11, 3, 10, 30),
    state: "uploading",
    failure: null,
    duration_secs: 60,
    pending_secs: 9,
    recording: false,
    uploading: true,
    ...over,
  }) as SessionView;

test("offline, History says the session waits for the connection, not that it uploads", () => {
  assert.equal(uploadText(session({}), true), "Waiting for the connection — 9 s to send");
  assert.equal(uploadText(session({}), false), "Uploading — 9 s left");
  assert.equal(uploadText(session({ state: "complete", pending_secs: 0 }), true), "Uploaded");
  assert.equal(uploadText(session({ recording: true }), true), "Recording");
});

test("dates are written out, not numeric only", () => {
  const text = humanDate(Date.UTC(2026, 11, 3, 10, 30), "en-GB");
  assert.match(text, /Dec 2026/);
  assert.doesNotMatch(text, /^\d+\/\d+\/\d+/);
});
