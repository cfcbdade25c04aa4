import { describe, expect, it } from 'vitest';
import type { Branding } from './branding.ts';
import { accentTextColor } from './branding.ts';
import { contrastRatio, parseHexColor } from './color.ts';
import { renderErrorPage } from './error-page.ts';
import { renderFormPostPage } from './form-post-page.ts';
import { html, raw } from './html.ts';
import { renderPage } from './layout.ts';
import { renderLogoutConfirmPage } from './logout-confirm-page.ts';
import { renderSelectOrganizationPage } from './select-organization-page.ts';
import { renderSignInPage } from './sign-in-page.ts';
import { renderSignUpPage } from './sign-up-page.ts';
import { renderSignedOutPage } from './signed-out-page.ts';
import { renderStartAgainPage } from './start-again-page.ts';
import { renderStylesheet } from './stylesheet.ts';
import { formatWait, renderTooManyAttemptsPage } from './too-many-attempts-page.ts';

/** Breaks out of element content, of a double-quoted and of a single-quoted attribute. */
const evil = `<script>alert(1)</script>"' onmouseover=alert(2) x="\``;
const branding: Branding = { name: 'Acme', logoUrl: null, accentColor: '#4f46e5' };
const base = { branding, stylesheetHref: '/assets/login.css' };

function signIn(overrides: Partial<Parameters<typeof renderSignInPage>[0]> = {}): string {
  return renderSignInPage({
    ...base,
    clientName: 'Notes',
    action: '/login',
    csrfToken: 'csrf-123',
    interactionId: 'int_abc',
    email: null,
    error: null,
    signUpHref: '/signup?interaction=int_abc',
    cancel: { action: '/login/cancel?client_id=webc_1', interactionId: 'int_abc', csrfToken: 'csrf-cancel' },
    ...overrides,
  });
}

function signUp(overrides: Partial<Parameters<typeof renderSignUpPage>[0]> = {}): string {
  return renderSignUpPage({
    ...base,
    clientName: 'Notes',
    action: '/signup',
    csrfToken: 'csrf-123',
    interactionId: 'int_abc',
    email: null,
    name: null,
    errors: {},
    signInHref: '/login?interaction=int_abc',
    cancel: { action: '/login/cancel?client_id=webc_1', interactionId: 'int_abc', csrfToken: 'csrf-cancel' },
    passwordMinLength: 12,
    ...overrides,
  });
}

/** Every page, with hostile text in every slot that takes data. */
function everyPage(text: string): Record<string, string> {
  return {
    signIn: signIn({ clientName: text, email: text, error: text }),
    signUp: signUp({
      clientName: text,
      email: text,
      name: text,
      errors: { email: text, password: text, name: text, form: text },
    }),
    selectOrganization: renderSelectOrganizationPage({
      ...base,
      clientName: text,
      action: '/organization',
      csrfToken: 'csrf-123',
      interactionId: 'int_abc',
      email: text,
      organizations: [
        { id: text, name: text },
        { id: 'org_2', name: 'Second' },
      ],
    }),
    logoutConfirm: renderLogoutConfirmPage({
      ...base,
      clientName: text,
      email: text,
      action: '/oidc/logout',
      csrfToken: 'csrf-123',
      hiddenFields: { state: text, post_logout_redirect_uri: 'https://app.example/bye' },
    }),
    signedOut: renderSignedOutPage(base),
    error: renderErrorPage({
      ...base,
      title: text,
      message: text,
      code: text,
      action: { href: '/', label: text },
    }),
    startAgain: renderStartAgainPage({ ...base, clientName: text, restartHref: 'https://app.example/login' }),
    tooManyAttempts: renderTooManyAttemptsPage({ ...base, retryAfterSeconds: 300 }),
    formPost: renderFormPostPage({
      ...base,
      action: 'https://app.example/callback',
      fields: { code: text, state: text },
      scriptNonce: 'nonce-xyz',
    }),
  };
}

function tags(page: string, name: string): string[] {
  return page.match(new RegExp(`<${name}\\b[^>]*>`, 'g')) ?? [];
}

/** Opening tags with their double-quoted attribute values blanked, leaving only names and markup. */
function tagSkeletons(page: string): string[] {
  return (page.match(/<[a-z][^>]*>/gi) ?? []).map((tag) => tag.replace(/"[^"]*"/g, '""'));
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

describe('html', () => {
  it('escapes & < > " \' and ` in interpolated text', () => {
    expect(html`<p title="${`&<>"'\``}">${'<b>'}</p>`.toString()).toBe(
      '<p title="&amp;&lt;&gt;&quot;&#39;&#96;">&lt;b&gt;</p>',
    );
  });

  it('keeps SafeHtml as is, joins arrays and renders null, undefined and false as nothing', () => {
    const items = ['a<', 'b'].map((s) => html`<li>${s}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${raw('<hr>')}${0}`.toString()).toBe(
      '<ul><li>a&lt;</li><li>b</li></ul><hr>0',
    );
  });

  it('escapes objects that merely look like SafeHtml', () => {
    const forged = { toString: () => '<script>' } as unknown as string;
    expect(html`${forged}`.toString()).toBe('&lt;script&gt;');
  });
});

describe('accentTextColor', () => {
  it('puts white on dark accents and black on light ones', () => {
    expect(accentTextColor('#4f46e5')).toBe('#ffffff');
    expect(accentTextColor('#0000ff')).toBe('#ffffff');
    expect(accentTextColor('#000000')).toBe('#ffffff');
    expect(accentTextColor('#f5c518')).toBe('#000000');
    expect(accentTextColor('#00ff00')).toBe('#000000');
    expect(accentTextColor('#ffffff')).toBe('#000000');
  });

  it('always reaches WCAG AA (4.5:1) for button text, whatever the accent', () => {
    for (let r = 0; r <= 255; r += 51) {
      for (let g = 0; g <= 255; g += 17) {
        for (let b = 0; b <= 255; b += 51) {
          const accent = `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
          const ratio = contrastRatio(parseHexColor(accent), parseHexColor(accentTextColor(accent)));
          expect(ratio, accent).toBeGreaterThanOrEqual(4.5);
        }
      }
    }
  });

  it('rejects anything that is not a hex colour', () => {
    expect(() => accentTextColor('red')).toThrow(TypeError);
  });
});

describe('renderStylesheet', () => {
  it('sets the accent, its text colour and a hover shade as custom properties', () => {
    const css = renderStylesheet({ ...branding, accentColor: '#F5C518' });
    expect(css).toContain('--accent: #f5c518;');
    expect(css).toContain('--accent-text: #000000;');
    expect(css).toMatch(/--accent-hover: #[0-9a-f]{6};/);
    expect(css).toContain(':focus-visible');
  });

  it('darkens a pale accent until links on the white card reach 4.5:1', () => {
    const css = renderStylesheet({ ...branding, accentColor: '#f5c518' });
    const ink = /--accent-ink: (#[0-9a-f]{6});/.exec(css)?.[1];
    expect(ink).toBeDefined();
    expect(contrastRatio(parseHexColor(ink!), parseHexColor('#ffffff'))).toBeGreaterThanOrEqual(4.5);
  });

  it('refuses an accent that would inject CSS', () => {
    expect(() => renderStylesheet({ ...branding, accentColor: 'red;} body{display:none' })).toThrow(
      TypeError,
    );
  });
});

describe('renderPage', () => {
  it('is an English document with viewport, referrer and robots metadata and the brand in the title', () => {
    const page = renderPage({ ...base, title: 'Sign in', body: html`<h1>Hi</h1>` });
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).toContain('<meta name="referrer" content="no-referrer">');
    expect(page).toContain('<meta name="robots" content="noindex">');
    expect(page).toContain('<title>Sign in · Acme</title>');
    expect(page).toContain('<link rel="stylesheet" href="/assets/login.css">');
    expect(page).toContain('<main>');
    expect(page).toContain('Secured by');
  });

  it('shows the logo with empty alt text, or a letter mark without one', () => {
    const withLogo = renderPage({
      ...base,
      branding: { ...branding, logoUrl: 'https://cdn.example/logo.png' },
      title: 'x',
      body: html``,
    });
    expect(withLogo).toContain('<img class="brand-logo" src="https://cdn.example/logo.png" alt="">');
    const withoutLogo = renderPage({
      ...base,
      branding: { ...branding, name: 'zeta' },
      title: 'x',
      body: html``,
    });
    expect(withoutLogo).toContain('<span class="brand-mark" aria-hidden="true">Z</span>');
  });

  it('only emits a script with a nonce, and refuses one that could end its element', () => {
    expect(renderPage({ ...base, title: 'x', body: html``, script: 'go()', scriptNonce: 'n1' })).toContain(
      '<script nonce="n1">go()</script>',
    );
    expect(() => renderPage({ ...base, title: 'x', body: html``, script: 'go()' })).toThrow(TypeError);
    expect(() =>
      renderPage({ ...base, title: 'x', body: html``, script: '"</script><script>x()', scriptNonce: 'n1' }),
    ).toThrow(TypeError);
  });
});

describe('every page', () => {
  const pages = everyPage(evil);

  it.each(Object.entries(pages))('%s escapes data it displays', (_name, page) => {
    expect(page).not.toContain('<script>alert');
    expect(tagSkeletons(page).join('')).not.toMatch(/\sonmouseover=/);
    expect(tags(page, 'script').every((tag) => tag === '<script nonce="nonce-xyz">')).toBe(true);
  });

  it.each(Object.entries(pages))('%s has no inline style or event handler attributes', (_name, page) => {
    for (const tag of tagSkeletons(page)) {
      expect(tag).not.toMatch(/\sstyle=/i);
      expect(tag).not.toMatch(/\son[a-z]+=/i);
    }
  });

  it.each(Object.entries(pages))('%s labels every visible input and sets lang', (_name, page) => {
    expect(page).toContain('<html lang="en">');
    for (const input of tags(page, 'input').filter((tag) => attr(tag, 'type') !== 'hidden')) {
      const id = attr(input, 'id');
      expect(id, input).toBeDefined();
      expect(page).toContain(`<label class="label" for="${id}">`);
    }
  });

  it.each(Object.entries(pages))('%s carries a CSRF token in every form', (_name, page) => {
    const forms = page.split('<form').slice(1);
    for (const form of forms.filter((f) => !f.includes('id="form-post"'))) {
      expect(form).toMatch(/<input type="hidden" name="csrf_token" value="csrf-(123|cancel)">/);
    }
  });

  it('shows hostile data as text', () => {
    expect(pages.signIn).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39; onmouseover=alert(2) x=&quot;&#96;',
    );
    expect(pages.selectOrganization).toContain('<span class="org-name">&lt;script&gt;');
  });
});

const cancelButton =
  '<button class="button button-ghost" type="submit" form="cancel-sign-in">Cancel</button>';
const cancelForm = [
  '<form id="cancel-sign-in" method="post" action="/login/cancel?client_id=webc_1">',
  '<input type="hidden" name="interaction" value="int_abc">',
  '<input type="hidden" name="csrf_token" value="csrf-cancel">',
  '</form>',
].join('\n');

describe('renderSignInPage', () => {
  it('has the Email and Password fields, the Sign in button, Cancel and the sign-up link', () => {
    const page = signIn();
    expect(page).toContain('<h1>Sign in</h1>');
    expect(page).toContain('to continue to <strong>Notes</strong>');
    expect(page).toContain('<label class="label" for="email">Email</label>');
    expect(page).toContain('<label class="label" for="password">Password</label>');
    const [email, password] = tags(page, 'input').filter((t) => attr(t, 'type') !== 'hidden');
    expect(attr(email!, 'type')).toBe('email');
    expect(attr(email!, 'name')).toBe('email');
    expect(attr(email!, 'autocomplete')).toBe('username');
    expect(email).toMatch(/\srequired\b/);
    expect(attr(password!, 'type')).toBe('password');
    expect(attr(password!, 'autocomplete')).toBe('current-password');
    expect(page).toMatch(/<button class="button button-primary" type="submit">Sign in<\/button>/);
    expect(page).toContain(cancelButton);
    expect(page).toContain(cancelForm);
    // The cancel form is its own form, after the sign-in form: what was typed is never sent with it.
    expect(page.indexOf(cancelForm)).toBeGreaterThan(page.indexOf('</form>'));
    expect(page).toContain(
      `Don't have an account? <a class="link" href="/signup?interaction=int_abc">Create an account</a>`,
    );
  });

  it('posts the interaction and CSRF token to the action', () => {
    const page = signIn();
    expect(page).toContain('<form class="form" method="post" action="/login">');
    expect(page).toContain('<input type="hidden" name="interaction" value="int_abc">');
    expect(page).toContain('<input type="hidden" name="csrf_token" value="csrf-123">');
  });

  it('focuses the email, or the password when the email is prefilled', () => {
    const blank = tags(signIn(), 'input');
    expect(blank.find((t) => attr(t, 'id') === 'email')).toMatch(/\sautofocus\b/);
    expect(blank.find((t) => attr(t, 'id') === 'password')).not.toMatch(/\sautofocus\b/);
    const prefilled = tags(signIn({ email: 'ada@example.com' }), 'input');
    expect(attr(prefilled.find((t) => attr(t, 'id') === 'email')!, 'value')).toBe('ada@example.com');
    expect(prefilled.find((t) => attr(t, 'id') === 'email')).not.toMatch(/\sautofocus\b/);
    expect(prefilled.find((t) => attr(t, 'id') === 'password')).toMatch(/\sautofocus\b/);
  });

  it('shows an error in an alert above the form, and none without one', () => {
    const page = signIn({ error: 'Incorrect email or password.' });
    expect(page).toContain('<div class="alert" role="alert">Incorrect email or password.</div>');
    expect(page.indexOf('role="alert"')).toBeLessThan(page.indexOf('<form'));
    expect(signIn()).not.toContain('role="alert"');
  });
});

describe('renderSignUpPage', () => {
  it('has Email, Password and Name, the Create account button, the Sign in link and Cancel', () => {
    const page = signUp();
    expect(page).toContain('<h1>Create your account</h1>');
    for (const [id, label] of [
      ['email', 'Email'],
      ['password', 'Password'],
      ['name', 'Name'],
    ]) {
      expect(page).toContain(`<label class="label" for="${id}">${label}</label>`);
    }
    const inputs = tags(page, 'input');
    const password = inputs.find((t) => attr(t, 'id') === 'password')!;
    expect(attr(password, 'autocomplete')).toBe('new-password');
    expect(attr(password, 'minlength')).toBe('12');
    expect(attr(password, 'aria-describedby')).toBe('password-hint');
    expect(page).toContain('<p class="hint" id="password-hint">At least 12 characters</p>');
    expect(attr(inputs.find((t) => attr(t, 'id') === 'name')!, 'autocomplete')).toBe('name');
    expect(page).toContain('>Create account</button>');
    expect(page).toContain(
      'Already have an account? <a class="link" href="/login?interaction=int_abc">Sign in</a>',
    );
    expect(page).toContain(cancelButton);
    expect(page).toContain(cancelForm);
    expect(page).toContain('<input type="hidden" name="interaction" value="int_abc">');
    expect(page).toContain('<input type="hidden" name="csrf_token" value="csrf-123">');
  });

  it('ties each field error to its input and focuses the first invalid field', () => {
    const page = signUp({
      email: 'ada@x',
      errors: { password: 'Too short.', form: 'Please fix the errors below.' },
    });
    const password = tags(page, 'input').find((t) => attr(t, 'id') === 'password')!;
    expect(attr(password, 'aria-invalid')).toBe('true');
    expect(attr(password, 'aria-describedby')).toBe('password-hint password-error');
    expect(password).toMatch(/\sautofocus\b/);
    expect(page).toContain('<p class="field-error" id="password-error">Too short.</p>');
    expect(page).toContain('<div class="alert" role="alert">Please fix the errors below.</div>');
    const email = tags(page, 'input').find((t) => attr(t, 'id') === 'email')!;
    expect(attr(email, 'aria-invalid')).toBeUndefined();
    expect(attr(email, 'value')).toBe('ada@x');
    expect(page.match(/\sautofocus\b/g)).toHaveLength(1);
  });
});

describe('renderSelectOrganizationPage', () => {
  it('offers each organization as a submit button carrying its id', () => {
    const page = renderSelectOrganizationPage({
      ...base,
      clientName: 'Notes',
      action: '/organization',
      csrfToken: 'csrf-123',
      interactionId: 'int_abc',
      email: 'ada@example.com',
      organizations: [
        { id: 'org_1', name: 'Analytical Engines' },
        { id: 'org_2', name: 'babbage & co' },
      ],
    });
    expect(page).toContain('<h1>Choose an organization</h1>');
    expect(page).toContain('<form method="post" action="/organization">');
    expect(page).toContain('<input type="hidden" name="interaction" value="int_abc">');
    const buttons = tags(page, 'button');
    expect(buttons.map((b) => [attr(b, 'type'), attr(b, 'name'), attr(b, 'value')])).toEqual([
      ['submit', 'organization_id', 'org_1'],
      ['submit', 'organization_id', 'org_2'],
    ]);
    expect(page).toContain('<span class="avatar" aria-hidden="true">B</span>');
    expect(page).toContain('<span class="org-name">babbage &amp; co</span>');
  });
});

describe('renderLogoutConfirmPage', () => {
  const input = {
    ...base,
    clientName: 'Notes',
    email: 'ada@example.com',
    action: '/oidc/logout',
    csrfToken: 'csrf-123',
    hiddenFields: { state: 's1', post_logout_redirect_uri: 'https://app.example/bye', csrf_token: 'forged' },
  };

  it('asks before signing out, carrying the request and the CSRF token', () => {
    const page = renderLogoutConfirmPage(input);
    expect(page).toContain('<h1 class="heading-gap">Sign out of Notes?</h1>');
    expect(page).toContain('<strong>ada@example.com</strong>');
    expect(page).toContain('<input type="hidden" name="state" value="s1">');
    expect(page).toContain(
      '<input type="hidden" name="post_logout_redirect_uri" value="https://app.example/bye">',
    );
    expect(page.match(/name="csrf_token"/g)).toHaveLength(1);
    expect(page).toContain('<input type="hidden" name="csrf_token" value="csrf-123">');
    expect(page).toContain(
      '<button class="button button-primary" type="submit" name="confirm" value="yes">Sign out</button>',
    );
    expect(page).toContain(
      '<button class="button button-secondary" type="submit" name="confirm" value="no">Stay signed in</button>',
    );
  });

  it('says "Sign out?" when the app is unknown', () => {
    const page = renderLogoutConfirmPage({ ...input, clientName: null, email: null });
    expect(page).toContain('<h1 class="heading-gap">Sign out?</h1>');
    expect(page).toContain('<title>Sign out? · Acme</title>');
  });
});

describe('status pages', () => {
  it('renders the signed-out page', () => {
    const page = renderSignedOutPage(base);
    expect(page).toContain('You are signed out</h1>');
    expect(page).toContain('You can close this window.');
    expect(page).not.toContain('did not identify itself');
    expect(renderSignedOutPage({ ...base, appUnidentified: true })).toContain(
      'The app that sent you here did not identify itself, so Sesame cannot send you back to it.',
    );
  });

  it('renders the error page with its code and optional action', () => {
    const page = renderErrorPage({
      ...base,
      title: 'Unknown application',
      message: 'This application is not registered.',
      code: 'invalid_request',
      action: { href: 'https://app.example/', label: 'Back to the app' },
    });
    expect(page).toContain('Unknown application</h1>');
    expect(page).toContain('<code>invalid_request</code>');
    expect(page).toContain(
      '<a class="button button-primary" href="https://app.example/">Back to the app</a>',
    );
    const bare = renderErrorPage({ ...base, title: 'Oops', message: 'm', code: null });
    expect(bare).not.toContain('<code>');
    expect(bare).not.toContain('button-primary');
  });

  it('offers Start again only when there is somewhere to start from', () => {
    const page = renderStartAgainPage({
      ...base,
      clientName: 'Notes',
      restartHref: 'https://app.example/login',
    });
    expect(page).toContain('This sign-in link has expired</h1>');
    expect(page).toContain('<strong>Notes</strong>');
    expect(page).toContain(
      '<a class="button button-primary" href="https://app.example/login">Start again</a>',
    );
    const bare = renderStartAgainPage({ ...base, clientName: null, restartHref: null });
    expect(bare).not.toContain('Start again</a>');
    expect(bare).toContain('the app you were signing in to');
  });

  it('tells how long to wait, rounded up to a unit people use', () => {
    expect(renderTooManyAttemptsPage({ ...base, retryAfterSeconds: 290 })).toContain(
      'Please wait 5 minutes before trying again.',
    );
    expect(formatWait(0)).toBe('1 second');
    expect(formatWait(45)).toBe('45 seconds');
    expect(formatWait(60)).toBe('1 minute');
    expect(formatWait(61)).toBe('2 minutes');
    expect(formatWait(3600)).toBe('1 hour');
    expect(formatWait(75 * 60)).toBe('75 minutes');
    expect(formatWait(4 * 3600 - 1)).toBe('4 hours');
  });
});

describe('renderFormPostPage', () => {
  const page = renderFormPostPage({
    ...base,
    action: 'https://app.example/callback?x=1&y=2',
    fields: { code: 'c"><script>steal()</script>', state: "it's" },
    scriptNonce: 'nonce-xyz',
  });

  it('posts the response parameters as escaped hidden fields (OAuth 2.0 Form Post Response Mode)', () => {
    expect(page).toContain('<h1 class="heading-gap">Signing you in…</h1>');
    expect(page).toContain(
      '<form id="form-post" method="post" action="https://app.example/callback?x=1&amp;y=2">',
    );
    expect(page).toContain(
      '<input type="hidden" name="code" value="c&quot;&gt;&lt;script&gt;steal()&lt;/script&gt;">',
    );
    expect(page).toContain('<input type="hidden" name="state" value="it&#39;s">');
    expect(page).toContain(
      '<noscript><button class="button button-primary" type="submit">Continue</button></noscript>',
    );
  });

  it('submits with a nonce-carrying script that holds no response data', () => {
    const scripts = page.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? [];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toMatch(/^<script nonce="nonce-xyz">/);
    expect(scripts[0]).toContain('.submit()');
    expect(scripts[0]).not.toContain('steal');
  });
});
