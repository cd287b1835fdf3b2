// A link from the clinic's system, as the doctor reads it before confirming.

import type { RecordLink } from "../bindings/RecordLink";

export interface OfferLine {
  label: string;
  value: string;
}

/** What the confirmation shows: the consultation, the patient, the language. */
export function offerLines(link: RecordLink): OfferLine[] {
  return [
    { label: "Consultation ID", value: link.session_id },
    { label: "Patient or reference", value: link.reference || "(none given)" },
    { label: "Language", value: link.language ?? "as set in Settings" },
  ];
}

/** One sentence for screen readers when the offer appears. */
export function offerAnnouncement(link: RecordLink): string {
  const who = link.reference ? ` for ${link.reference}` : "";
  return `The clinic system asks to record consultation ${link.session_id}${who}. Confirm to start.`;
}
