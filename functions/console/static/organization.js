// The organization's policy page (#/organization, tokens:manage; an admin may add ?id=<organization>):
// GET and PUT /v1/organizations/{id}/policy. Its allowed_cidrs bind every token of the organization
// (a token's own list can only narrow it); the PUT carries If-Match, so a change made meanwhile is
// never overwritten (412, in words). A worker copies a new list onto the tokens after the PUT answers:
// "On every token" says whether it is done (propagated).

import { ApiError, conflictInWords, failed, field, h, readFor, render, request, showAlert, when } from "./console.js";

export async function organizationPage(organizationId) {
  const path = `/v1/organizations/${encodeURIComponent(organizationId)}/policy`;
  const title = `Organization ${organizationId}`;
  const read = await readFor(title, () => request("GET", path));
  if (!read) return;
  const { data: policy, etag } = read;
  const cidrsText = policy.allowed_cidrs.join("\n");
  const cidrs = h("textarea", { id: "org-cidrs", rows: "4", class: "mono", "aria-describedby": "org-cidrs-hint" }, cidrsText);
  const form = h(
    "form",
    { class: "stack", id: "org-policy-form", onsubmit: save },
    h("div", {}, h("label", { for: "org-cidrs" }, "Allowed from (CIDRs)"), cidrs),
    h(
      "p",
      { class: "hint", id: "org-cidrs-hint" },
      "One a line; empty: anywhere. Every token of the organization must also be presented from one of them; a token's own list can only narrow this one.",
    ),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save policy")),
  );
  render(
    title,
    h(
      "section",
      { class: "panel", id: "org-policy", "aria-labelledby": "org-policy-heading" },
      h("h2", { id: "org-policy-heading" }, "Policy"),
      h(
        "dl",
        { class: "fields" },
        field("Allowed from", h("span", { id: "org-policy-cidrs" }, policy.allowed_cidrs.length ? policy.allowed_cidrs.join(", ") : "anywhere")),
        field("Modified", policy.modified_at ? when(policy.modified_at) : null),
        field("Version", String(policy.version)),
        field(
          "On every token",
          h("span", { id: "org-policy-propagated" }, policy.propagated ? "yes" : "being copied (reload to follow; tokens keep the previous list until then)"),
        ),
      ),
    ),
    form,
  );

  async function save(event) {
    event.preventDefault();
    const allowed = cidrs.value.split("\n").map((line) => line.trim()).filter(Boolean);
    if (allowed.join("\n") === cidrsText) {
      showAlert("Nothing to change.", [], "info");
      return;
    }
    try {
      await request("PUT", path, { allowed_cidrs: allowed }, etag);
      await organizationPage(organizationId);
    } catch (error) {
      if (error instanceof ApiError && error.problem.type && [403, 404, 412, 422].includes(error.status)) {
        await organizationPage(organizationId);
        if (error.status === 412) showAlert(...conflictInWords("policy"));
        else showAlert(error.message, error.fieldErrors);
      } else await failed(error);
    }
  }
}
