import { test } from "node:test";
import assert from "node:assert/strict";
import { offerAnnouncement, offerLines } from "./link.js";

test("the offer names the consultation, the patient and the language", () => {
  const lines = offerLines({ session_id: "ENC-2026-0042", reference: "Room 3, Mr Jones", language: "hi-IN" });
  assert.deepEqual(lines, [
    { label: "Consultation ID", value: "ENC-2026-0042" },
    { label: "Patient or reference", value: "Room 3, Mr Jones" },
    { label: "Language", value: "hi-IN" },
  ]);
});

test("missing parts are said, not left blank", () => {
  const lines = offerLines({ session_id: "7", reference: "", language: null });
  assert.equal(lines[1].value, "(none given)");
  assert.equal(lines[2].value, "as set in Settings");
  assert.equal(
    offerAnnouncement({ session_id: "7", reference: "", language: null }),
    "The clinic system asks to record consultation 7. Confirm to start.",
  );
});
