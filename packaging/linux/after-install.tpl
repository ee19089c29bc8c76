#!/bin/bash
# KeyLadder's deb post-install (electron-builder.yml, deb.afterInstall):
# electron-builder 26.17's own template with one change, two commands on PATH:
#   /usr/bin/keyladder      -> the CLI launcher (resources/bin/keyladder);
#   /usr/bin/keyladder-app  -> the GUI, which the desktop entry runs by its full path.
# electron-builder fills in the executable's and the product's names below, and
# refuses any other dollar-brace word: the script's own variables are $NAME.

APP_DIR='/opt/${sanitizedProductName}'
GUI_NAME='${executable}'
CLI_NAME='keyladder'
CLI="$APP_DIR/resources/bin/keyladder"

# /usr/bin/$1 -> $2, through update-alternatives where there is one.
link_command() {
    if type update-alternatives >/dev/null 2>&1; then
        # Remove a previous link that does not go through update-alternatives.
        if [ -L "/usr/bin/$1" ] && [ -e "/usr/bin/$1" ] && [ "$(readlink "/usr/bin/$1")" != "/etc/alternatives/$1" ]; then
            rm -f "/usr/bin/$1"
        fi
        update-alternatives --install "/usr/bin/$1" "$1" "$2" 100 || ln -sf "$2" "/usr/bin/$1"
    else
        ln -sf "$2" "/usr/bin/$1"
    fi
}

# Up to 0.1.0 the GUI itself was /opt/KeyLadder/keyladder and /usr/bin/keyladder led to it.
if type update-alternatives >/dev/null 2>&1; then
    update-alternatives --remove "$CLI_NAME" "$APP_DIR/keyladder" >/dev/null 2>&1 || true
fi
link_command "$GUI_NAME" "$APP_DIR/$GUI_NAME"
link_command "$CLI_NAME" "$CLI"

# Check if user namespaces are supported by the kernel and working with a quick test:
if ! { [[ -L /proc/self/ns/user ]] && unshare --user true; }; then
    # Use SUID chrome-sandbox only on systems without user namespaces:
    chmod 4755 "$APP_DIR/chrome-sandbox" || true
else
    chmod 0755 "$APP_DIR/chrome-sandbox" || true
fi

if hash update-mime-database 2>/dev/null; then
    update-mime-database /usr/share/mime || true
fi

if hash update-desktop-database 2>/dev/null; then
    update-desktop-database /usr/share/applications || true
fi

# AppArmor profile (Ubuntu 24+), as electron-builder's template installs it: only
# where this AppArmor understands the profile (abi/4.0), never live in a chroot.
if apparmor_status --enabled > /dev/null 2>&1; then
  APPARMOR_PROFILE_SOURCE="$APP_DIR/resources/apparmor-profile"
  APPARMOR_PROFILE_TARGET="/etc/apparmor.d/$GUI_NAME"
  if apparmor_parser --skip-kernel-load --debug "$APPARMOR_PROFILE_SOURCE" > /dev/null 2>&1; then
    cp -f "$APPARMOR_PROFILE_SOURCE" "$APPARMOR_PROFILE_TARGET"
    if ! { [ -x '/usr/bin/ischroot' ] && /usr/bin/ischroot; } && hash apparmor_parser 2>/dev/null; then
      apparmor_parser --replace --write-cache --skip-read-cache "$APPARMOR_PROFILE_TARGET"
    fi
  else
    echo "Skipping the installation of the AppArmor profile as this version of AppArmor does not seem to support the bundled profile"
  fi
fi
