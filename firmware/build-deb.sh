#!/usr/bin/env bash
# Builds deepseek-edge_<version>_<arch>.deb from a published folder (cross-compile/build.sh).
#   firmware/build-deb.sh <linux-arm64|linux-x64> [published folder] [output folder]
# Layout: /usr/lib/deepseek-edge (binary, native libraries, appsettings.json),
# /usr/share/deepseek-edge/models/default, /usr/share/deepseek-edge/variants/{jetson,raspberrypi},
# /lib/systemd/system/deepseek-edge.service, /etc/deepseek-edge/appsettings.json (conffile).
set -euo pipefail
cd "$(dirname "$0")/.."
rid=${1:?usage: firmware/build-deb.sh <linux-arm64|linux-x64> [published folder] [output folder]}
published=${2:-artifacts/$rid}
out=${3:-artifacts}
case "$rid" in
  linux-arm64) arch=arm64 ;;
  linux-x64) arch=amd64 ;;
  *) echo "unknown RID $rid" >&2; exit 2 ;;
esac
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
[ -x "$published/deepseek-edge" ] || { echo "no binary in $published: run cross-compile/build.sh $rid first" >&2; exit 2; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/deepseek-edge"
install -d "$pkg/DEBIAN" "$pkg/usr/lib/deepseek-edge" "$pkg/usr/share/deepseek-edge/models" "$pkg/lib/systemd/system" \
  "$pkg/etc/deepseek-edge" "$pkg/usr/share/doc/deepseek-edge"
install -m 0755 "$published/deepseek-edge" "$pkg/usr/lib/deepseek-edge/"
for lib in "$published"/*.so; do install -m 0644 "$lib" "$pkg/usr/lib/deepseek-edge/"; done
# The NuGet SQLite build carries symbols; the device does not need them.
strip_tool=strip
[ "$arch" = arm64 ] && strip_tool=aarch64-linux-gnu-strip
"$strip_tool" --strip-unneeded "$pkg/usr/lib/deepseek-edge/libe_sqlite3.so"
install -m 0644 "$published/appsettings.json" "$pkg/usr/lib/deepseek-edge/"
cp -r "$published/models/default" "$pkg/usr/share/deepseek-edge/models/default"
find "$pkg/usr/share/deepseek-edge" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
for variant in jetson raspberrypi; do
  install -d "$pkg/usr/share/deepseek-edge/variants/$variant"
  install -m 0644 firmware/config/$variant/* "$pkg/usr/share/deepseek-edge/variants/$variant/"
done
install -m 0644 firmware/deepseek-edge.service "$pkg/lib/systemd/system/"
install -m 0644 firmware/config/appsettings.json "$pkg/etc/deepseek-edge/"
install -m 0644 firmware/debian/copyright "$pkg/usr/share/doc/deepseek-edge/"
sed "s/@VERSION@/$version/" firmware/debian/changelog | gzip -9n > "$pkg/usr/share/doc/deepseek-edge/changelog.gz"
chmod 0644 "$pkg/usr/share/doc/deepseek-edge/changelog.gz"
install -d "$pkg/usr/share/lintian/overrides"
install -m 0644 firmware/debian/lintian-overrides "$pkg/usr/share/lintian/overrides/deepseek-edge"
install -m 0644 firmware/debian/conffiles "$pkg/DEBIAN/"
install -m 0755 firmware/debian/postinst firmware/debian/prerm firmware/debian/postrm "$pkg/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" firmware/debian/control > "$pkg/DEBIAN/control"

mkdir -p "$out"
deb="$out/deepseek-edge_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
