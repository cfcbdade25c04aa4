import type { Branding } from './branding.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';

/** One organization the person belongs to. */
export interface OrganizationChoice {
  id: string;
  name: string;
}

/** What the organization picker needs. */
export interface SelectOrganizationPageInput {
  branding: Branding;
  stylesheetHref: string;
  clientName: string;
  action: string;
  csrfToken: string;
  interactionId: string;
  /** The signed-in account, shown so the person knows whose organizations these are. */
  email: string | null;
  organizations: OrganizationChoice[];
}

function initial(name: string): string {
  return (Array.from(name.trim())[0] ?? '?').toUpperCase();
}

/** The page where a member of several organizations picks the one to sign in to. */
export function renderSelectOrganizationPage(input: SelectOrganizationPageInput): string {
  const choices = input.organizations.map(
    (org) => html`<li><button class="org-button" type="submit" name="organization_id" value="${org.id}">
<span class="avatar" aria-hidden="true">${initial(org.name)}</span>
<span class="org-name">${org.name}</span>
<span class="chevron" aria-hidden="true">›</span>
</button></li>`,
  );
  const body = html`<h1>Choose an organization</h1>
<p class="subtitle">to continue to <strong>${input.clientName}</strong>${input.email ? html`<br>as <strong>${input.email}</strong>` : null}</p>
<form method="post" action="${input.action}">
<input type="hidden" name="interaction" value="${input.interactionId}">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
${
  choices.length > 0
    ? html`<ul class="org-list" aria-label="Organizations">${choices}</ul>`
    : html`<p class="empty">You are not a member of any organization.</p>`
}
</form>`;
  return renderPage({
    branding: input.branding,
    title: 'Choose an organization',
    body,
    stylesheetHref: input.stylesheetHref,
  });
}
