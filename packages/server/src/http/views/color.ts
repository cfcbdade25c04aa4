/**
 * sRGB colour arithmetic for the brand accent: parsing, WCAG 2.x contrast, and shades that keep
 * text readable.
 * @see https://www.w3.org/TR/WCAG22/#dfn-relative-luminance
 * @see https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio
 */

/** A colour as 0–255 red, green and blue channels. */
export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** Parses `#rrggbb` (or `#rgb`); anything else is a configuration mistake, so it throws. */
export function parseHexColor(hex: string): Rgb {
  const long = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (long) return { r: parseInt(long[1]!, 16), g: parseInt(long[2]!, 16), b: parseInt(long[3]!, 16) };
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(hex);
  if (short) {
    return {
      r: parseInt(short[1]!.repeat(2), 16),
      g: parseInt(short[2]!.repeat(2), 16),
      b: parseInt(short[3]!.repeat(2), 16),
    };
  }
  throw new TypeError(`accentColor must be a #rrggbb colour, got ${JSON.stringify(hex)}`);
}

/** Formats a colour as lowercase `#rrggbb`. */
export function toHex({ r, g, b }: Rgb): string {
  return `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
}

/** WCAG relative luminance, 0 (black) to 1 (white). */
export function relativeLuminance({ r, g, b }: Rgb): number {
  const linear = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** WCAG contrast ratio between two colours, 1 to 21. */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Mixes `amount` (0–1) of `other` into `color`. */
export function mix(color: Rgb, other: Rgb, amount: number): Rgb {
  return {
    r: color.r + (other.r - color.r) * amount,
    g: color.g + (other.g - color.g) * amount,
    b: color.b + (other.b - color.b) * amount,
  };
}

export const black: Rgb = { r: 0, g: 0, b: 0 };
export const white: Rgb = { r: 255, g: 255, b: 255 };

/**
 * The shade of `color` nearest to it that reaches `minRatio` against `background`, moving toward
 * black on light backgrounds and toward white on dark ones; so a pale accent still yields links
 * and focus rings people can see.
 */
export function readableOn(color: Rgb, background: Rgb, minRatio: number): Rgb {
  const target = relativeLuminance(background) > 0.18 ? black : white;
  for (let step = 0; step <= 20; step++) {
    const candidate = mix(color, target, step / 20);
    const rounded = { r: Math.round(candidate.r), g: Math.round(candidate.g), b: Math.round(candidate.b) };
    if (contrastRatio(rounded, background) >= minRatio) return rounded;
  }
  return target;
}
