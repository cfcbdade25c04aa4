import { black, contrastRatio, parseHexColor, white } from './color.ts';

/** How the hosted pages present the deployment: from configuration, the same for every page. */
export interface Branding {
  /** Shown in the card header and in every page title. */
  name: string;
  /** An `https:` or same-origin image shown above the card's heading; a letter mark when null. */
  logoUrl: string | null;
  /** `#rrggbb`: primary buttons, links, focus rings. */
  accentColor: string;
}

/**
 * Black or white, whichever contrasts more with `accent`, for text placed on it.
 * @see https://www.w3.org/TR/WCAG22/#contrast-minimum
 */
export function accentTextColor(accent: string): '#000000' | '#ffffff' {
  const rgb = parseHexColor(accent);
  return contrastRatio(rgb, black) > contrastRatio(rgb, white) ? '#000000' : '#ffffff';
}
