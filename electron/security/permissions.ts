// Permission requests (camera, microphone, geolocation, notifications, HID,
// serial, USB, display capture…) are all refused. The single exception is
// writing to the clipboard, from the app's own page, so "Copy" buttons work.

import type { Session } from 'electron';
import type { SenderCheck } from './trustedSender.js';

const ALLOWED = new Set(['clipboard-sanitized-write']);

export function isPermissionAllowed(permission: string, requestingUrl: string | undefined, isTrusted: SenderCheck): boolean {
  return ALLOWED.has(permission) && isTrusted(requestingUrl);
}

export function denyPermissions(session: Session, isTrusted: SenderCheck): void {
  session.setPermissionRequestHandler((contents, permission, callback, details) => {
    callback(isPermissionAllowed(permission, details.requestingUrl ?? contents.getURL(), isTrusted));
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => isPermissionAllowed(permission, requestingOrigin, isTrusted));
  session.setDevicePermissionHandler(() => false);
  // null refuses the capture (Electron 45 documents it); {} would make Electron throw in main
  // ("Video was requested, but no video stream was provided") before it refused.
  session.setDisplayMediaRequestHandler((_request, callback) => callback(null));
}
