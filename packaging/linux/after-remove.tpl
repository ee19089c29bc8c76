#!/bin/bash
# KeyLadder's deb post-remove (electron-builder.yml, deb.afterRemove):
# electron-builder 26.17's own template, for both commands after-install.tpl
# put on PATH (the CLI launcher as keyladder, the GUI as keyladder-app).

APP_DIR='/opt/${sanitizedProductName}'
GUI_NAME='${executable}'

# update-alternatives --remove NAME PATH: PATH is the registered target, not the /usr/bin link.
unlink_command() {
    if type update-alternatives >/dev/null 2>&1; then
        update-alternatives --remove "$1" "$2"
    else
        rm -f "/usr/bin/$1"
    fi
}
unlink_command "$GUI_NAME" "$APP_DIR/$GUI_NAME"
unlink_command keyladder "$APP_DIR/resources/bin/keyladder"

APPARMOR_PROFILE_DEST="/etc/apparmor.d/$GUI_NAME"

# Remove and unload the AppArmor profile (not live in a chroot).
if [ -f "$APPARMOR_PROFILE_DEST" ]; then
  if apparmor_status --enabled > /dev/null 2>&1; then
    if ! { [ -x '/usr/bin/ischroot' ] && /usr/bin/ischroot; } && hash apparmor_parser 2>/dev/null; then
      apparmor_parser --remove "$APPARMOR_PROFILE_DEST" || true
    fi
  fi
  rm -f "$APPARMOR_PROFILE_DEST"
fi
