import type { Branding } from './branding.ts';
import { accentTextColor } from './branding.ts';
import type { Rgb } from './color.ts';
import { black, mix, parseHexColor, readableOn, toHex, white } from './color.ts';

const lightSurface: Rgb = { r: 255, g: 255, b: 255 };
const darkSurface: Rgb = { r: 0x17, g: 0x1a, b: 0x21 };

function rgba({ r, g, b }: Rgb, alpha: number): string {
  return `rgba(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)}, ${alpha})`;
}

/**
 * The one stylesheet of the hosted pages, derived from the brand accent. Served from the server's
 * origin so pages can run under `style-src 'self'` with no inline styles.
 * @see https://www.w3.org/TR/CSP3/#directive-style-src
 */
export function renderStylesheet(branding: Branding): string {
  const accent = parseHexColor(branding.accentColor);
  const onAccent = accentTextColor(branding.accentColor);
  // Hover moves away from the text colour, so hovering never lowers the button's text contrast.
  const accentHover = onAccent === '#ffffff' ? mix(accent, black, 0.14) : mix(accent, white, 0.2);
  const lightSoft = mix(accent, lightSurface, 0.88);
  const darkSoft = mix(accent, darkSurface, 0.78);
  // Links, focus rings and tinted text need AA contrast even when the accent itself is pale.
  const lightInk = readableOn(accent, lightSurface, 4.6);
  const lightSoftInk = readableOn(accent, lightSoft, 4.6);
  const darkInk = readableOn(accent, darkSurface, 4.6);
  const darkSoftInk = readableOn(accent, darkSoft, 4.6);

  return `/* Sesame hosted pages: generated from the brand accent ${toHex(accent)}. */
:root {
  color-scheme: light dark;
  --accent: ${toHex(accent)};
  --accent-hover: ${toHex(accentHover)};
  --accent-text: ${onAccent};
  --accent-ink: ${toHex(lightInk)};
  --accent-soft: ${toHex(lightSoft)};
  --accent-soft-ink: ${toHex(lightSoftInk)};
  --accent-glow: ${rgba(accent, 0.1)};
  --focus: ${toHex(lightInk)};
  --bg: #f5f6f8;
  --surface: #ffffff;
  --surface-hover: #f7f8fa;
  --text: #101828;
  --muted: #475467;
  --subtle: #5d6679;
  --border: #e4e7ec;
  --border-strong: #cfd4dc;
  --field-border: #8a93a3;
  --field-bg: #ffffff;
  --danger: #b42318;
  --danger-strong: #d92d20;
  --danger-bg: #fef3f2;
  --danger-border: #fecdca;
  --code-bg: #f2f4f7;
  --shadow: 0 1px 2px rgba(16, 24, 40, 0.05), 0 12px 32px -12px rgba(16, 24, 40, 0.16);
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}

@media (prefers-color-scheme: dark) {
  :root {
    --accent-ink: ${toHex(darkInk)};
    --accent-soft: ${toHex(darkSoft)};
    --accent-soft-ink: ${toHex(darkSoftInk)};
    --accent-glow: ${rgba(accent, 0.14)};
    --focus: ${toHex(darkInk)};
    --bg: #0d0f13;
    --surface: ${toHex(darkSurface)};
    --surface-hover: #1e222a;
    --text: #f2f4f7;
    --muted: #b4bccb;
    --subtle: #9ca5b5;
    --border: #272c36;
    --border-strong: #3a414d;
    --field-border: #6f7888;
    --field-bg: #0f1217;
    --danger: #fda29b;
    --danger-strong: #f97066;
    --danger-bg: #2b1514;
    --danger-border: #5f2520;
    --code-bg: #222630;
    --shadow: 0 1px 2px rgba(0, 0, 0, 0.3), 0 16px 40px -12px rgba(0, 0, 0, 0.5);
  }
}

*,
*::before,
*::after {
  box-sizing: border-box;
}

html {
  -webkit-text-size-adjust: 100%;
  text-size-adjust: 100%;
}

body {
  margin: 0;
  min-height: 100vh;
  font-family: var(--font);
  font-size: 15px;
  line-height: 1.5;
  color: var(--text);
  background-color: var(--bg);
  background-image: radial-gradient(ellipse 90% 55% at 50% -12%, var(--accent-glow), transparent 72%);
  background-repeat: no-repeat;
  -webkit-font-smoothing: antialiased;
}

/* Page frame: the card centred on the page, the footer under it. */
.shell {
  display: flex;
  flex-direction: column;
  align-items: center;
  justify-content: center;
  gap: 24px;
  min-height: 100vh;
  padding: 48px 16px 32px;
}

.card {
  width: 100%;
  max-width: 408px;
  padding: 40px 40px 36px;
  background: var(--surface);
  border: 1px solid var(--border);
  border-radius: 16px;
  box-shadow: var(--shadow);
}

.brand {
  display: flex;
  flex-direction: column;
  align-items: center;
  gap: 10px;
  margin-bottom: 28px;
}

.brand-logo {
  display: block;
  max-width: 180px;
  max-height: 48px;
  object-fit: contain;
}

.brand-mark {
  display: grid;
  place-items: center;
  width: 48px;
  height: 48px;
  border-radius: 12px;
  background: var(--accent);
  color: var(--accent-text);
  font-size: 22px;
  font-weight: 700;
  line-height: 1;
}

.brand-name {
  margin: 0;
  font-size: 14px;
  font-weight: 600;
  color: var(--muted);
  text-align: center;
  overflow-wrap: anywhere;
}

/* Headings and text. */
h1 {
  margin: 0 0 6px;
  font-size: 24px;
  font-weight: 700;
  line-height: 1.25;
  letter-spacing: -0.015em;
  text-align: center;
  overflow-wrap: anywhere;
}

.subtitle {
  margin: 0 0 28px;
  color: var(--muted);
  text-align: center;
  overflow-wrap: anywhere;
}

.subtitle strong,
.text strong {
  color: var(--text);
  font-weight: 600;
}

.text {
  margin: 0 0 24px;
  color: var(--muted);
  text-align: center;
  overflow-wrap: anywhere;
}

main > :last-child {
  margin-bottom: 0;
}

.heading-gap {
  margin-bottom: 12px;
}

.status-icon {
  display: grid;
  place-items: center;
  width: 52px;
  height: 52px;
  margin: 0 auto 18px;
  border-radius: 50%;
  background: var(--accent-soft);
  color: var(--accent-soft-ink);
}

.status-icon-danger {
  background: var(--danger-bg);
  color: var(--danger);
}

.status-icon svg {
  width: 26px;
  height: 26px;
}

.error-code {
  margin: -8px 0 24px;
  text-align: center;
  font-size: 13px;
  color: var(--subtle);
}

.error-code code {
  padding: 2px 8px;
  border-radius: 6px;
  background: var(--code-bg);
  color: var(--muted);
  font-family: var(--mono);
  font-size: 12.5px;
}

/* Alerts and field errors: colour plus words, never colour alone. */
.alert {
  margin: 0 0 20px;
  padding: 12px 14px;
  border: 1px solid var(--danger-border);
  border-left-width: 4px;
  border-left-color: var(--danger-strong);
  border-radius: 10px;
  background: var(--danger-bg);
  color: var(--danger);
  font-size: 14px;
  font-weight: 500;
  overflow-wrap: anywhere;
}

/* Forms. */
.form {
  display: flex;
  flex-direction: column;
  gap: 18px;
  margin: 0;
}

.field {
  display: flex;
  flex-direction: column;
  gap: 6px;
}

.label {
  font-size: 14px;
  font-weight: 600;
}

.input {
  width: 100%;
  min-height: 44px;
  padding: 10px 12px;
  border: 1px solid var(--field-border);
  border-radius: 10px;
  background: var(--field-bg);
  color: var(--text);
  font: inherit;
  transition: border-color 0.15s ease, box-shadow 0.15s ease;
}

.input:hover {
  border-color: var(--muted);
}

.input:focus-visible {
  outline: 2px solid var(--focus);
  outline-offset: 1px;
  border-color: var(--focus);
  box-shadow: 0 0 0 4px var(--accent-glow);
}

.input[aria-invalid="true"] {
  border-color: var(--danger-strong);
}

.hint,
.field-error {
  margin: 0;
  font-size: 13px;
  line-height: 1.4;
}

.hint {
  color: var(--subtle);
}

.field-error {
  color: var(--danger);
  font-weight: 500;
}

/* Buttons: the primary action in the accent, everything else quieter. */
.actions {
  display: flex;
  flex-direction: column;
  gap: 10px;
  margin-top: 6px;
}

.button {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  gap: 8px;
  width: 100%;
  min-height: 44px;
  padding: 10px 16px;
  border: 1px solid transparent;
  border-radius: 10px;
  font: inherit;
  font-weight: 600;
  line-height: 1.25;
  text-align: center;
  text-decoration: none;
  cursor: pointer;
  transition: background-color 0.15s ease, border-color 0.15s ease, color 0.15s ease;
}

.button-primary {
  background: var(--accent);
  color: var(--accent-text);
  box-shadow: 0 1px 2px rgba(16, 24, 40, 0.08);
}

.button-primary:hover {
  background: var(--accent-hover);
}

.button-secondary {
  background: var(--surface);
  border-color: var(--border-strong);
  color: var(--text);
}

.button-secondary:hover {
  background: var(--surface-hover);
  border-color: var(--field-border);
}

.button-ghost {
  background: transparent;
  color: var(--muted);
}

.button-ghost:hover {
  background: var(--surface-hover);
  color: var(--text);
}

.link {
  color: var(--accent-ink);
  font-weight: 600;
  text-decoration: underline;
  text-decoration-thickness: 1px;
  text-underline-offset: 3px;
}

.link:hover {
  text-decoration-thickness: 2px;
}

:focus-visible {
  outline: 2px solid var(--focus);
  outline-offset: 2px;
}

.divider {
  height: 0;
  margin: 28px 0 20px;
  border: 0;
  border-top: 1px solid var(--border);
}

.switch {
  margin: 0;
  font-size: 14px;
  color: var(--muted);
  text-align: center;
}

/* Organization picker: one full-width button per organization. */
.org-list {
  display: flex;
  flex-direction: column;
  gap: 10px;
  margin: 0;
  padding: 0;
  list-style: none;
}

.org-button {
  display: flex;
  align-items: center;
  gap: 12px;
  width: 100%;
  padding: 12px 14px;
  border: 1px solid var(--border-strong);
  border-radius: 12px;
  background: var(--surface);
  color: var(--text);
  font: inherit;
  text-align: left;
  cursor: pointer;
  transition: background-color 0.15s ease, border-color 0.15s ease;
}

.org-button:hover {
  border-color: var(--accent-ink);
  background: var(--surface-hover);
}

.avatar {
  display: grid;
  flex: none;
  place-items: center;
  width: 36px;
  height: 36px;
  border-radius: 9px;
  background: var(--accent-soft);
  color: var(--accent-soft-ink);
  font-weight: 700;
}

.org-name {
  flex: 1;
  min-width: 0;
  font-weight: 600;
  overflow-wrap: anywhere;
}

.chevron {
  flex: none;
  color: var(--subtle);
  font-size: 20px;
  line-height: 1;
}

.empty {
  margin: 0;
  padding: 16px;
  border: 1px dashed var(--border-strong);
  border-radius: 12px;
  color: var(--muted);
  text-align: center;
}

/* Footer under the card. */
.footer {
  display: flex;
  align-items: center;
  gap: 6px;
  font-size: 13px;
  color: var(--subtle);
}

.footer svg {
  width: 14px;
  height: 14px;
}

.footer strong {
  font-weight: 600;
  color: var(--muted);
}

.visually-hidden {
  position: absolute;
  width: 1px;
  height: 1px;
  margin: -1px;
  padding: 0;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
  border: 0;
}

@media (max-width: 480px) {
  .shell {
    justify-content: flex-start;
    gap: 20px;
    padding: 24px 12px;
  }

  .card {
    padding: 32px 20px 28px;
    border-radius: 14px;
  }

  h1 {
    font-size: 22px;
  }
}

@media (prefers-reduced-motion: reduce) {
  * {
    transition: none !important;
  }
}

@media (forced-colors: active) {
  .button,
  .org-button,
  .input {
    border: 1px solid ButtonText;
  }
}
`;
}
