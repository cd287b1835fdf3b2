import { test } from "node:test";
import assert from "node:assert/strict";
import { Transcript } from "./transcript.js";

const update = (text: string, is_final: boolean, start: number, end: number) => ({ text, is_final, start, end });

test("partials are provisional and replaced by the final", () => {
  const t = new Transcript();
  t.apply(update("blood", false, 0, 8000));
  t.apply(update("blood pressure", false, 0, 16000));
  assert.deepEqual(t.view(), { finals: [], partial: "blood pressure" });
  t.apply(update("blood pressure is normal", true, 0, 32000));
  assert.deepEqual(t.view().partial, null);
  assert.equal(t.text(), "blood pressure is normal");
});

test("finals sent twice after a reconnect are shown once, in order", () => {
  const t = new Transcript();
  t.apply(update("second", true, 32000, 48000));
  t.apply(update("first", true, 0, 16000));
  t.apply(update("second", true, 32000, 48000));
  assert.equal(t.text(), "first\nsecond");
});

test("a partial after the last final survives it", () => {
  const t = new Transcript();
  t.apply(update("next words", false, 50000, 60000));
  t.apply(update("earlier", true, 0, 16000));
  assert.equal(t.view().partial, "next words");
});

test("empty finals add no line", () => {
  const t = new Transcript();
  t.apply(update("", true, 0, 100));
  assert.deepEqual(t.view().finals, []);
});

test("earlier lines keep their identity as finals arrive, so the window redraws only what is new", () => {
  const t = new Transcript();
  t.apply(update("first", true, 0, 16000));
  const first = t.view().finals[0];
  t.apply(update("second", true, 16000, 32000));
  t.apply(update("first", true, 0, 16000)); // repeated after a reconnect
  t.apply(update("half", false, 32000, 40000));
  assert.equal(t.view().finals[0], first);
  assert.deepEqual(t.view().finals.map((l) => l.text), ["first", "second"]);
});

test("a final that arrives late is put in its place, and a changed repeat replaces its line", () => {
  const t = new Transcript();
  t.apply(update("one", true, 0, 100));
  t.apply(update("three", true, 200, 300));
  t.apply(update("two", true, 100, 200));
  t.apply(update("three, corrected", true, 200, 300));
  assert.equal(t.text(), "one\ntwo\nthree, corrected");
});

test("a gap is shown before the words that start where it is, and is not copied as words", () => {
  const t = new Transcript();
  t.apply(update("before", true, 0, 16000));
  t.apply(update("after", true, 32000, 48000));
  t.markGap(32000, "asleep for 10 minutes");
  assert.deepEqual(
    t.view().finals.map((l) => [l.text, l.gap === true]),
    [
      ["before", false],
      ["asleep for 10 minutes", true],
      ["after", false],
    ],
  );
  assert.equal(t.text(), "before\nafter");
});
