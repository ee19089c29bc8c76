// The Content-Security-Policy: scripts, styles, images and fonts from the app
// itself only, no inline script or style, nothing remote, no network at all
// (the renderer talks to main over IPC, never over fetch).

const DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'none'"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['img-src', "'self'"],
  ['font-src', "'self'"],
  ['connect-src', "'none'"],
  ['media-src', "'none'"],
  ['object-src', "'none'"],
  ['frame-src', "'none'"],
  ['worker-src', "'none'"],
  ['manifest-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
];

/** For the <meta> tag in index.html (which cannot carry frame-ancestors). */
export const CSP_META = DIRECTIVES.map(([name, value]) => `${name} ${value}`).join('; ');

/** For the Content-Security-Policy header main sets on every app:// response. */
export const CSP_HEADER = `${CSP_META}; frame-ancestors 'none'`;

/** Headers that go with every page and asset the app serves. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CSP_HEADER,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};
